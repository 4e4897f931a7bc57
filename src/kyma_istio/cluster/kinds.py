"""A ``k8s.kinds.Kind`` resolved to lightkube's resource class, the only place that knows both.

lightkube's generic resources give one dict-based code path for built-in kinds and CRDs alike; the
classes are created lazily and cached, once per kind. Nothing is registered by importing a module.
"""

from __future__ import annotations

import functools
from typing import Any

from lightkube.core.resource_registry import resource_registry
from lightkube.generic_resource import create_global_resource, create_namespaced_resource

from kyma_istio.k8s.kinds import Kind


@functools.cache
def resource(kind: Kind) -> Any:
    """The lightkube resource class for ``kind``."""
    # A kind lightkube already knows (a built-in model, or a generic one made elsewhere) is reused:
    # registering it again with another signature is an error.
    known = resource_registry.get(kind.api_version, kind.kind)
    if known is not None:
        return known
    create = create_namespaced_resource if kind.namespaced else create_global_resource
    return create(kind.group, kind.version, kind.kind, kind.plural)
