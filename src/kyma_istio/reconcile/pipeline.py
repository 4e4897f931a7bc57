"""One reconcile pass, in the reference's order (spec section 9), returning a ``PassResult``.

Order: read the CR; mark Ready unknown; validate; namespace rule; oldest-CR rule; Processing or
Deleting; install (or uninstall); managed Istio resources; restarters (ingress gateway, then sidecars);
last-applied annotation; user EnvoyFilters on the ingress gateway (a Warning); Ready. What changed since
the last applied configuration is asked once (``mesh.change.Change``) and handed to the steps that care.
Each step returns a value (``steps``) or a ``Problem``; the first problem ends the pass through
``_finish``, which records it, writes the status once and says how to requeue. Only this module sets
conditions.

Differences from the reference, on purpose (its section 15): one install per spec change (quirk 1), a
deterministic oldest-CR tie-break (quirk 9), no later steps while another party's finalizer holds a
deleted CR (quirk 10), warnings retried on a short capped backoff instead of the reference's growing one
(quirk 11, ADR 13), the last-applied annotation read only after the delete branch (an unreadable one
never blocks deletion), a pass with nothing to do writes nothing (``Processing`` is not flashed on
a quiet periodic pass, nor on the retry of a warning about user EnvoyFilters), a missing oldest CR is
retried, and user EnvoyFilters on the ingress gateway never fail a pass: a failed listing leaves the
condition Unknown, and a pass that finds some records the last-applied configuration (both unlike the
reference).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pydantic

from kyma_istio import lines
from kyma_istio.api import conditions as c
from kyma_istio.api import names
from kyma_istio.api.events import EventReason
from kyma_istio.api.v1alpha2 import IstioSpec, State
from kyma_istio.api.validation import describe_errors
from kyma_istio.k8s import errors, kinds
from kyma_istio.k8s.seam import announce
from kyma_istio.lines import Line
from kyma_istio.mesh import climb
from kyma_istio.mesh.change import Change, what_changed
from kyma_istio.reconcile import finalizer, install, restarters, singleton, uninstall, user_resources
from kyma_istio.reconcile.context import CURRENT_CR, CURRENT_STEP, Deps
from kyma_istio.reconcile.draft import Draft, changed
from kyma_istio.reconcile.steps import Condition, Held
from kyma_istio.restart.podview import reduce_pod

_AFTER_OPENING_S = 1.0
"""The next pass starts this long after a window opens, so the window is open when it plans."""
_PODS_NAMED = 5
"""Pods a climb's waiting message names before it says "..."."""

WARNING_REQUEUE_S = 60.0
"""The longest wait between retries of a warning (ADR 13). Most warnings clear by a user action that
sends no event to us (deleting a blocking VirtualService, restarting a pod by hand), so the queue retries
them after 5 s, doubling up to this cap: a cleared warning is noticed within a minute."""


@dataclass(frozen=True)
class PassResult:
    """How a pass ended and when to look again."""

    state: State | None
    """The state written, or None when the CR is gone."""
    requeue_after: float | None
    """Seconds until the next pass; None for "only on the next change"."""
    failed: bool = False
    """True for errors: the queue retries with exponential backoff instead of ``requeue_after``."""
    warning: bool = False
    """True for warnings that a retry may clear: the queue retries on its short warning backoff, capped
    at ``requeue_after``."""
    description: str = ""


