"""Every Kubernetes Event reason the operator posts about the CR, with its type: one table.

Conditions have their table in ``conditions``; Events are the running commentary next to them
(``kubectl describe istio``), and users filter them by reason, so reasons are API just like condition
reasons. Post one through ``k8s.seam.announce``, which takes the type from here.
"""

from __future__ import annotations

import enum

from kyma_istio.api.v1alpha2 import State


class EventType(enum.StrEnum):
    NORMAL = "Normal"
    WARNING = "Warning"


_N, _W = EventType.NORMAL, EventType.WARNING


class EventReason(enum.Enum):
    """The ``reason`` of an Event on the Istio CR and the Event's type."""

    INSTALL_STARTED = ("InstallStarted", _N)
    INSTALL_SUCCEEDED = ("InstallSucceeded", _N)
    INSTALL_FAILED = ("InstallFailed", _W)
    VERSION_UPDATE_NOT_ALLOWED = ("IstioVersionUpdateNotAllowed", _W)
    CLIMB_HOP_STARTED = ("IstioClimbHopStarted", _N)
    CLIMB_HOP_SUCCEEDED = ("IstioClimbHopSucceeded", _N)
    DELETION_BLOCKED = ("DeletionBlocked", _W)
    UNINSTALLED = ("IstioUninstalled", _N)
    INGRESS_GATEWAY_RESTARTED = ("IngressGatewayRestarted", _N)
    EGRESS_GATEWAY_RESTARTED = ("EgressGatewayRestarted", _N)
    INGRESS_TARGETING_USER_RESOURCE_FOUND = ("IngressTargetingUserResourceFound", _W)
    SIDECAR_RESTART = ("SidecarRestart", _N)
    SIDECAR_RESTART_FAILED = ("SidecarRestartFailed", _W)
    EVICTION_HELD = ("EvictionHeld", _N)
    ROLLOUT_SLOW = ("RolloutSlow", _W)
    MANUAL_RESTART_REQUIRED = ("ManualRestartRequired", _W)
    RESTART_REQUIRED = ("RestartRequired", _W)
    """On a workload excluded from restarts whose sidecar is outdated (Kyma's name)."""
    RESTART_WINDOW_SHORT = ("RestartWindowShort", _W)
    """On a workload due a restart whose window is shorter than one rollout of it may take."""
    RESTART_CONFIG_INVALID = ("RestartConfigInvalid", _W)
    """On a workload or namespace whose restart annotation does not parse (Kyma's name)."""
    STATE_PROCESSING = ("StateProcessing", _N)
    STATE_DELETING = ("StateDeleting", _N)
    STATE_READY = ("StateReady", _N)
    STATE_ERROR = ("StateError", _W)
    STATE_WARNING = ("StateWarning", _W)

    def __init__(self, reason: str, type_: EventType) -> None:
        self.reason = reason
        self.type = type_

    def __str__(self) -> str:
        return self.reason

    @classmethod
    def entering(cls, state: State) -> EventReason:
        """The reason of the Event posted when the CR enters ``state``."""
        return next(member for member in cls if member.reason == f"State{state.value}")
