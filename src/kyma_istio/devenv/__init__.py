"""A real local control plane for tests, benchmarks and ``kyma-istio dev-cluster``.

etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok run as plain processes on
loopback, inside a private network namespace, from binaries that ``testenv/build`` makes from pinned Go
modules. Nothing in the operator core imports this package: it is tooling around the operator.
"""
