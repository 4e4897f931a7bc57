"""The ``istios.operator.kyma-project.io`` CustomResourceDefinition, generated from the pydantic model.

The CRD is what the API server validates at admission; the model is what the operator and the CLI
validate with. Generating the one from the other keeps them from drifting: ``make crd`` writes
``deploy/crds/``, and a unit test fails when the committed file is stale. The shape matches Kyma Istio
1.10 (spec section 2): one version ``v1alpha2``, namespaced, status subresource, no defaults.
"""

from __future__ import annotations

from typing import Any, Final

import yaml

from kyma_istio.api import names
from kyma_istio.api.openapi import structural_schema
from kyma_istio.api.v1alpha2 import IstioSpec, IstioStatus

HEADER: Final = (
    "# Generated from src/kyma_istio/api/v1alpha2.py by `kyma-istio crd`; do not edit, run `make crd`.\n"
)

ROOT_DESCRIPTION: Final = (
    "Istio is the Kyma Istio module's custom resource: how the Istio service mesh is to be installed, "
    "and how the installation is doing."
)
API_VERSION_DESCRIPTION: Final = (
    "The versioned schema of this object, as `group/version`; the API server converts other versions to it."
)
KIND_DESCRIPTION: Final = "The REST resource this object represents, in CamelCase; always `Istio`."


def build_crd() -> dict[str, Any]:
    """The CRD as a plain mapping, ready to be applied or dumped."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": names.CRD_NAME, "labels": dict(names.OPERATOR_LABELS)},
        "spec": {
            "group": names.GROUP,
            "names": {
                "kind": names.KIND,
                "listKind": names.LIST_KIND,
                "plural": names.PLURAL,
                "singular": names.SINGULAR,
                "categories": list(names.CATEGORIES),
            },
            "scope": "Namespaced",
            "versions": [
                {
                    "name": names.VERSION,
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": build_openapi_schema()},
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": [
                        {"name": "State", "type": "string", "jsonPath": ".status.state"},
                        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
                    ],
                }
            ],
        },
    }


def build_openapi_schema() -> dict[str, Any]:
    """The ``openAPIV3Schema`` of the one served version: type meta, metadata, spec and status."""
    return {
        "description": ROOT_DESCRIPTION,
        "type": "object",
        "properties": {
            "apiVersion": {"description": API_VERSION_DESCRIPTION, "type": "string"},
            "kind": {"description": KIND_DESCRIPTION, "type": "string"},
            # The API server owns metadata's schema; a CRD may only restrict name and generateName.
            "metadata": {"type": "object"},
            "spec": structural_schema(IstioSpec),
            "status": structural_schema(IstioStatus),
        },
    }


def render_crd_yaml() -> str:
    """The CRD as YAML, byte for byte what ``deploy/crds/`` holds: sorted keys, no wrapping."""
    body = yaml.safe_dump(build_crd(), sort_keys=True, default_flow_style=False, width=1_000_000)
    return HEADER + body
