"""The few facts about a Pod that the restart decision needs, read from the raw API object.

Pods are listed cluster-wide, so the executor streams them page by page. Reducing each raw dict to a
small frozen :class:`PodView` as it arrives (and dropping the dict) keeps memory flat in the number of
pods; nothing downstream ever sees the raw object. Reading is forgiving: a missing field reads as
"absent", never as an error, because one odd pod must not stop the restart of all others.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from kyma_istio.api import names

PROXY_CPU_ANNOTATION: Final = "sidecar.istio.io/proxyCPU"
PROXY_CPU_LIMIT_ANNOTATION: Final = "sidecar.istio.io/proxyCPULimit"
PROXY_MEMORY_ANNOTATION: Final = "sidecar.istio.io/proxyMemory"
PROXY_MEMORY_LIMIT_ANNOTATION: Final = "sidecar.istio.io/proxyMemoryLimit"
RESTART_OPT_OUT_VALUE: Final = "disabled"
PROMETHEUS_PATH_ANNOTATION: Final = "prometheus.io/path"
PROMETHEUS_PORT_ANNOTATION: Final = "prometheus.io/port"
PROMETHEUS_SCRAPE_ANNOTATION: Final = "prometheus.io/scrape"
MERGE_METRICS_ANNOTATION: Final = "prometheus.istio.io/merge-metrics"
"""Istio's per-pod switch for Prometheus merge; it wins over the mesh-wide ``enablePrometheusMerge``."""


@dataclass(frozen=True, slots=True)
class OwnerRef:
    """One ownerReference: enough to find, patch or report the owning object."""

    kind: str
    name: str
    api_version: str
    uid: str = ""

    @property
    def group(self) -> str:
        """The API group (``apps``, ``batch``; empty for the core group), which tells kinds apart."""
        group, _, _ = self.api_version.rpartition("/")
        return group


@dataclass(frozen=True, slots=True)
class ProxyView:
    """One ``istio-proxy`` container: its image and its four resource values as written."""

    image: str
    cpu_request: str | None = None
    memory_request: str | None = None
    cpu_limit: str | None = None
    memory_limit: str | None = None
    native: bool = False
    """An init container with ``restartPolicy: Always`` (Kubernetes native sidecar)."""


@dataclass(frozen=True, slots=True)
class ProxyOverrides:
    """Per-pod proxy resources set by ``sidecar.istio.io/proxy*`` annotations; the injector honours
    them over the mesh-wide values, so the restarter has to expect them too (quirk 4)."""

    cpu_request: str | None = None
    memory_request: str | None = None
    cpu_limit: str | None = None
    memory_limit: str | None = None


@dataclass(frozen=True, slots=True)
class ScrapeAnnotations:
    """The pod's ``prometheus.io/*`` annotations and its ``prometheus.istio.io/merge-metrics`` switch, as
    written on the pod (the injector rewrites the first three when it merges metrics)."""

    path: str | None = None
    port: str | None = None
    scrape: str | None = None
    merge_metrics: str | None = None


@dataclass(frozen=True, slots=True)
class PodView:
    """The minimum of a Pod for deciding whether and how to restart its sidecar."""

    namespace: str
    name: str
    phase: str = "Running"
    terminating: bool = False
    all_conditions_true: bool = True
    has_sidecar_status: bool = True
    has_custom_proxy_image: bool = False
    proxies: tuple[ProxyView, ...] = ()
    container_count: int = 1
    """Number of regular containers (init containers excluded)."""
    owner: OwnerRef | None = None
    overrides: ProxyOverrides = ProxyOverrides()
    opted_out: bool = False
    """The pod itself carries ``istio-operator.kyma-project.io/restart: disabled``."""
    restart_target: str | None = None
    """The restart target this pod was created for (copied from its owner's template), if any."""
    module: bool = False
    """A Kyma module's pod: in ``kyma-system`` or labelled ``kyma-project.io/module`` (any non-empty
    value). Their owners are restarted before customer workloads, and a failure among them is an error."""
    scrape: ScrapeAnnotations = ScrapeAnnotations()
    """What the Prometheus-merge rule compares with the mesh's setting."""
    injection_opt_out: bool = False
    """The pod says ``sidecar.istio.io/inject: "false"`` (label or annotation) or runs on the host's
    network: Istio's injector leaves it without a sidecar whatever its namespace says."""
    injection_opt_in: bool = False
    """The pod asks for a sidecar itself (``sidecar.istio.io/inject: "true"`` label, or an
    ``istio.io/rev`` label), whatever its namespace says."""
    template_hash: str | None = None
    """The ``pod-template-hash`` label: a Deployment's ReplicaSet is named ``<deployment>-<hash>``."""


