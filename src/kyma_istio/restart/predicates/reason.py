"""Why a pod's sidecar is due for a restart: the rule that fired, reported per owner action."""

from __future__ import annotations

import enum


class OutdatedReason(enum.StrEnum):
    """The rule that selected a pod, in the order the rules are evaluated (spec 6.4)."""

    COMPATIBILITY_MODE_CHANGED = "CompatibilityModeChanged"
    IMAGE_OUTDATED = "ImageOutdated"
    RESOURCES_OUTDATED = "ResourcesOutdated"
    SIDECAR_REMOVAL = "SidecarRemoval"
    """Only the uninstall plan uses this: Istio is gone and the sidecar has to go with it."""
