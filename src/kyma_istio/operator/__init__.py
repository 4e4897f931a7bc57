"""The running operator: the only package that uses kopf. It watches Istio CRs, feeds a coalescing work
queue, runs reconcile passes one at a time, and serves probes and metrics."""
