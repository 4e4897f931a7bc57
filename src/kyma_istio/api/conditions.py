"""Condition types, reasons and status descriptions: the one table of what users read in ``status``.

Kyma's Istio module fixes every condition reason, its condition type, its status and its default message
(spec section 3.3), and every description the controller writes next to a state (section 14). Tools and
people match on these strings, so they live here once, spelled exactly as the reference spells them,
typos included. The controller names a ``Description`` and never formats a status message itself.

Conditions follow Kubernetes ``SetStatusCondition`` semantics (``set_condition``); when several problems
come out of one pass, ``most_severe`` picks the one that decides the state (section 3.4).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Final, Literal, Protocol

from kyma_istio.api import names
from kyma_istio.api.v1alpha2 import Condition, State

ConditionStatus = Literal["True", "False", "Unknown"]


class ConditionType(enum.StrEnum):
    """The condition types the module writes: Kyma 1.10's two, and the one Kyma added later (1.30)."""

    READY = "Ready"
    PROXY_SIDECAR_RESTART_SUCCEEDED = "ProxySidecarRestartSucceeded"
    INGRESS_TARGETING_USER_RESOURCE_FOUND = "IngressTargetingUserResourceFound"
    SIDECAR_RESTARTS_HELD = "SidecarRestartsHeld"
    """Ours, additive: restarts the owners' maintenance windows or exclusions hold back."""
    SIDECARS_WITHOUT_INJECTION = "SidecarsWithoutInjection"
    """Ours, additive: workloads that keep a sidecar in a namespace that no longer asks for injection."""


class Reason(enum.StrEnum):
    """Every condition reason of Kyma Istio 1.10 and those added up to 1.30, spelled as on the wire."""

    RECONCILE_SUCCEEDED = "ReconcileSucceeded"
    RECONCILE_UNKNOWN = "ReconcileUnknown"
    RECONCILE_REQUEUED = "ReconcileRequeued"
    RECONCILE_FAILED = "ReconcileFailed"
    VALIDATION_FAILED = "ValidationFailed"
    OLDER_CR_EXISTS = "OlderCRExists"
    OLDEST_CR_NOT_FOUND = "OldestCRNotFound"
    ISTIO_INSTALL_NOT_NEEDED = "IstioInstallNotNeeded"
    ISTIO_INSTALL_SUCCEEDED = "IstioInstallSucceeded"
    ISTIO_UNINSTALL_SUCCEEDED = "IstioUninstallSucceeded"
    ISTIO_INSTALL_UNINSTALL_FAILED = "IstioInstallUninstallFailed"
    ISTIO_CUSTOM_RESOURCE_MISCONFIGURED = "IstioCustomResourceMisconfigured"
    ISTIO_CUSTOM_RESOURCES_DANGLING = "IstioCustomResourcesDangling"
    ISTIO_VERSION_UPDATE_NOT_ALLOWED = "IstioVersionUpdateNotAllowed"
    CUSTOM_RESOURCES_RECONCILE_SUCCEEDED = "CustomResourcesReconcileSucceeded"
    CUSTOM_RESOURCES_RECONCILE_FAILED = "CustomResourcesReconcileFailed"
    PROXY_SIDECAR_RESTART_SUCCEEDED = "ProxySidecarRestartSucceeded"
    PROXY_SIDECAR_RESTART_FAILED = "ProxySidecarRestartFailed"
    PROXY_SIDECAR_RESTART_PARTIALLY_SUCCEEDED = "ProxySidecarRestartPartiallySucceeded"
    PROXY_SIDECAR_MANUAL_RESTART_REQUIRED = "ProxySidecarManualRestartRequired"
    INGRESS_GATEWAY_RESTART_SUCCEEDED = "IngressGatewayRestartSucceeded"
    INGRESS_GATEWAY_RESTART_FAILED = "IngressGatewayRestartFailed"
    EGRESS_GATEWAY_RESTART_SUCCEEDED = "EgressGatewayRestartSucceeded"
    EGRESS_GATEWAY_RESTART_FAILED = "EgressGatewayRestartFailed"
    INGRESS_TARGETING_USER_RESOURCE_FOUND = "IngressTargetingUserResourceFound"
    INGRESS_TARGETING_USER_RESOURCE_NOT_FOUND = "IngressTargetingUserResourceNotFound"
    INGRESS_TARGETING_USER_RESOURCE_DETECTION_FAILED = "IngressTargetingUserResourceDetectionFailed"
    SIDECAR_RESTARTS_HELD = "SidecarRestartsHeld"
    SIDECAR_RESTARTS_NOT_HELD = "SidecarRestartsNotHeld"
    SIDECARS_WITHOUT_INJECTION_FOUND = "SidecarsWithoutInjectionFound"
    SIDECARS_WITHOUT_INJECTION_NOT_FOUND = "SidecarsWithoutInjectionNotFound"


