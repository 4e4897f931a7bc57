"""A cluster of in-memory fakes for whole reconcile passes: one node, ``istio-system``, Istio's CR kind,
and an installer that leaves istiod and the ingress gateway on the installed tag. Unit tests only."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconcile_fakes import FakeEvents, FakeInstaller, FakeKube

from kyma_istio.api import names
from kyma_istio.k8s import kinds
from kyma_istio.lines import DEFAULT as DEFAULT_LINE
from kyma_istio.reconcile import pipeline
from kyma_istio.reconcile.context import Deps, Settings

NS = names.OPERATOR_NAMESPACE
OLD_PROXY = "docker.io/istio/proxyv2:1.22.0-distroless"


def istio_pods(kube: FakeKube, version: str = DEFAULT_LINE.tag) -> None:
    """What istioctl leaves behind: istiod and the gateway running the target images."""
    for name, container, image in (
        ("istiod-1", "discovery", f"docker.io/istio/pilot:{version}"),
        ("istio-ingressgateway-1", "istio-proxy", f"docker.io/istio/proxyv2:{version}"),
    ):
        kube.put(
            kinds.POD,
            {
                "metadata": {"name": name, "namespace": names.ISTIO_NAMESPACE},
                "spec": {"containers": [{"name": container, "image": image}]},
            },
        )
    kube.put(
        kinds.DEPLOYMENT,
        {
            "metadata": {"name": names.INGRESS_GATEWAY, "namespace": names.ISTIO_NAMESPACE, "generation": 1},
            "spec": {"template": {"metadata": {}}},
        },
    )


class World:
    """A cluster of fakes with one production-size node and Istio's CR kind registered."""

    def __init__(self, *, settings: Settings | None = None) -> None:
        self.kube = FakeKube()
        self.installer = FakeInstaller(on_install=lambda _: istio_pods(self.kube))
        self.events = FakeEvents()
        self.deps = Deps(
            kube=self.kube,
            installer=self.installer,
            events=self.events,
            settings=settings or Settings(),
        )
        self.kube.put(
            kinds.NODE,
            {"metadata": {"name": "node-1"}, "status": {"capacity": {"cpu": "8", "memory": "32Gi"}}},
        )
        self.kube.put(kinds.NAMESPACE, {"metadata": {"name": names.ISTIO_NAMESPACE}})

    def cr(
        self,
        spec: Mapping[str, Any] | None = None,
        *,
        name: str = "default",
        namespace: str = NS,
        **meta: Any,
    ) -> None:
        self.kube.put(
            kinds.ISTIO,
            {"metadata": {"name": name, "namespace": namespace, **meta}, "spec": dict(spec or {})},
        )

    def stored(self, name: str = "default", namespace: str = NS) -> dict[str, Any]:
        found = self.kube.stored(kinds.ISTIO, name, namespace)
        assert found is not None
        return found

    def condition(self, type_: str, name: str = "default") -> dict[str, Any]:
        return next(c for c in self.stored(name)["status"]["conditions"] if c["type"] == type_)

    async def reconcile(self, name: str = "default", namespace: str = NS, **kw: Any) -> pipeline.PassResult:
        return await pipeline.reconcile(namespace, name, self.deps, **kw)

    def outdated_workload(self, name: str, *, bare_pod: bool = False, rolls_out: bool = True) -> None:
        """A Deployment (via its ReplicaSet) or a bare Pod whose sidecar runs the old proxy. The fake
        API keeps a Deployment's status as it is: one that ``rolls_out`` looks healthy after its patch,
        any other never does."""
        owner = None
        if not bare_pod:
            ready = 1 if rolls_out else 0
            self.kube.put(
                kinds.DEPLOYMENT,
                {
                    "metadata": {"name": name, "namespace": "app", "generation": 1},
                    "spec": {
                        "replicas": 1,
                        "strategy": {"type": "RollingUpdate"},
                        "template": {"metadata": {}},
                    },
                    "status": {
                        "observedGeneration": 1,
                        "replicas": 1,
                        "updatedReplicas": 1,
                        "availableReplicas": ready,
                    },
                },
            )
            self.kube.put(
                kinds.REPLICASET,
                {
                    "metadata": {
                        "name": f"{name}-rs",
                        "namespace": "app",
                        "ownerReferences": [
                            {
                                "kind": "Deployment",
                                "name": name,
                                "apiVersion": "apps/v1",
                                "uid": f"uid-{name}",
                                "controller": True,
                            }
                        ],
                    }
                },
            )
            owner = [
                {
                    "kind": "ReplicaSet",
                    "name": f"{name}-rs",
                    "apiVersion": "apps/v1",
                    "uid": f"uid-{name}-rs",
                    "controller": True,
                }
            ]
        self.kube.put(
            kinds.POD,
            {
                "metadata": {
                    "name": f"{name}-pod",
                    "namespace": "app",
                    "ownerReferences": owner or [],
                    "annotations": {names.SIDECAR_STATUS_ANNOTATION: "{}"},
                },
                "spec": {
                    "containers": [
                        {"name": "app", "image": "app"},
                        {"name": "istio-proxy", "image": OLD_PROXY},
                    ]
                },
                "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
            },
        )
