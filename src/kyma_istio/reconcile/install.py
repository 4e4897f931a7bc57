"""The install half of a pass (spec sections 4, 5 and 7): version rule, finalizer, cluster facts, merge,
``istioctl install``, post-install steps and the module's own Istio resources.

``istioctl install`` runs when the merged IstioOperator differs from the one last installed (its hash is
kept in an annotation written as soon as istioctl succeeded, read through the pass's ``Change``), when
the installation does not verify, or on the periodic resync (drift repair, as the reference does on
every pass). A spec change therefore installs once, not twice (quirk 1), also when the pass that
installed ends partial or in a warning and later passes continue it.
The result is an ``Installed`` value or the first ``Problem``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from kyma_istio import __version__
from kyma_istio.api import conditions as c
from kyma_istio.api import names
from kyma_istio.api.events import EventReason
from kyma_istio.api.v1alpha2 import IstioSpec
from kyma_istio.k8s import errors, kinds
from kyma_istio.k8s.seam import PatchType, announce
from kyma_istio.mesh import lastapplied, podversions
from kyma_istio.mesh.change import Change
from kyma_istio.mesh.desired import ClusterFacts, cluster_facts, desired_istio
from kyma_istio.mesh.versions import Verdict, decide_upgrade
from kyma_istio.reconcile import finalizer, managed
from kyma_istio.reconcile.context import CURRENT_STEP, Deps
from kyma_istio.reconcile.steps import Installed
from kyma_istio.reconcile.takeover import resolve_hub


async def record_annotations(
    cr: dict[str, Any], wanted: Mapping[str, str | None], deps: Deps
) -> dict[str, Any]:
    """Set our annotations on the CR (``None`` removes one); no write when they are so already.
    Annotations merge key by key, so no optimistic lock is needed: only these keys are written."""
    meta = cr["metadata"]
    annotations = meta.get("annotations") or {}
    if all(annotations.get(k) == v for k, v in wanted.items()):
        return cr
    patch = {"metadata": {"annotations": wanted}}
    return await deps.kube.patch(kinds.ISTIO, meta["name"], patch, namespace=meta.get("namespace"))


async def write_last_applied(cr: dict[str, Any], spec: IstioSpec, hash_: str, deps: Deps) -> dict[str, Any]:
    """Record what was applied, last, so a failed pass never claims a version it did not reach."""
    wanted = {
        names.LAST_APPLIED_ANNOTATION: lastapplied.render_last_applied(spec, deps.settings.line.tag),
        names.IOP_HASH_ANNOTATION: hash_,
    }
    return await record_annotations(cr, wanted, deps)


@dataclass(frozen=True)
class _Work:
    """What the steps after the merge read."""

    installed: Installed
    cluster: ClusterFacts
    change: Change
    deps: Deps
    resync: bool


async def install(
    cr: dict[str, Any], spec: IstioSpec, change: Change, deps: Deps, *, resync: bool
) -> Installed | c.Problem:
    """Install or upgrade Istio for ``cr``; the installation, or the first problem."""
    CURRENT_STEP.set("version_rule")
    problem = await _version_rule(cr, change, deps)
    if problem is not None:
        return problem
    CURRENT_STEP.set("finalizer")
    try:
        cr = await finalizer.add(deps.kube, cr)
    except errors.ClusterError as err:
        return c.ADD_FINALIZER_FAILED.problem(str(err))
    CURRENT_STEP.set("cluster_facts")
    # The reference evaluates the flavour first, so a failed node listing reads as the flavour's failure;
    # a malformed capacity is the size's.
    try:
        nodes = await deps.kube.list_all(kinds.NODE)
    except errors.ClusterError as err:
        return c.CLUSTER_FLAVOUR_FAILED.problem(str(err))
    try:
        cluster = cluster_facts(nodes)
    except ValueError as err:
        return c.CLUSTER_SIZE_FAILED.problem(str(err))
    CURRENT_STEP.set("merge")
    settings = deps.settings
    try:
        hub = await resolve_hub(deps.kube, settings.hub)
    except errors.ClusterError as err:
        return c.INSTALL_CHECK_FAILED.problem(f"cannot read the installed istiod: {err}")
    try:
        wanted = desired_istio(spec, cluster, hub=hub, experimental=settings.experimental, line=settings.line)
    except (ValueError, KeyError, TypeError) as err:
        return c.MERGE_FAILED.problem(str(err))
    installed = Installed(
        cr, spec, change.last, wanted.iop, wanted.iop_hash, cluster.provider, cluster.flavour
    )
    work = _Work(installed, cluster, change, deps, resync)
    for step in _AFTER_MERGE:
        CURRENT_STEP.set(step.__name__.strip("_"))
        problem = await step(work)
        if problem is not None:
            return problem
    return installed


async def _version_rule(cr: dict[str, Any], change: Change, deps: Deps) -> c.Problem | None:
    if change.last is None:
        return None
    decision = decide_upgrade(change.last.istio_tag, deps.settings.line.tag)
    if decision.verdict is not Verdict.NOT_ALLOWED:
        return None
    path = f" To proceed: {decision.path}." if decision.path else ""
    await announce(deps.events, cr, EventReason.VERSION_UPDATE_NOT_ALLOWED, decision.message + path)
    return c.VERSION_UPDATE_NOT_ALLOWED.problem(decision.message)


async def _needs_install(work: _Work) -> bool:
    if work.change.iop_changed(work.installed.iop_hash):
        return True
    if work.resync and work.deps.settings.reinstall_on_resync:
        return True
    return await _version_error(work.deps) is not None


async def _install(work: _Work) -> c.Problem | None:
    deps, cr = work.deps, work.installed.cr
    if not await _needs_install(work):
        deps.log.getChild("install").debug(
            "IstioOperator unchanged and installation verified; istioctl not run"
        )
        return None
    hub = work.installed.iop["spec"]["hub"]
    started = (
        f"Installing Istio {work.deps.settings.line.version} ({work.cluster.profile} profile, hub {hub})"
    )
    await announce(deps.events, cr, EventReason.INSTALL_STARTED, started)
    result = await deps.installer.install(work.installed.iop)
    deps.observer.observe_install(result.duration_s, result.ok)
    if result.ok:
        done = f"Istio {work.deps.settings.line.version} installed in {result.duration_s:.1f}s"
        await announce(deps.events, cr, EventReason.INSTALL_SUCCEEDED, done)
        # Recorded now, not at Ready: a pass that continues restarts or retries a warning skips istioctl.
        try:
            await record_annotations(cr, {names.IOP_HASH_ANNOTATION: work.installed.iop_hash}, deps)
        except errors.ClusterError as err:
            return c.LAST_APPLIED_UPDATE_FAILED.problem(str(err))
        return None
    await announce(deps.events, cr, EventReason.INSTALL_FAILED, result.summary)
    await managed.clean_webhook_conflicts(deps)
    return c.INSTALL_FAILED.problem(result.summary or None)


async def _warden_label(work: _Work) -> c.Problem | None:
    kube = work.deps.kube
    try:
        ns = await kube.get(kinds.NAMESPACE, names.ISTIO_NAMESPACE)
        meta = (ns or {}).get("metadata", {})
        if (meta.get("labels") or {}).get(names.WARDEN_LABEL) == names.WARDEN_LABEL_VALUE and (
            meta.get("annotations") or {}
        ).get(names.DISCLAIMER_ANNOTATION) == names.DISCLAIMER:
            return None
        patch = {
            "metadata": {
                "labels": {names.WARDEN_LABEL: names.WARDEN_LABEL_VALUE},
                "annotations": {names.DISCLAIMER_ANNOTATION: names.DISCLAIMER},
            }
        }
        await kube.patch(kinds.NAMESPACE, names.ISTIO_NAMESPACE, patch, patch_type=PatchType.MERGE)
    except errors.ClusterError as err:
        return c.WARDEN_LABEL_FAILED.problem(str(err))
    return None


async def _version_error(deps: Deps) -> str | None:
    pods = await deps.kube.list_all(kinds.POD, namespace=names.ISTIO_NAMESPACE)
    return podversions.verify_pod_versions(pods, deps.settings.line.version)


async def _verify(work: _Work) -> c.Problem | None:
    try:
        error = await _version_error(work.deps)
    except errors.ClusterError as err:
        error = str(err)
    return None if error is None else c.POD_VERSIONS_FAILED.problem(error)


async def _module_labels(work: _Work) -> c.Problem | None:
    try:
        await managed.label_istio_resources(work.deps)
    except errors.ClusterError as err:
        return c.MANAGED_METADATA_FAILED.problem(str(err))
    return None


async def _managed_resources(work: _Work) -> c.Problem | None:
    provider = str(work.installed.provider)
    return await managed.reconcile_resources(work.deps, provider=provider, version=__version__)


_AFTER_MERGE: tuple[Callable[[_Work], Awaitable[c.Problem | None]], ...] = (
    _install,
    _warden_label,
    _verify,
    _module_labels,
    _managed_resources,
)
