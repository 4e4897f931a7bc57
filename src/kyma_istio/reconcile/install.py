"""The install half of a pass (spec sections 4, 5 and 7): version rule, finalizer, cluster facts, merge,
``istioctl install``, post-install steps and the module's own Istio resources.

``istioctl install`` runs when the merged IstioOperator differs from the one last applied (its hash is
kept in an annotation), when the installation does not verify, or on the periodic resync (drift repair,
as the reference does on every pass). A spec change therefore installs once, not twice (quirk 1).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from kyma_istio import __version__, pins
from kyma_istio.api import conditions as c
from kyma_istio.api import names
from kyma_istio.api.v1alpha2 import IstioSpec
from kyma_istio.k8s import errors, kinds
from kyma_istio.k8s.seam import PatchType
from kyma_istio.mesh import lastapplied, podversions, profile
from kyma_istio.mesh.merge import merge
from kyma_istio.mesh.versions import Verdict, decide_upgrade
from kyma_istio.reconcile import finalizer, managed
from kyma_istio.reconcile.context import CURRENT_STEP, Deps
from kyma_istio.reconcile.draft import Draft


def target_tag() -> str:
    return pins.ISTIO_TAG


def read_last_applied(cr: Mapping[str, Any]) -> lastapplied.LastApplied | None:
    """The last-applied annotation, None when absent; ValueError when it does not parse."""
    text = (cr.get("metadata", {}).get("annotations") or {}).get(names.LAST_APPLIED_ANNOTATION)
    return None if text is None else lastapplied.parse_last_applied(text)


def iop_hash(iop: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(iop, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]


async def write_last_applied(cr: dict[str, Any], spec: IstioSpec, hash_: str, deps: Deps) -> dict[str, Any]:
    """Record what was applied, last, so a failed pass never claims a version it did not reach."""
    meta = cr["metadata"]
    wanted = {
        names.LAST_APPLIED_ANNOTATION: lastapplied.render_last_applied(spec, target_tag()),
        names.IOP_HASH_ANNOTATION: hash_,
    }
    annotations = meta.get("annotations") or {}
    if all(annotations.get(k) == v for k, v in wanted.items()):
        return cr
    # Annotations merge key by key, so no optimistic lock is needed: only our two keys are written.
    patch = {"metadata": {"annotations": wanted}}
    return await deps.kube.patch(kinds.ISTIO, meta["name"], patch, namespace=meta.get("namespace"))


class Install:
    """Install or upgrade Istio for one CR; ``run`` returns the first problem, or None."""

    def __init__(
        self,
        cr: dict[str, Any],
        spec: IstioSpec,
        last: lastapplied.LastApplied | None,
        deps: Deps,
        draft: Draft,
        *,
        resync: bool,
        quiet: bool,
    ) -> None:
        self.cr, self.spec, self.last, self.deps, self.draft = cr, spec, last, deps, draft
        self.resync, self.quiet = resync, quiet
        self.iop: dict[str, Any] = {}
        self.iop_hash = ""
        self.provider = profile.CloudProvider.OTHER
        self.profile = profile.Profile.PRODUCTION
        self.partial = False
        """Set by the sidecar restarter when work remains for a later pass."""
        self.log = deps.log.getChild("install")

    async def run(self) -> c.Problem | None:
        steps = (
            self._version_rule,
            self._finalizer,
            self._cluster_facts,
            self._merge,
            self._install,
            self._warden_label,
            self._verify,
            self._module_labels,
            self._managed_resources,
        )
        for step in steps:
            CURRENT_STEP.set(step.__name__.strip("_"))
            problem = await step()
            if problem is not None:
                return problem
        return None

    async def _version_rule(self) -> c.Problem | None:
        if self.last is None:
            return None
        decision = decide_upgrade(self.last.istio_tag, target_tag())
        if decision.verdict is not Verdict.NOT_ALLOWED:
            return None
        path = f" To proceed: {decision.path}." if decision.path else ""
        await self.deps.events.post(
            self.cr, type_="Warning", reason="IstioVersionUpdateNotAllowed", message=decision.message + path
        )
        return c.VERSION_UPDATE_NOT_ALLOWED.problem(decision.message)

    async def _finalizer(self) -> c.Problem | None:
        try:
            self.cr = await finalizer.add(self.deps.kube, self.cr)
        except errors.ClusterError as err:
            return c.ADD_FINALIZER_FAILED.problem(str(err))
        return None

    async def _cluster_facts(self) -> c.Problem | None:
        try:
            nodes = [profile.node_facts(n) for n in await self.deps.kube.list_all(kinds.NODE)]
        except (errors.ClusterError, ValueError) as err:
            return c.CLUSTER_SIZE_FAILED.problem(str(err))
        self.flavour = profile.detect_flavour(nodes)
        self.profile = profile.choose_profile(nodes)
        self.provider = profile.detect_provider(nodes)
        return None

    async def _merge(self) -> c.Problem | None:
        try:
            self.iop = merge(
                self.spec,
                profile=self.profile,
                flavour=self.flavour,
                hub=self.deps.settings.hub,
                tag=target_tag(),
                experimental_enabled=self.deps.settings.experimental,
            )
        except (ValueError, KeyError, TypeError) as err:
            return c.MERGE_FAILED.problem(str(err))
        self.iop_hash = iop_hash(self.iop)
        return None

    async def _needs_install(self) -> bool:
        annotations = self.cr.get("metadata", {}).get("annotations") or {}
        if annotations.get(names.IOP_HASH_ANNOTATION) != self.iop_hash:
            return True
        if self.resync and self.deps.settings.reinstall_on_resync:
            return True
        return await self._version_error() is not None

    async def _install(self) -> c.Problem | None:
        if not await self._needs_install():
            self.log.debug("IstioOperator unchanged and installation verified; istioctl not run")
            return None
        await self.deps.events.post(
            self.cr,
            type_="Normal",
            reason="InstallStarted",
            message=f"Installing Istio {pins.ISTIO_VERSION} "
            f"({self.profile} profile, hub {self.deps.settings.hub})",
        )
        result = await self.deps.installer.install(self.iop)
        self.deps.observer.observe_install(result.duration_s, result.ok)
        if result.ok:
            await self.deps.events.post(
                self.cr,
                type_="Normal",
                reason="InstallSucceeded",
                message=f"Istio {pins.ISTIO_VERSION} installed in {result.duration_s:.1f}s",
            )
            return None
        await self.deps.events.post(self.cr, type_="Warning", reason="InstallFailed", message=result.summary)
        await managed.clean_webhook_conflicts(self.deps)
        return c.INSTALL_FAILED.problem(result.summary or None)

    async def _warden_label(self) -> c.Problem | None:
        kube = self.deps.kube
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

    async def _version_error(self) -> str | None:
        pods = await self.deps.kube.list_all(kinds.POD, namespace=names.ISTIO_NAMESPACE)
        return podversions.verify_pod_versions(pods, pins.ISTIO_VERSION)

    async def _verify(self) -> c.Problem | None:
        try:
            error = await self._version_error()
        except errors.ClusterError as err:
            error = str(err)
        if error is not None:
            return c.POD_VERSIONS_FAILED.problem(error)
        self.draft.set(c.Reason.ISTIO_INSTALL_SUCCEEDED)
        return None

    async def _module_labels(self) -> c.Problem | None:
        try:
            await managed.label_istio_resources(self.deps)
        except errors.ClusterError as err:
            return c.MANAGED_METADATA_FAILED.problem(str(err))
        return None

    async def _managed_resources(self) -> c.Problem | None:
        return await managed.reconcile_resources(self.deps, provider=str(self.provider), version=__version__)
