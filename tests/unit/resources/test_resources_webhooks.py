"""After a failed install, leftover revision-tag injectors are removed only when the default one is active."""

from __future__ import annotations

import copy
from typing import Any

from kyma_istio.resources import webhooks

OFF = {"matchLabels": {"istio.io/deactivated": "never-match"}}


def config(name: str, labels: dict[str, str], *hooks: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": labels}, "webhooks": list(hooks)}


def active_hook() -> dict[str, Any]:
    return {"name": "namespace.sidecar-injector.istio.io", "namespaceSelector": {"matchLabels": {"a": "b"}}}


def deactivated_hook() -> dict[str, Any]:
    return {"name": "object.sidecar-injector.istio.io", "namespaceSelector": OFF, "objectSelector": OFF}


DEFAULT = config("istio-sidecar-injector", {"istio.io/rev": "default"}, active_hook(), active_hook())
TAGGED = config("istio-revision-tag-default", {"istio.io/tag": "default", "istio.io/rev": "default"})
OTHER_TAGGED = config("istio-revision-tag-default-2", {"istio.io/tag": "default"})


def test_tagged_configs_go_when_the_default_revision_injector_is_active() -> None:
    names = webhooks.conflicting_tag_webhooks([OTHER_TAGGED, DEFAULT, TAGGED])

    assert names == ["istio-revision-tag-default", "istio-revision-tag-default-2"]


def test_nothing_goes_without_a_default_revision_injector() -> None:
    assert webhooks.conflicting_tag_webhooks([TAGGED, OTHER_TAGGED]) == []


def test_nothing_goes_when_the_default_revision_injector_is_deactivated() -> None:
    deactivated = config("istio-sidecar-injector", {"istio.io/rev": "default"}, deactivated_hook())

    assert webhooks.conflicting_tag_webhooks([deactivated, TAGGED]) == []


def test_one_active_webhook_keeps_the_default_injector_active() -> None:
    partly = config("istio-sidecar-injector", {"istio.io/rev": "default"}, deactivated_hook(), active_hook())

    assert webhooks.conflicting_tag_webhooks([partly, TAGGED]) == ["istio-revision-tag-default"]


def test_a_webhook_switched_off_on_one_selector_only_is_still_active() -> None:
    half = {"name": "x", "namespaceSelector": OFF, "objectSelector": {"matchLabels": {"a": "b"}}}

    assert not webhooks.is_deactivated(config("c", {}, half))


def test_a_tagged_config_is_not_the_default_revision_injector() -> None:
    assert webhooks.conflicting_tag_webhooks([TAGGED]) == []


def test_another_revisions_injector_does_not_count() -> None:
    canary = config("istio-sidecar-injector-canary", {"istio.io/rev": "canary"}, active_hook())

    assert webhooks.conflicting_tag_webhooks([canary, TAGGED]) == []


def test_deciding_leaves_the_configs_unchanged() -> None:
    configs = [DEFAULT, TAGGED]
    snapshot = copy.deepcopy(configs)

    webhooks.conflicting_tag_webhooks(configs)

    assert configs == snapshot