class Pass:
    """The state of one pass over one CR: the CR as last read or written, and the status draft.

    Steps get what they need as arguments and return values (``Installed``, ``RestartResult``,
    ``Uninstalled``) or a ``Problem``; only this class sets conditions in the draft.
    """

    def __init__(self, cr: dict[str, Any], deps: Deps, *, resync: bool) -> None:
        self.cr = cr
        self.deps = deps
        self.resync = resync
        self.meta: dict[str, Any] = cr.get("metadata", {})
        self.live_status: dict[str, Any] | None = cr.get("status")
        self.draft = Draft(self.live_status, deps.clock())
        self.log = deps.log.getChild("pass")
        self.hop: climb.Hop | None = None
        """The climb hop this pass performs, if any (``_climb``)."""
        self.catch_up: climb.Hop | None = None
        """The hop this pass prepares by restarting the proxies behind the installed release first."""

    @property
    def key(self) -> str:
        return f"{self.meta.get('namespace')}/{self.meta.get('name')}"

    async def run(self) -> PassResult:
        self.draft.set(c.Reason.RECONCILE_UNKNOWN)
        try:
            spec = IstioSpec.model_validate(self.cr.get("spec") or {})
        except pydantic.ValidationError as err:
            return await self._finish(c.MERGE_FAILED.problem("; ".join(describe_errors(err))))
        problem = _duplicate_authorizer(spec)
        if problem is None and self.meta.get("namespace") != names.OPERATOR_NAMESPACE:
            problem = c.NOT_IN_OPERATOR_NAMESPACE.problem()
        if problem is None:
            problem = await self._oldest_rule()
        if problem is not None:
            return await self._finish(problem)

        if self.meta.get("deletionTimestamp"):
            # Before the last-applied annotation is read: deleting never depends on it.
            self.draft.enter(State.DELETING, c.DELETING)
            await self._write_status()
            return await self._delete()
        try:
            change = what_changed(self.cr, spec, tag=self.deps.settings.line.tag)
            line = self.deps.settings.line.keeping(change.last.istio_tag if change.last else None)
            if line is not self.deps.settings.line:
                self._keep_installed_patch(line)
                change = what_changed(self.cr, spec, tag=line.tag)
            elif change.last is not None:
                problem = await self._climb(change.last.istio_tag)
                if problem is not None:
                    return await self._finish(problem)
                if self.hop is not None or self.catch_up is not None:
                    change = what_changed(self.cr, spec, tag=self.deps.settings.line.tag)
        except ValueError as err:
            return await self._finish(c.INSTALL_CHECK_FAILED.problem(str(err)))
        if not self._is_quiet(change):
            self.draft.enter(State.PROCESSING, self._reconciling())
            await self._write_status()
        return await self._install(spec, change)

    def _reconciling(self, detail: str | None = None) -> str:
        """The Processing description: Kyma's text, then the climb hop and what the pass waits for."""
        current = self.hop or self.catch_up
        parts = [part for part in (current.describe() if current else None, detail) if part]
        return f"{c.RECONCILING}: {'; '.join(parts)}" if parts else c.RECONCILING

    def _keep_installed_patch(self, line: Line) -> None:
        """For the rest of this pass the target is the later patch found installed (``Line.keeping``)."""
        self.log.info(
            "Istio %s is installed, a later patch of the %s line: keeping its images, installing with the "
            "istioctl of %s",
            line.version,
            line.minor,
            line.kept_from,
        )
        settings = dataclasses.replace(self.deps.settings, line=line)
        self.deps = dataclasses.replace(self.deps, settings=settings)

    async def _climb(self, installed_tag: str) -> c.Problem | None:
        """Make this pass one hop of a climb when the installation is two or more minors below the line
        and the climb is allowed (``mesh.climb``); a problem when it is asked for and cannot go on."""
        annotations = self.meta.get("annotations") or {}
        started = annotations.get(names.CLIMB_FROM_ANNOTATION)
        hop = climb.next_hop(installed_tag, self.deps.settings.line, started_from=started)
        if hop is None:
            if started is not None:  # a climb that ended (or a record left by hand): nothing to number
                try:
                    self.cr = await install.record_annotations(
                        self.cr, {names.CLIMB_FROM_ANNOTATION: None}, self.deps
                    )
                except errors.ClusterError as err:
                    return c.INSTALL_CHECK_FAILED.problem(str(err))
                self.meta = self.cr.get("metadata", {})
            return None
        if not hop.last:  # the last hop is one minor up, which the version rule allows anyway
            consent = climb.consent(annotations, self.deps.settings.allow_climb)
            if consent.error is not None:
                events = self.deps.events
                await announce(events, self.cr, EventReason.VERSION_UPDATE_NOT_ALLOWED, consent.error)
                return c.VERSION_UPDATE_NOT_ALLOWED.problem(consent.error)
            if not consent.allowed:
                return None  # the version rule refuses; its message names the climb
        try:
            behind = await self._proxies_behind(installed_tag)
            if started != hop.started_from:
                self.cr = await install.record_annotations(
                    self.cr, {names.CLIMB_FROM_ANNOTATION: hop.started_from}, self.deps
                )
                self.meta = self.cr.get("metadata", {})
        except errors.ClusterError as err:
            return c.INSTALL_CHECK_FAILED.problem(f"{hop.describe()}: {err}")
        if behind:
            installed_line = lines.at(installed_tag)
            if not any(line.minor == installed_line.minor for line in lines.LINES):
                # No line of this build installs that minor (1.22 below the oldest line): its restarts
                # cannot be run here without reinstalling it with another minor's istioctl.
                return await self._behind_problem(hop, installed_tag, behind)
            # First a catch-up pass on the installed release: it restarts what is behind, within the
            # owners' windows, and the hop follows once nothing is (``_end_catch_up``).
            self.catch_up = hop
            self.log.info(
                "%s: %d proxies behind the installed %s first", hop.describe(), len(behind), installed_tag
            )
            settings = dataclasses.replace(self.deps.settings, line=installed_line, settle_restarts=True)
            self.deps = dataclasses.replace(self.deps, settings=settings)
            return None
        self.hop = hop
        self.log.info("%s", hop.describe())
        # A hop ends only once its last wave's rollouts are healthy too: the next hop's skew guard must
        # not find the old pods of an owner still rolling.
        settings = dataclasses.replace(self.deps.settings, line=hop.line, settle_restarts=True)
        self.deps = dataclasses.replace(self.deps, settings=settings)
        if hop.describe() not in (self.live_status or {}).get("description", ""):  # once per hop
            await announce(self.deps.events, self.cr, EventReason.CLIMB_HOP_STARTED, hop.describe())
        return None

    async def _behind_problem(self, hop: climb.Hop, installed_tag: str, behind: list[str]) -> c.Problem:
        """The skew guard's Warning: these pods would end two minors behind istiod after ``hop``."""
        shown = ", ".join(behind[:_PODS_NAMED]) + (", ..." if len(behind) > _PODS_NAMED else "")
        message = (
            f"{hop.describe()} waits: {len(behind)} pods run a proxy older than the installed "
            f"{installed_tag} ({shown}); this hop would leave them two minors behind istiod, past Istio's "
            "supported skew: restart them (or lift their exclusion or restart opt-out) and the climb goes on"
        )
        await announce(self.deps.events, self.cr, EventReason.VERSION_UPDATE_NOT_ALLOWED, message)
        return c.VERSION_UPDATE_NOT_ALLOWED.problem(message)

    async def _end_catch_up(self, hop: climb.Hop, held: Held) -> PassResult:
        """After a catch-up pass: wait for the owners' windows, warn about what can never catch up, or
        let the hop follow."""
        installed = self.deps.settings.line.tag
        if held.waiting:
            waiting = f"waits for maintenance windows before it starts: {c.held_message(held)}"
            self.draft.set(c.Reason.RECONCILE_REQUEUED, f"{hop.describe()} {waiting}")
            self.draft.enter(State.PROCESSING, self._reconciling(waiting))
            await self._write_status()
            return PassResult(
                State.PROCESSING, self._until_window(held, self.deps.settings.partial_requeue_s)
            )
        try:
            behind = await self._proxies_behind(installed)
        except errors.ClusterError as err:
            return await self._finish(c.INSTALL_CHECK_FAILED.problem(f"{hop.describe()}: {err}"))
        if behind:
            return await self._finish(await self._behind_problem(hop, installed, behind))
        caught_up = "the proxies behind the installed release were restarted; the hop follows"
        self.draft.set(c.Reason.RECONCILE_REQUEUED, f"{hop.describe()}: {caught_up}")
        self.draft.enter(State.PROCESSING, self._reconciling(caught_up))
        await self._write_status()
        return PassResult(State.PROCESSING, self.deps.settings.chunk_requeue_s)

    async def _proxies_behind(self, installed_tag: str) -> list[str]:
        """Pods whose ``istio-proxy`` (either shape) runs a minor below ``installed_tag``."""
        images: dict[str, str] = {}
        async for pod in self.deps.kube.stream(kinds.POD, fields={"status.phase": "Running"}, chunk_size=500):
            view = reduce_pod(pod)
            if view.terminating:
                continue  # an old pod on its way out: its replacement is what runs
            for proxy in view.proxies[:1]:
                images[f"{view.namespace}/{view.name}"] = proxy.image
        return climb.proxies_behind(installed_tag, images)

    # --- steps ---------------------------------------------------------------------------------------

    async def _oldest_rule(self) -> c.Problem | None:
        try:
            crs = await self.deps.kube.list_all(kinds.ISTIO, namespace=names.OPERATOR_NAMESPACE)
        except errors.ClusterError as err:
            return c.LIST_FAILED.problem(str(err))
        winner = singleton.oldest(crs)
        if winner is None:
            # The list holds no CR, not even the one just read: it was deleted in between. The reference
            # has this reason for a missing oldest CR; we retry on the warning backoff instead of stopping,
            # and the retry finds the CR gone (its status write here is quietly skipped) or listed again.
            return c.OLDEST_NOT_FOUND.problem()
        if winner.get("metadata", {}).get("uid") != self.meta.get("uid"):
            return c.not_oldest(str(winner["metadata"]["name"]))
        return None

    def _is_quiet(self, change: Change) -> bool:
        """Nothing to report: the CR is Ready (or warns only about user EnvoyFilters on the ingress
        gateway, re-checked on every retry) and its spec is the one last applied."""
        live_state = (self.live_status or {}).get("state")
        settled = live_state == State.READY.value or (
            live_state == State.WARNING.value and self._warns_only_of_user_filters()
        )
        return settled and not change.spec_changed and finalizer.has(self.cr)

    def _warns_only_of_user_filters(self) -> bool:
        """The live Warning is the user-EnvoyFilter one: ``Ready`` holds and the filters were found."""
        live = Draft(self.live_status, self.draft.now)
        ready = live.condition(c.ConditionType.READY)
        targeting = live.condition(c.ConditionType.INGRESS_TARGETING_USER_RESOURCE_FOUND)
        return (
            ready is not None
            and ready.status == "True"
            and targeting is not None
            and targeting.status == "True"
            and live.description.startswith(c.INGRESS_TARGETING_USER_RESOURCE.text)
        )

    async def _install(self, spec: IstioSpec, change: Change) -> PassResult:
        installed = await install.install(self.cr, spec, change, self.deps, resync=self.resync)
        if isinstance(installed, c.Problem):
            return await self._finish(installed)
        self.cr = installed.cr
        self.draft.set(c.Reason.ISTIO_INSTALL_SUCCEEDED)
        restarted = await restarters.run(installed, change, self.deps)
        self._set_all(restarted.conditions)
        if not restarted.held and self.draft.condition(c.ConditionType.SIDECAR_RESTARTS_HELD) is not None:
            self.draft.set(c.Reason.SIDECAR_RESTARTS_NOT_HELD)
        self._report_uninjected(restarted.uninjected)
        if restarted.problem is not None:
            return await self._finish(restarted.problem, conditions_set=True)
        if restarted.partial:
            self.draft.set(c.Reason.RECONCILE_REQUEUED)
            self.draft.enter(State.PROCESSING, self._reconciling(restarted.waiting or None))
            await self._write_status()
            settings = self.deps.settings
            requeue = settings.chunk_requeue_s if restarted.continue_now else settings.partial_requeue_s
            return PassResult(State.PROCESSING, self._until_window(restarted.held, requeue))
        try:
            self.cr = await install.write_last_applied(self.cr, spec, installed.iop_hash, self.deps)
        except errors.ClusterError as err:
            return await self._finish(c.LAST_APPLIED_UPDATE_FAILED.problem(str(err)))
        if self.catch_up is not None:
            return await self._end_catch_up(self.catch_up, restarted.held)
        if self.hop is not None:
            ended = await self._end_hop(self.hop)
            if ended is not None:
                return ended
        self.draft.set(c.Reason.RECONCILE_SUCCEEDED)
        problems = [await self._user_resources()]
        if spec.experimental is not None and not self.deps.settings.experimental:
            problems.append(c.EXPERIMENTAL_NOT_SUPPORTED.problem())
        problem = c.most_severe([p for p in problems if p is not None])
        if problem is not None:
            # Ready stays True: Istio is installed. The user-EnvoyFilter warning's own condition is set
            # already and the experimental one has none, so record_problem must not mark Ready failed.
            return await self._finish(problem, conditions_set=True)
        # Restarts the owners' windows and exclusions hold back are their choice: Ready, as the reference
        # would be, with the description saying what waits and the next pass when a window opens.
        description = c.held_message(restarted.held) if restarted.held else ""
        self.draft.enter(State.READY, description)
        await self._write_status()
        interval = self.deps.settings.reconciliation_interval_s
        return PassResult(State.READY, self._until_window(restarted.held, interval), description=description)

    def _report_uninjected(self, workloads: tuple[str, ...]) -> None:
        """Say which workloads keep a sidecar where injection is off; written only once there were any,
        so a CR that never had them shows Kyma's conditions alone."""
        if workloads:
            self.draft.set(c.Reason.SIDECARS_WITHOUT_INJECTION_FOUND, c.uninjected_message(workloads))
        elif self.draft.condition(c.ConditionType.SIDECARS_WITHOUT_INJECTION) is not None:
            self.draft.set(c.Reason.SIDECARS_WITHOUT_INJECTION_NOT_FOUND)

    def _until_window(self, held: Held, requeue: float) -> float:
        """``requeue``, or sooner: a second after the next maintenance window opens."""
        if held.next_opening is None:
            return requeue
        until = (held.next_opening - self.deps.clock()).total_seconds() + _AFTER_OPENING_S
        return max(_AFTER_OPENING_S, min(requeue, until))

    async def _end_hop(self, hop: climb.Hop) -> PassResult | None:
        """After a hop that ended healthy: the next hop starts on a prompt requeue, or, after the last,
        the climb's record goes and the pass goes on to Ready. ``None`` to go on."""
        await announce(self.deps.events, self.cr, EventReason.CLIMB_HOP_SUCCEEDED, f"{hop.describe()} done")
        if hop.last:
            try:
                self.cr = await install.record_annotations(
                    self.cr, {names.CLIMB_FROM_ANNOTATION: None}, self.deps
                )
            except errors.ClusterError as err:
                return await self._finish(c.LAST_APPLIED_UPDATE_FAILED.problem(str(err)))
            return None
        self.draft.set(c.Reason.RECONCILE_REQUEUED, f"{hop.describe()} done; the next hop follows")
        self.draft.enter(State.PROCESSING, self._reconciling("done; the next hop follows"))
        await self._write_status()
        return PassResult(State.PROCESSING, self.deps.settings.chunk_requeue_s)

    async def _user_resources(self) -> c.Problem | None:
        """Set ``IngressTargetingUserResourceFound``; the Warning when user EnvoyFilters target the
        ingress gateway, announced by an Event when it is new (a retry that finds the same is silent)."""
        detected = await user_resources.detect(self.deps)
        self._set_all((detected.condition,))
        if detected.problem is None:
            return None
        if (self.live_status or {}).get("description") != detected.problem.description:
            await user_resources.announce_found(self.cr, detected, self.deps)
        return detected.problem

    async def _delete(self) -> PassResult:
        uninstalled = await uninstall.uninstall(self.cr, self.deps)
        if isinstance(uninstalled, c.Problem):
            return await self._finish(uninstalled)
        if uninstalled.cr is None:
            return PassResult(None, None)
        self.cr = uninstalled.cr
        self._set_all(uninstalled.conditions)
        # Another party's finalizer still holds the CR (or ours was never there): nothing of ours is left
        # to do until that party lets go; the reference went on into later steps here (quirk 10).
        await self._write_status(quietly_missing=True)
        return PassResult(State.DELETING, None)

    # --- status --------------------------------------------------------------------------------------

    def _set_all(self, conditions: Iterable[Condition]) -> None:
        for reason, message in conditions:
            self.draft.set(reason, message)

    async def _finish(self, problem: c.Problem, *, conditions_set: bool = False) -> PassResult:
        """End the pass in the problem's state; ``conditions_set`` when its step's conditions are in
        the draft already (the restarters'), so only state and description follow from it."""
        current = self.hop or self.catch_up
        if current is not None and current.describe() not in problem.description:
            described = f"{problem.description} ({current.describe()})"
            problem = dataclasses.replace(problem, description=described)
        if conditions_set:
            self.draft.enter(problem.level.state, problem.description)
        else:
            self.draft.record(problem)
        await self._write_status(quietly_missing=True)
        if problem.level is c.Level.WARNING:
            if problem.requeue is c.Requeue.NEVER:
                return PassResult(self.draft.state, None, description=problem.description)
            return PassResult(
                self.draft.state, WARNING_REQUEUE_S, warning=True, description=problem.description
            )
        never = problem.requeue is c.Requeue.NEVER
        return PassResult(self.draft.state, None, failed=not never, description=problem.description)

    async def _write_status(self, *, quietly_missing: bool = False) -> None:
        """Persist the draft if it differs from what the API server holds; post an Event on a new state."""
        rendered = self.draft.render()
        if not changed(self.live_status, rendered):
            return
        self.draft.persisted(rendered)
        previous_state = (self.live_status or {}).get("state")
        try:
            updated = await self.deps.kube.patch(
                kinds.ISTIO,
                self.meta["name"],
                {"status": rendered},
                namespace=self.meta.get("namespace"),
                status=True,
            )
        except errors.NotFound:
            if quietly_missing:
                return
            raise
        self.live_status = updated.get("status") or rendered
        version = updated.get("metadata", {}).get("resourceVersion")
        self.cr = {**self.cr, "metadata": {**self.cr["metadata"], "resourceVersion": version}}
        if previous_state != rendered["state"]:
            await self._post_state_event(previous_state, rendered)

    async def _post_state_event(self, previous: str | None, rendered: Mapping[str, Any]) -> None:
        state = State(rendered["state"])
        message = f"State {previous or 'none'} -> {state.value}"
        if rendered.get("description"):
            message += f": {rendered['description']}"
        await announce(self.deps.events, self.cr, EventReason.entering(state), message)


def _duplicate_authorizer(spec: IstioSpec) -> c.Problem | None:
    seen: set[str] = set()
    for authorizer in (spec.config.authorizers if spec.config else None) or []:
        if authorizer.name in seen:
            return c.duplicated_authorizer(authorizer.name)
        seen.add(authorizer.name)
    return None


async def reconcile(namespace: str, name: str, deps: Deps, *, resync: bool = False) -> PassResult:
    """Run one pass over the CR ``namespace/name``."""
    CURRENT_CR.set(f"{namespace}/{name}")
    CURRENT_STEP.set("read")
    cr = await deps.kube.get(kinds.ISTIO, name, namespace)
    if cr is None:
        return PassResult(None, None)
    return await Pass(cr, deps, resync=resync).run()
