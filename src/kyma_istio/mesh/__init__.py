"""Pure decisions about Istio's configuration: default profiles, the CR-to-IstioOperator merge, versions.

Nothing here does I/O beyond reading the packaged profile files; the cluster facts it needs arrive as
plain values.
"""
