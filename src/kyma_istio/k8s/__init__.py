"""Kubernetes as pure data: the kinds the operator touches, typed API errors, quantities, and the
``KubeApi`` protocol that is the seam between the decisions and the API server.

Nothing here does I/O or imports lightkube: ``cluster`` implements ``KubeApi`` over lightkube and
resolves a ``Kind`` to a lightkube resource; everything above talks to the protocol.
"""