class Level(enum.StrEnum):
    """How bad a problem is; the value is the state it puts the CR in."""

    WARNING = "Warning"
    ERROR = "Error"

    @property
    def state(self) -> State:
        """The CR state this level produces."""
        return State(self.value)


class Requeue(enum.StrEnum):
    """What the reconcile should do after a problem (spec section 9, requeue summary)."""

    BACKOFF = "backoff"
    """Return the error; the work queue retries with exponential backoff."""
    NEVER = "never"
    """Stop: retrying cannot help until the user changes something."""


@dataclass(frozen=True)
class ReasonInfo:
    """The condition a reason sets, with the message used unless a custom one is passed."""

    condition_type: ConditionType
    status: ConditionStatus
    message: str


_READY = ConditionType.READY
_SIDECARS = ConditionType.PROXY_SIDECAR_RESTART_SUCCEEDED
_TARGETING = ConditionType.INGRESS_TARGETING_USER_RESOURCE_FOUND
_HELD = ConditionType.SIDECAR_RESTARTS_HELD
_UNINJECTED = ConditionType.SIDECARS_WITHOUT_INJECTION

REASONS: Final[Mapping[Reason, ReasonInfo]] = MappingProxyType(
    {
        Reason.RECONCILE_SUCCEEDED: ReasonInfo(_READY, "True", "Reconciliation succeeded"),
        Reason.RECONCILE_UNKNOWN: ReasonInfo(
            _READY,
            "Unknown",
            "Module readiness is unknown. Either a reconciliation is progressing, or failed previously. "
            "Check status of other conditions",
        ),
        Reason.RECONCILE_REQUEUED: ReasonInfo(
            _READY, "False", "Proxy reset is still ongoing. Reconciliation requeued"
        ),
        Reason.RECONCILE_FAILED: ReasonInfo(_READY, "False", "Reconciliation failed"),
        Reason.VALIDATION_FAILED: ReasonInfo(
            _READY,
            "False",
            "Reconciliation did not happen as Istio Custom Resource failed to validate",
        ),
        Reason.OLDER_CR_EXISTS: ReasonInfo(
            _READY,
            "False",
            "This Istio custom resource is not the oldest one and does not represent the module state",
        ),
        Reason.OLDEST_CR_NOT_FOUND: ReasonInfo(
            _READY, "False", "Oldest Istio custom resource could not be found"
        ),
        Reason.ISTIO_INSTALL_NOT_NEEDED: ReasonInfo(_READY, "False", "Istio installation is not needed"),
        Reason.ISTIO_INSTALL_SUCCEEDED: ReasonInfo(_READY, "False", "Istio installation succeeded"),
        # "succeded" is the reference's spelling; users and tools may match on it.
        Reason.ISTIO_UNINSTALL_SUCCEEDED: ReasonInfo(_READY, "False", "Istio uninstallation succeded"),
        Reason.ISTIO_INSTALL_UNINSTALL_FAILED: ReasonInfo(
            _READY, "False", "Istio install or uninstall failed"
        ),
        Reason.ISTIO_CUSTOM_RESOURCE_MISCONFIGURED: ReasonInfo(
            _READY, "False", "Istio custom resource has invalid configuration"
        ),
        Reason.ISTIO_CUSTOM_RESOURCES_DANGLING: ReasonInfo(
            _READY, "False", "Istio deletion blocked because of existing Istio custom resources"
        ),
        Reason.ISTIO_VERSION_UPDATE_NOT_ALLOWED: ReasonInfo(
            _READY, "False", "Update to the new Istio version is not allowed"
        ),
        Reason.CUSTOM_RESOURCES_RECONCILE_SUCCEEDED: ReasonInfo(
            _READY, "False", "Custom resources reconciliation succeeded"
        ),
        Reason.CUSTOM_RESOURCES_RECONCILE_FAILED: ReasonInfo(
            _READY, "False", "Custom resources reconciliation failed"
        ),
        Reason.PROXY_SIDECAR_RESTART_SUCCEEDED: ReasonInfo(
            _SIDECARS, "True", "Proxy sidecar restart succeeded"
        ),
        Reason.PROXY_SIDECAR_RESTART_FAILED: ReasonInfo(_SIDECARS, "False", "Proxy sidecar restart failed"),
        Reason.PROXY_SIDECAR_RESTART_PARTIALLY_SUCCEEDED: ReasonInfo(
            _SIDECARS, "False", "Proxy sidecar restart partially succeeded"
        ),
        Reason.PROXY_SIDECAR_MANUAL_RESTART_REQUIRED: ReasonInfo(
            _SIDECARS, "False", "Proxy sidecar manual restart is required for some workloads"
        ),
        Reason.INGRESS_GATEWAY_RESTART_SUCCEEDED: ReasonInfo(
            _READY, "False", "Istio Ingress Gateway restart succeeded"
        ),
        Reason.INGRESS_GATEWAY_RESTART_FAILED: ReasonInfo(
            _READY, "False", "Istio Ingress Gateway restart failed"
        ),
        Reason.EGRESS_GATEWAY_RESTART_SUCCEEDED: ReasonInfo(
            _READY, "False", "Istio Egress Gateway restart succeeded"
        ),
        Reason.EGRESS_GATEWAY_RESTART_FAILED: ReasonInfo(
            _READY, "False", "Istio Egress Gateway restart failed"
        ),
        Reason.INGRESS_TARGETING_USER_RESOURCE_FOUND: ReasonInfo(
            _TARGETING, "True", "Resource targeting Istio Ingress Gateway found"
        ),
        Reason.INGRESS_TARGETING_USER_RESOURCE_NOT_FOUND: ReasonInfo(
            _TARGETING, "False", "Resources targeting Istio Ingress Gateway not found"
        ),
        Reason.INGRESS_TARGETING_USER_RESOURCE_DETECTION_FAILED: ReasonInfo(
            _TARGETING, "Unknown", "Resource targeting Istio Ingress Gateway detection failed"
        ),
        Reason.SIDECAR_RESTARTS_HELD: ReasonInfo(
            _HELD,
            "True",
            "Sidecar restarts of some workloads wait for their maintenance window or are excluded",
        ),
        Reason.SIDECAR_RESTARTS_NOT_HELD: ReasonInfo(
            _HELD, "False", "No sidecar restart waits for a maintenance window or is excluded"
        ),
        Reason.SIDECARS_WITHOUT_INJECTION_FOUND: ReasonInfo(
            _UNINJECTED, "True", "Workloads in namespaces without injection still carry a sidecar"
        ),
        Reason.SIDECARS_WITHOUT_INJECTION_NOT_FOUND: ReasonInfo(
            _UNINJECTED, "False", "No workload in a namespace without injection carries a sidecar"
        ),
    }
)


