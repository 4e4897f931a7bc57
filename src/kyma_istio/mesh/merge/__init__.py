"""Merging an ``Istio`` CR into Kyma's default IstioOperator (spec 5.1-5.6, 10.2).

One module per field group of the CR (``mesh_config``, ``components``, ``cni``, ``proxy``,
``compatibility``, ``experimental``), all built on the one generic merge in ``deep``; ``pipeline`` runs
them in the reference's order. Every function returns a new document and leaves its inputs untouched.
"""

from kyma_istio.mesh.merge.deep import deep_merge
from kyma_istio.mesh.merge.pipeline import merge
from kyma_istio.mesh.merge.proxy import (
    ProxyResourcesMissingError,
    expected_proxy_image,
    expected_proxy_resources,
)
from kyma_istio.mesh.merge.template import load_template

__all__ = [
    "ProxyResourcesMissingError",
    "deep_merge",
    "expected_proxy_image",
    "expected_proxy_resources",
    "load_template",
    "merge",
]
