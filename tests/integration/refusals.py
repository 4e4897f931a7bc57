"""Refused writes served by the real API server: a ValidatingAdmissionPolicy (CEL, evaluated inside
kube-apiserver, no webhook to dial) with its binding, active only inside a ``with`` block.

A policy starts refusing a moment after it is created (the API server loads it through an informer), and
stops a moment after it is deleted. So every policy also refuses ConfigMaps named ``<probe>`` in a
namespace of the test's, and ``refusing`` waits on that probe both ways: when the block starts the policy
is certainly in force, when it ends it is certainly gone.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from lightkube import ApiError, Client, codecs
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.admissionregistration_v1 import (
    ValidatingAdmissionPolicy,
    ValidatingAdmissionPolicyBinding,
)
from lightkube.resources.core_v1 import ConfigMap

FIELD_MANAGER = "kyma-istio-refusals"
SETTLE_TIMEOUT_S = 120.0


def rule(group: str, resource: str, *operations: str) -> dict[str, Any]:
    """One match rule of a policy: ``resource`` of ``group`` (any version) on ``operations``."""
    return {
        "apiGroups": [group],
        "apiVersions": ["*"],
        "resources": [resource],
        "operations": list(operations),
    }


def _probe_refused(client: Client, namespace: str, probe: str) -> bool:
    try:
        client.create(ConfigMap(metadata=ObjectMeta(name=probe, namespace=namespace)))
    except ApiError as error:
        if error.status.code in (403, 422):
            return True
        raise
    client.delete(ConfigMap, probe, namespace=namespace)
    return False


def _wait_probe(client: Client, namespace: str, probe: str, *, refused: bool) -> None:
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    while _probe_refused(client, namespace, probe) is not refused:
        assert time.monotonic() < deadline, f"admission policy {probe} not {'active' if refused else 'gone'}"
        time.sleep(0.2)


@contextmanager
def refusing(
    client: Client, probe_namespace: str, rules: Sequence[dict[str, Any]], allowed: str, message: str
) -> Iterator[str]:
    """While the block runs, the API server refuses every write matched by ``rules`` for which the CEL
    expression ``allowed`` is false, with ``message``; yields the message."""
    name = f"refuse-{secrets.token_hex(4)}"
    probe = f"probe-{name}"
    is_probe = f"request.resource.resource == 'configmaps' && object.metadata.name == '{probe}'"
    policy = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": name},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {"resourceRules": [*rules, rule("", "configmaps", "CREATE")]},
            "validations": [
                {
                    "expression": f"request.resource.resource == 'configmaps' ? !({is_probe}) : ({allowed})",
                    "message": message,
                }
            ],
        },
    }
    binding = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": name},
        "spec": {"policyName": name, "validationActions": ["Deny"]},
    }
    client.create(codecs.from_dict(policy))
    client.create(codecs.from_dict(binding))
    try:
        _wait_probe(client, probe_namespace, probe, refused=True)
        yield message
    finally:
        client.delete(ValidatingAdmissionPolicyBinding, name)
        client.delete(ValidatingAdmissionPolicy, name)
        _wait_probe(client, probe_namespace, probe, refused=False)