INJECT_LABEL = "sidecar.istio.io/inject"
"""Istio's per-pod injection switch (label, or the older annotation)."""


def reduce_pod(pod: Mapping[str, Any]) -> PodView:
    """Reduce a raw Pod (camelCase API dict) to a :class:`PodView`."""
    metadata = _mapping(pod.get("metadata"))
    spec = _mapping(pod.get("spec"))
    status = _mapping(pod.get("status"))
    annotations = _mapping(metadata.get("annotations"))
    labels = _mapping(metadata.get("labels"))
    namespace = str(metadata.get("namespace", ""))
    containers = _items(spec.get("containers"))
    classic = tuple(_proxy(c, native=False) for c in containers if c.get("name") == names.PROXY_CONTAINER)
    native = tuple(
        _proxy(c, native=True)
        for c in _items(spec.get("initContainers"))
        if c.get("name") == names.PROXY_CONTAINER and c.get("restartPolicy") == "Always"
    )
    return PodView(
        namespace=namespace,
        name=str(metadata.get("name", "")),
        phase=str(status.get("phase", "")),
        terminating=metadata.get("deletionTimestamp") is not None,
        # Vacuously true without conditions, as in the reference: only an explicit non-True blocks.
        all_conditions_true=all(c.get("status") == "True" for c in _items(status.get("conditions"))),
        has_sidecar_status=names.SIDECAR_STATUS_ANNOTATION in annotations,
        has_custom_proxy_image=names.PROXY_IMAGE_ANNOTATION in annotations,
        proxies=classic + native,
        container_count=len(containers),
        owner=owner_of(_items(metadata.get("ownerReferences"))),
        overrides=ProxyOverrides(
            cpu_request=_text(annotations.get(PROXY_CPU_ANNOTATION)),
            memory_request=_text(annotations.get(PROXY_MEMORY_ANNOTATION)),
            cpu_limit=_text(annotations.get(PROXY_CPU_LIMIT_ANNOTATION)),
            memory_limit=_text(annotations.get(PROXY_MEMORY_LIMIT_ANNOTATION)),
        ),
        opted_out=annotations.get(names.RESTART_OPT_OUT_ANNOTATION) == RESTART_OPT_OUT_VALUE,
        restart_target=_text(annotations.get(names.RESTART_TARGET_ANNOTATION)),
        module=namespace == names.OPERATOR_NAMESPACE or bool(labels.get(names.MODULE_LABEL)),
        injection_opt_out=bool(spec.get("hostNetwork"))
        or "false"
        in (
            str(labels.get(INJECT_LABEL, "")).lower(),
            str(annotations.get(INJECT_LABEL, "")).lower(),
        ),
        injection_opt_in=str(labels.get(INJECT_LABEL, "")).lower() == "true" or "istio.io/rev" in labels,
        template_hash=_text(labels.get("pod-template-hash")),
        scrape=ScrapeAnnotations(
            path=_text(annotations.get(PROMETHEUS_PATH_ANNOTATION)),
            port=_text(annotations.get(PROMETHEUS_PORT_ANNOTATION)),
            scrape=_text(annotations.get(PROMETHEUS_SCRAPE_ANNOTATION)),
            merge_metrics=_text(annotations.get(MERGE_METRICS_ANNOTATION)),
        ),
    )


def owner_of(references: Sequence[Mapping[str, Any]]) -> OwnerRef | None:
    """The controlling owner if one is marked, else the first: the controller is what recreates pods."""
    if not references:
        return None
    chosen = next((ref for ref in references if ref.get("controller") is True), references[0])
    return OwnerRef(
        kind=str(chosen.get("kind", "")),
        name=str(chosen.get("name", "")),
        api_version=str(chosen.get("apiVersion", "")),
        uid=str(chosen.get("uid", "")),
    )


def _proxy(container: Mapping[str, Any], *, native: bool) -> ProxyView:
    resources = _mapping(container.get("resources"))
    requests = _mapping(resources.get("requests"))
    limits = _mapping(resources.get("limits"))
    return ProxyView(
        image=str(container.get("image", "")),
        cpu_request=_text(requests.get("cpu")),
        memory_request=_text(requests.get("memory")),
        cpu_limit=_text(limits.get("cpu")),
        memory_limit=_text(limits.get("memory")),
        native=native,
    )


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _items(value: object) -> tuple[Mapping[str, Any], ...]:
    if not isinstance(value, list | tuple):
        return ()
    return tuple(item for item in value if isinstance(item, Mapping))


def _text(value: object) -> str | None:
    """Quantities may arrive as numbers in hand-written objects; ``None`` stays absent."""
    return None if value is None else str(value)