def make_condition(reason: Reason, *, message: str | None = None, now: datetime) -> Condition:
    """The condition a reason sets; ``observedGeneration`` stays unset, as in the reference."""
    info = REASONS[reason]
    return Condition(
        type=info.condition_type.value,
        status=info.status,
        reason=reason.value,
        message=info.message if message is None else message,
        lastTransitionTime=now,
    )


def set_condition(conditions: Sequence[Condition], new: Condition) -> list[Condition]:
    """``conditions`` with ``new`` set, as Kubernetes ``SetStatusCondition`` does it.

    An entry of the same type is replaced where it stands, but keeps its ``lastTransitionTime`` unless the
    status changed, so the time says when the condition last flipped rather than when it was last
    written. Unknown types are appended.
    """
    result = list(conditions)
    for index, existing in enumerate(result):
        if existing.type != new.type:
            continue
        if existing.status == new.status:
            new = new.model_copy(update={"lastTransitionTime": existing.lastTransitionTime})
        result[index] = new
        return result
    result.append(new)
    return result


@dataclass(frozen=True)
class Problem:
    """Something that stopped a pass from ending ``Ready``, ready to be written to ``status``.

    ``reason`` is ``None`` when the conditions must stay as a lower layer left them; ``message`` is the
    condition message when it differs from the reason's default.
    """

    description: str
    level: Level
    reason: Reason | None
    message: str | None = None
    requeue: Requeue = Requeue.BACKOFF


def record_problem(conditions: Sequence[Condition], problem: Problem, *, now: datetime) -> list[Condition]:
    """``conditions`` after the controller records ``problem`` (the error path of spec section 3.3).

    A problem without a reason leaves the conditions alone: a lower layer already set them (restarters
    do, so their problems are not recorded again). A reason of another type than ``Ready`` first marks
    ``Ready=False/ReconcileFailed`` so ``Ready`` never claims success next to a failure.
    """
    if problem.reason is None:
        return list(conditions)
    result = list(conditions)
    if REASONS[problem.reason].condition_type is not ConditionType.READY:
        result = set_condition(result, make_condition(Reason.RECONCILE_FAILED, now=now))
    return set_condition(result, make_condition(problem.reason, message=problem.message, now=now))


