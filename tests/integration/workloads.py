"""Workloads for integration tests: Deployments of the pause image, which kwok runs without pulling."""

from __future__ import annotations

from lightkube.models.apps_v1 import DeploymentSpec
from lightkube.models.core_v1 import Container, PodSpec, PodTemplateSpec
from lightkube.models.meta_v1 import LabelSelector, ObjectMeta
from lightkube.resources.apps_v1 import Deployment


def pause_deployment(
    name: str,
    namespace: str,
    replicas: int,
    *,
    annotations: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
) -> Deployment:
    """A Deployment whose Pods carry ``app=<name>`` (and ``labels``) and the pod-template ``annotations``."""
    selector = {"app": name}
    return Deployment(
        metadata=ObjectMeta(name=name, namespace=namespace),
        spec=DeploymentSpec(
            replicas=replicas,
            selector=LabelSelector(matchLabels=selector),
            template=PodTemplateSpec(
                metadata=ObjectMeta(labels={**selector, **(labels or {})}, annotations=annotations),
                spec=PodSpec(containers=[Container(name="app", image="registry.k8s.io/pause:3.10")]),
            ),
        ),
    )
