"""Every Kubernetes Event reason the operator posts about the CR, with its type: one table.

Conditions have their table in ``conditions``; Events are the running commentary next to them
(``kubectl describe istio``), and users filter them by reason, so reasons are API just like condition
reasons. Post one through ``k8s.seam.announce``, which takes the type from here.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from kyma_istio.api.v1alpha2 import State


class EventType(enum.StrEnum):
    NORMAL = "Normal"
    WARNING = "Warning"


class EventReason(enum.StrEnum):
    """The ``reason`` of an Event on the Istio CR."""

    INSTALL_STARTED = "InstallStarted"
    INSTALL_SUCCEEDED = "InstallSucceeded"
    INSTALL_FAILED = "InstallFailed"
    VERSION_UPDATE_NOT_ALLOWED = "IstioVersionUpdateNotAllowed"
    DELETION_BLOCKED = "DeletionBlocked"
    UNINSTALLED = "IstioUninstalled"
    INGRESS_GATEWAY_RESTARTED = "IngressGatewayRestarted"
    SIDECAR_RESTART = "SidecarRestart"
    SIDECAR_RESTART_FAILED = "SidecarRestartFailed"
    ROLLOUT_SLOW = "RolloutSlow"
    MANUAL_RESTART_REQUIRED = "ManualRestartRequired"
    STATE_PROCESSING = "StateProcessing"
    STATE_DELETING = "StateDeleting"
    STATE_READY = "StateReady"
    STATE_ERROR = "StateError"
    STATE_WARNING = "StateWarning"

    @property
    def type(self) -> EventType:
        return EVENT_TYPES[self]

    @classmethod
    def entering(cls, state: State) -> EventReason:
        """The reason of the Event posted when the CR enters ``state``."""
        return cls(f"State{state.value}")


_W = EventType.WARNING
_N = EventType.NORMAL

EVENT_TYPES: Final[Mapping[EventReason, EventType]] = MappingProxyType(
    {
        EventReason.INSTALL_STARTED: _N,
        EventReason.INSTALL_SUCCEEDED: _N,
        EventReason.INSTALL_FAILED: _W,
        EventReason.VERSION_UPDATE_NOT_ALLOWED: _W,
        EventReason.DELETION_BLOCKED: _W,
        EventReason.UNINSTALLED: _N,
        EventReason.INGRESS_GATEWAY_RESTARTED: _N,
        EventReason.SIDECAR_RESTART: _N,
        EventReason.SIDECAR_RESTART_FAILED: _W,
        EventReason.ROLLOUT_SLOW: _W,
        EventReason.MANUAL_RESTART_REQUIRED: _W,
        EventReason.STATE_PROCESSING: _N,
        EventReason.STATE_DELETING: _N,
        EventReason.STATE_READY: _N,
        EventReason.STATE_ERROR: _W,
        EventReason.STATE_WARNING: _W,
    }
)