def most_severe(problems: Sequence[Problem]) -> Problem | None:
    """The problem that decides the state: the first Error, else the first Warning, else none."""
    for level in (Level.ERROR, Level.WARNING):
        for problem in problems:
            if problem.level is level:
                return problem
    return None


def manual_restart_message(workloads: Sequence[str], limit: int = 5) -> str:
    """The condition message naming pods whose sidecars need a manual restart (spec section 6.6).

    Only the first ``limit`` names are listed so the message stays readable on big clusters.
    """
    listed = ", ".join(workloads[:limit])
    message = f"The sidecars of the following workloads could not be restarted: {listed}"
    hidden = len(workloads) - limit
    if hidden > 0:
        message += f" and {hidden} additional workload(s)"
    return message


# --- descriptions (spec section 14) --------------------------------------------------------------

RECONCILING: Final = "Reconciling Istio"
"""Description of the ``Processing`` state."""
DELETING: Final = "Deleting Istio"
"""Description of the ``Deleting`` state."""

_SEE_LOGS: Final = (
    f"Please take a look at {names.OPERATOR_NAMESPACE}/istio-controller-manager logs "
    "to see more information about the warning"
)


@dataclass(frozen=True)
class Description:
    """A status description with the level and condition reason it comes with.

    Most descriptions are a prefix followed by ``: <detail>``; ``wrap=False`` ones are written as they
    stand. ``detail`` is the fixed detail of descriptions that always carry the same one.
    """

    text: str
    level: Level
    reason: Reason | None
    wrap: bool = True
    detail: str | None = None
    requeue: Requeue = Requeue.BACKOFF

    def describe(self, detail: str | None = None) -> str:
        """The text for ``status.description``."""
        detail = self.detail if detail is None else detail
        if not self.wrap or detail is None:
            return self.text
        return f"{self.text}: {detail}"

    def problem(self, detail: str | None = None, *, message: str | None = None) -> Problem:
        """This description as a ``Problem``, with ``detail`` appended and a custom condition message."""
        return Problem(self.describe(detail), self.level, self.reason, message, self.requeue)


_E, _W = Level.ERROR, Level.WARNING
_FAILED = Reason.ISTIO_INSTALL_UNINSTALL_FAILED
_RESOURCES_FAILED = Reason.CUSTOM_RESOURCES_RECONCILE_FAILED
_RESTART_FAILED = Reason.PROXY_SIDECAR_RESTART_FAILED

# Before any work: validation and which CR drives the module. Retrying these cannot help.
AUTHORIZER_NOT_UNIQUE: Final = Description(
    "Authorizer name needs to be unique", _W, Reason.VALIDATION_FAILED, requeue=Requeue.NEVER
)
NOT_IN_OPERATOR_NAMESPACE: Final = Description(
    "Stopped Istio CR reconciliation",
    _E,
    Reason.RECONCILE_FAILED,
    detail=f"Istio CR is not in {names.OPERATOR_NAMESPACE} namespace",
    requeue=Requeue.NEVER,
)
NOT_OLDEST: Final = Description(
    "Stopped Istio CR reconciliation", _W, Reason.OLDER_CR_EXISTS, requeue=Requeue.NEVER
)
OLDEST_NOT_FOUND: Final = Description(
    "Stopped Istio CR reconciliation",
    _W,
    Reason.OLDEST_CR_NOT_FOUND,
    detail="no oldest Istio CR found",
)
"""The list of CRs held none, not even the one just read: it vanished in between. Retried (unlike the
reference, which stops): the retry finds the CR gone, or finds it listed again."""
LIST_FAILED: Final = Description("Unable to list Istio CRs", _E, Reason.RECONCILE_FAILED)

