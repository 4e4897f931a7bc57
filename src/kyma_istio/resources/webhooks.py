"""Which revision-tag injector configs to delete after a failed install (spec 5.7).

An install can fail halfway through a move between Istio's two ways of wiring the default injector: the
plain default-revision MutatingWebhookConfiguration (``istio.io/rev=default``, no tag) and revision-tag
configs (``istio.io/tag=default``). If both are active, pods are injected twice or rejected. When the
untagged default config exists and is active, the tagged ones are the leftovers to remove. The shell
lists, deletes and retries; the decision is here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

REV_LABEL: Final = "istio.io/rev"
TAG_LABEL: Final = "istio.io/tag"
DEFAULT_REVISION: Final = "default"
TAG_SELECTOR: Final = f"{TAG_LABEL}={DEFAULT_REVISION}"
"""Label selector for listing the tagged configs."""

DEACTIVATED_MATCH_LABELS: Final = {"istio.io/deactivated": "never-match"}
"""istioctl points both selectors at this label to switch a webhook off without deleting it."""


def _labels(config: Mapping[str, Any]) -> Mapping[str, Any]:
    return (config.get("metadata") or {}).get("labels") or {}


def _is_default_revision(config: Mapping[str, Any]) -> bool:
    labels = _labels(config)
    return labels.get(REV_LABEL) == DEFAULT_REVISION and TAG_LABEL not in labels


def _is_tagged_default(config: Mapping[str, Any]) -> bool:
    return _labels(config).get(TAG_LABEL) == DEFAULT_REVISION


def _match_labels(webhook: Mapping[str, Any], selector: str) -> Mapping[str, Any]:
    return (webhook.get(selector) or {}).get("matchLabels") or {}


def is_deactivated(config: Mapping[str, Any]) -> bool:
    """Whether every webhook of ``config`` is switched off; a config without webhooks injects nothing."""
    return all(
        _match_labels(webhook, "namespaceSelector") == DEACTIVATED_MATCH_LABELS
        and _match_labels(webhook, "objectSelector") == DEACTIVATED_MATCH_LABELS
        for webhook in config.get("webhooks") or ()
    )


def conflicting_tag_webhooks(mutating_webhook_configs: Sequence[Mapping[str, Any]]) -> list[str]:
    """Names of the ``istio.io/tag=default`` configs to delete, sorted; empty when there is no conflict."""
    active_default = any(
        _is_default_revision(config) and not is_deactivated(config) for config in mutating_webhook_configs
    )
    if not active_default:
        return []
    return sorted(
        str((config.get("metadata") or {}).get("name", ""))
        for config in mutating_webhook_configs
        if _is_tagged_default(config)
    )