# Install path.
TARGET_VERSION_UNREADABLE: Final = Description(
    "Could not get Istio version from istio operator file", _E, _FAILED
)
INSTALL_CHECK_FAILED: Final = Description("Istio install check failed", _E, _FAILED)
VERSION_UPDATE_NOT_ALLOWED: Final = Description(
    "Istio version update is not allowed", _W, Reason.ISTIO_VERSION_UPDATE_NOT_ALLOWED
)
ADD_FINALIZER_FAILED: Final = Description("Could not add finalizer", _E, _FAILED)
CLUSTER_FLAVOUR_FAILED: Final = Description("Could not evaluate cluster flavour", _E, _FAILED)
CLUSTER_SIZE_FAILED: Final = Description("Could not evaluate cluster size", _E, _FAILED)
MERGE_FAILED: Final = Description(
    "Could not merge Istio operator configuration", _E, Reason.ISTIO_CUSTOM_RESOURCE_MISCONFIGURED
)
INSTALL_FAILED: Final = Description(
    "Could not install Istio", _E, _FAILED, detail="Istio installation resulted in an error"
)
WARDEN_LABEL_FAILED: Final = Description("Could not add warden validation label", _E, _FAILED)
POD_VERSIONS_FAILED: Final = Description(
    f"Verifying Pod versions in {names.ISTIO_NAMESPACE} namespace failed", _E, _FAILED
)
MANAGED_METADATA_FAILED: Final = Description("could not update managed metadata", _E, _FAILED)

# Uninstall path.
FINDER_CONFIG_FAILED: Final = Description(
    "Could not read customer resources finder configuration", _E, _FAILED
)
CUSTOMER_RESOURCES_FAILED: Final = Description(
    "Could not get customer resources from the cluster", _E, _FAILED
)
RESOURCES_BLOCK_DELETION: Final = Description(
    f"There are Istio resources that block deletion. {_SEE_LOGS}",
    _W,
    Reason.ISTIO_CUSTOM_RESOURCES_DANGLING,
    wrap=False,
)
UNINSTALL_FAILED: Final = Description("Could not uninstall istio", _E, _FAILED)
SIDECAR_REMOVAL_FAILED: Final = Description("Could not remove istio sidecars", _E, _FAILED)
REMOVE_FINALIZER_FAILED: Final = Description("Could not remove finalizer", _E, _FAILED)

# Managed Istio resources (spec section 7).
CLUSTER_PROVIDER_FAILED: Final = Description("could not determine cluster provider", _E, _RESOURCES_FAILED)
RESOURCES_INIT_FAILED: Final = Description(
    "Istio controller failed to initialise Istio resources", _E, _RESOURCES_FAILED
)

# Restarters (spec section 6). Version errors here carry the restarter's reason, not the installer's.
TARGET_VERSION_UNREADABLE_IN_RESTART: Final = Description(TARGET_VERSION_UNREADABLE.text, _E, _RESTART_FAILED)
POD_VERSIONS_FAILED_IN_RESTART: Final = Description(POD_VERSIONS_FAILED.text, _E, _RESTART_FAILED)
GATEWAY_EVALUATOR_FAILED: Final = Description("Could not create Ingress Gateway restart evaluator", _E, None)
GATEWAY_RESTART_FAILED: Final = Description(
    "Failed to restart Ingress Gateway", _E, Reason.INGRESS_GATEWAY_RESTART_FAILED
)
EGRESS_GATEWAY_RESTART_FAILED: Final = Description(
    "Failed to restart Egress Gateway", _E, Reason.EGRESS_GATEWAY_RESTART_FAILED
)
SIDECARS_FAILED: Final = Description(
    "Error occurred during reconciliation of Istio Sidecars", _E, _RESTART_FAILED
)
CUSTOMER_SIDECARS_FAILED: Final = Description(
    "The sidecars of some customer workloads could not be restarted", _W, _RESTART_FAILED
)
"""Only customer workloads failed (the Kyma modules' ones restarted): a Warning, as in the reference."""
SIDECARS_NEED_MANUAL_RESTART: Final = Description(
    f"Not all pods with Istio injection could be restarted. {_SEE_LOGS}",
    _W,
    Reason.PROXY_SIDECAR_MANUAL_RESTART_REQUIRED,
    detail="Istio controller could not restart one or more istio-injected pods.",
)

# Finish.
INGRESS_TARGETING_USER_RESOURCE: Final = Description(
    "misconfigured EnvoyFilter can potentially break Istio Ingress Gateway",
    _W,
    Reason.INGRESS_TARGETING_USER_RESOURCE_FOUND,
)
"""Istio is installed and Ready holds, but a user's EnvoyFilter patches the ingress gateway. Retried on
the warning backoff: deleting the EnvoyFilter sends no event on the CR."""
LAST_APPLIED_UPDATE_FAILED: Final = Description(
    "Error updating LastAppliedConfiguration", _E, Reason.RECONCILE_FAILED
)
EXPERIMENTAL_NOT_SUPPORTED: Final = Description(
    "Experimental features are not supported in this image flavour",
    _W,
    None,
    detail="istio CR contains experimental feature",
    requeue=Requeue.NEVER,
)


def resource_reconcile_failed(kind: str, name: str) -> Description:
    """The description for one managed Istio resource that could not be applied."""
    return Description(f"Could not reconcile Istio resource {kind}/{name}", _E, _RESOURCES_FAILED)


def duplicated_authorizer(name: str) -> Problem:
    """The validation problem for an authorizer name used twice."""
    return AUTHORIZER_NOT_UNIQUE.problem(f"{name} is duplicated")


def not_oldest(oldest_name: str) -> Problem:
    """The problem of a CR that is not the one driving the module."""
    return NOT_OLDEST.problem(
        f"only Istio CR {oldest_name} in {names.OPERATOR_NAMESPACE} reconciles the module"
    )


def manual_restart_required(workloads: Sequence[str], limit: int = 5) -> Problem:
    """The warning for pods whose sidecars must be restarted by hand, with the list as condition message."""
    return SIDECARS_NEED_MANUAL_RESTART.problem(message=manual_restart_message(workloads, limit))


def held_message(held: HeldCounts) -> str:
    """``41 workloads wait for their maintenance window; the next opens Sat 02:00 UTC; 2 workloads are
    excluded from restarts``: what the owners' annotations hold back, for the description and condition."""
    parts = []
    if held.waiting:
        opening = f"; the next opens {_opening(held.next_opening)}" if held.next_opening else ""
        one = held.waiting == 1
        waits = "waits for its" if one else "wait for their"
        parts.append(f"{_workloads(held.waiting)} {waits} maintenance window{opening}")
    if held.excluded:
        parts.append(f"{_workloads(held.excluded)} {_are(held.excluded)} excluded from restarts")
    if held.invalid:
        bad = f"{_workloads(held.invalid)} {_are(held.invalid)} not restarted"
        parts.append(f"{bad}: a restart annotation does not parse")
    return "; ".join(parts)


def uninjected_message(workloads: Sequence[str], limit: int = 5) -> str:
    """Which workloads keep a sidecar where injection is off (the first ``limit``, and how many more)."""
    shown = ", ".join(workloads[:limit]) + (
        f" and {len(workloads) - limit} more" if len(workloads) > limit else ""
    )
    return (
        f"{_workloads(len(workloads))} in namespaces without injection still "
        f"{'carries' if len(workloads) == 1 else 'carry'} a sidecar ({shown}); "
        "they keep it until they next restart, which the operator does not force"
    )


def _are(count: int) -> str:
    return "is" if count == 1 else "are"


def _workloads(count: int) -> str:
    return f"{count} workload{'s' if count != 1 else ''}"


def _opening(t: datetime) -> str:
    days = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    return f"{days[t.weekday()]} {t:%Y-%m-%d %H:%M} UTC"


class HeldCounts(Protocol):
    """What ``held_message`` reads (``reconcile.steps.Held``)."""

    @property
    def waiting(self) -> int: ...
    @property
    def excluded(self) -> int: ...
    @property
    def invalid(self) -> int: ...
    @property
    def next_opening(self) -> datetime | None: ...


def ingress_targeting_user_resources(found: Sequence[str], limit: int = 3) -> Problem:
    """The warning for user EnvoyFilters (``namespace/name``) that select the ingress gateway.

    One is named as the reference names it; of several, the first ``limit`` and how many more. The
    condition keeps the reason's default message, as in the reference.
    """
    if len(found) == 1:
        detail = f"user-created EnvoyFilter {found[0]} targeting Ingress Gateway found"
    else:
        listed = ", ".join(found[:limit])
        hidden = len(found) - limit
        more = f" and {hidden} more" if hidden > 0 else ""
        detail = f"user-created EnvoyFilters {listed}{more} targeting Ingress Gateway found"
    return INGRESS_TARGETING_USER_RESOURCE.problem(detail)


def targeting_detection_failed_message(cause: str) -> str:
    """The condition message when the EnvoyFilters could not be listed: the default one with the cause."""
    default = REASONS[Reason.INGRESS_TARGETING_USER_RESOURCE_DETECTION_FAILED].message
    return f"{default}: {cause}"


DESCRIPTIONS: Final[tuple[Description, ...]] = tuple(
    value for value in globals().values() if isinstance(value, Description)
)
"""Every fixed description, for checks over the whole catalogue."""
