"""Real upgrades and takeover on the local cluster, from installations made by istioctl itself.

The previous line's cluster is built as a Kyma release on it leaves it: Istio 1.28.3 installed by that
line's istioctl with Kyma's IstioOperator from Kyma's registry, the CR carrying the last-applied
annotation at 1.28.3, and Deployments in an injection-enabled namespace whose pods got the 1.28.3 sidecar
from Istio's own injector (the session's real istiod runs the installed release's pilot-discovery). The
operator, on the default line (1.29), then upgrades it (one pass driven directly, or the real process
killed in the middle), refuses versions the rule forbids without touching ``istio-system``, and takes
over a Kyma 1.27 installation (1.29.1) and a Kyma 1.10 one (1.23.2, by an operator on the 1.23 line)
without restarting anything.

Every test starts from a purged cluster: the tests of other modules leave Istio installed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from istio_fixtures import (
    NS,
    crd_and_namespace,
    drop_all_crs,
    istio_cr,
    make_deps,
    no_istio_left,
    remove_istio_system,
)
from lightkube import Client
from lightkube.resources.apps_v1 import DaemonSet, Deployment, ReplicaSet
from lightkube.resources.autoscaling_v2 import HorizontalPodAutoscaler
from lightkube.resources.core_v1 import ConfigMap, Event, Namespace, Pod, Secret, Service, ServiceAccount
from lightkube.resources.policy_v1 import PodDisruptionBudget
from lightkube.resources.rbac_authorization_v1 import Role, RoleBinding
from operator_process import OperatorProcess, operator
from rich.console import Console
from workloads import pause_deployment

from kyma_istio import lines, pins
from kyma_istio.api import names
from kyma_istio.api.v1alpha2 import IstioSpec
from kyma_istio.cli.diff import EXIT_SAME, diff_command
from kyma_istio.cli.plan_restarts import plan_restarts_command
from kyma_istio.cluster.kinds import resource
from kyma_istio.devenv import tools
from kyma_istio.devenv.istiod import Istiod
from kyma_istio.installer import istioctl
from kyma_istio.k8s import kinds
from kyma_istio.lines import DEFAULT as DEFAULT_LINE
from kyma_istio.mesh.desired import cluster_facts, desired_istio
from kyma_istio.mesh.lastapplied import render_last_applied
from kyma_istio.reconcile import managed, pipeline
from kyma_istio.reconcile.context import Deps, Settings
from kyma_istio.restart import policy

pytestmark = pytest.mark.integration

__all__ = ["crd_and_namespace", "no_istio_left", "operator"]  # fixtures used by name

PREVIOUS_LINE = lines.LINES[lines.LINES.index(DEFAULT_LINE) - 1]
"""The line before the default one: the real upgrade starts there (``testenv/build`` builds it)."""
PREVIOUS_TAG = PREVIOUS_LINE.tag
PREVIOUS_ISTIOCTL = PREVIOUS_LINE.istioctl
HUB = pins.KYMA_HUB
"""The registry the Kyma Istio module installs from, which a takeover must keep."""
WORKLOADS = ("orders", "payments")
REPLICAS = 2
LOG = logging.getLogger("tests.upgrade")
ISTIO = resource(kinds.ISTIO)
WaitFor = Callable[..., Any]

LEADER_ANNOTATION = "control-plane.alpha.kubernetes.io/leader"
ISTIO_SYSTEM_KINDS: tuple[Any, ...] = (
    ConfigMap,
    Deployment,
    DaemonSet,
    HorizontalPodAutoscaler,
    Pod,
    PodDisruptionBudget,
    Role,
    RoleBinding,
    Secret,
    Service,
    ServiceAccount,
)


# --- set-up ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def _no_istio_left(no_istio_left: None) -> None:
    """Leave no Istio behind: these tests install from Kyma's registry and at other lines, which later
    modules would take over or refuse (``istio_fixtures.no_istio_left``)."""


@pytest.fixture
async def deps(kubeconfig: Path, crd_and_namespace: None) -> AsyncIterator[Deps]:
    """Reconciler dependencies with no hub configured (the takeover rule decides)."""
    made = make_deps(kubeconfig)
    assert made.settings.hub is None
    yield made
    for cr in await made.kube.list_all(kinds.ISTIO, namespace=NS):
        name = cr["metadata"]["name"]
        await made.kube.patch(kinds.ISTIO, name, {"metadata": {"finalizers": None}}, namespace=NS)
        await made.kube.delete(kinds.ISTIO, name, namespace=NS)
    await made.kube.close()


def _istioctl(kubeconfig: Path, binary: str) -> istioctl.Istioctl:
    return istioctl.Istioctl(tools.find_tool(binary), kubeconfig=kubeconfig, log=LOG)


async def _istio_by_istioctl(
    deps: Deps, client: Client, kubeconfig: Path, *, binary: str, tag: str, spec: IstioSpec | None = None
) -> None:
    """A purged cluster, then Kyma's IstioOperator (the CR's ``spec``, empty by default, Kyma hub, ``tag``)
    installed by ``binary`` and module-labelled, as the Kyma module leaves it."""
    purged = await _istioctl(kubeconfig, "istioctl").uninstall_purge()
    assert purged.ok, purged.summary
    remove_istio_system(client)
    cluster = cluster_facts(await deps.kube.list_all(kinds.NODE))
    iop = desired_istio(spec or IstioSpec(), cluster, hub=HUB, experimental=False, line=lines.at(tag)).iop
    installed = await _istioctl(kubeconfig, binary).install(iop, readiness_timeout_s=120)
    assert installed.ok, installed.summary
    # What the Kyma module does after every install (spec 5.9): the module label on istioctl's objects,
    # the pod templates of Deployments and DaemonSets included.
    await managed.label_istio_resources(deps)
    assert _image(client, Deployment, "istiod") == f"{HUB}/pilot:{tag}"


def _kyma_cr(tag: str) -> dict[str, Any]:
    """The CR as the Kyma module leaves it: its finalizer and last-applied annotation at ``tag``."""
    annotations = {names.LAST_APPLIED_ANNOTATION: render_last_applied(IstioSpec(), tag)}
    return istio_cr("default", {}, annotations=annotations, finalizers=[names.FINALIZER])


async def _previous_release(deps: Deps, client: Client, kubeconfig: Path) -> None:
    await _istio_by_istioctl(deps, client, kubeconfig, binary=PREVIOUS_ISTIOCTL, tag=PREVIOUS_TAG)
    await deps.kube.create(kinds.ISTIO, _kyma_cr(PREVIOUS_TAG))


def _proxy_images(client: Client, namespace: str, app: str) -> list[str]:
    """The istio-proxy image of every live pod of ``app``."""
    pods = client.list(Pod, namespace=namespace, labels={"app": app})
    return sorted(
        c.image
        for p in pods
        if p.metadata is not None and p.metadata.deletionTimestamp is None and p.spec is not None
        for c in p.spec.containers
        if c.name == "istio-proxy" and c.image
    )


def _all_on(client: Client, namespace: str, image: str) -> bool:
    return all(_proxy_images(client, namespace, app) == [image] * REPLICAS for app in WORKLOADS)


def _workloads(
    client: Client, namespace: str, wait_for: WaitFor, proxy: str, istiod: Istiod
) -> dict[str, int]:
    """Deployments in an injection-enabled ``namespace`` whose pods run ``proxy``; their generations.

    The session's istiod must serve the just-installed Istio first: the injector webhook refuses pods
    while it cannot be reached (failure policy Fail), and the ReplicaSet controller backs off after each
    refusal, so pods created before istiod is ready may only come minutes later."""
    istiod.wait_ready()
    client.patch(Namespace, namespace, {"metadata": {"labels": {"istio-injection": "enabled"}}})
    for app in WORKLOADS:
        client.create(pause_deployment(app, namespace, REPLICAS))
    try:
        wait_for(f"every pod on {proxy}", lambda: _all_on(client, namespace, proxy), timeout=120)
    except pytest.fail.Exception as error:
        raise AssertionError(f"{error}\n{_why_not_on(client, namespace, istiod)}") from None
    return _generations(client, namespace)


def _why_not_on(client: Client, namespace: str, istiod: Istiod) -> str:
    """What a timed-out wait for injected pods saw: each pod's images, each ReplicaSet's failure, istiod."""
    rows = [
        f"pod {p.metadata.name}: phase={p.status.phase if p.status else None} "
        f"images={[c.image for c in (p.spec.containers if p.spec else [])]}"
        for p in client.list(Pod, namespace=namespace)
    ]
    rows += [
        f"replicaset {r.metadata.name}: {c.type} {c.reason}: {c.message}"
        for r in client.list(ReplicaSet, namespace=namespace)
        for c in (r.status.conditions or [] if r.status else [])
    ]
    rows.append(f"istiod: running={istiod.running} binary={istiod.binary} last error={istiod.last_error}")
    return "\n".join(rows)


def _generations(client: Client, namespace: str) -> dict[str, int]:
    found = {d.metadata.name: d.metadata.generation for d in client.list(Deployment, namespace=namespace)}
    return {name: int(generation) for name, generation in found.items() if name and generation}


def _image(client: Client, kind: Any, name: str, container: str | None = None) -> str:
    obj = client.get(kind, name, namespace=names.ISTIO_NAMESPACE)
    containers = obj.spec.template.spec.containers
    return next(str(c.image) for c in containers if container is None or c.name == container)


def _templates(client: Client) -> dict[str, Any]:
    """The pod templates of istiod, the ingress gateway and CNI: a change would roll their pods.

    Generations are no measure here: the HorizontalPodAutoscalers scale istiod and the gateway.
    """
    return {
        f"{kind.__name__}/{name}": client.get(kind, name, namespace=names.ISTIO_NAMESPACE).to_dict()["spec"][
            "template"
        ]
        for kind, name in (
            (Deployment, "istiod"),
            (Deployment, names.INGRESS_GATEWAY),
            (DaemonSet, "istio-cni-node"),
        )
    }


def _differences(before: Any, after: Any, path: str = "") -> list[str]:
    """Where two decoded objects differ, as ``path: before -> after`` lines."""
    if isinstance(before, dict) and isinstance(after, dict):
        found: list[str] = []
        for key in sorted(set(before) | set(after)):
            found += _differences(before.get(key), after.get(key), f"{path}.{key}")
        return found
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        pairs = enumerate(zip(before, after, strict=True))
        return [line for index, (b, a) in pairs for line in _differences(b, a, f"{path}[{index}]")]
    return [] if before == after else [f"{path}: {before!r} -> {after!r}"]


def _unsettled(client: Client) -> list[str]:
    """What still moves in istio-system: autoscalers that have not acted, Deployments not rolled out.
    Empty when nothing but a pass could change the namespace."""
    deployments = {d.metadata.name: d for d in client.list(Deployment, namespace=names.ISTIO_NAMESPACE)}
    moving: list[str] = []
    for hpa in client.list(HorizontalPodAutoscaler, namespace=names.ISTIO_NAMESPACE):
        target = deployments.get(hpa.spec.scaleTargetRef.name)
        wanted = None if hpa.status is None else hpa.status.desiredReplicas
        if target is None or wanted != target.spec.replicas:
            moving.append(
                f"HPA {hpa.metadata.name}: desired {wanted}, target {target and target.spec.replicas}"
            )
    for name, d in deployments.items():
        status = d.status
        if not (
            status is not None
            and status.observedGeneration == d.metadata.generation
            and status.readyReplicas == d.spec.replicas == status.replicas
        ):
            moving.append(f"Deployment {name}: spec {d.spec.replicas}, status {status and status.to_dict()}")
    return moving


def _wait_settled(client: Client, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while moving := _unsettled(client):
        assert time.monotonic() < deadline, f"istio-system not settled after {timeout_s:.0f}s: {moving}"
        time.sleep(0.2)


def _istio_system_versions(client: Client) -> dict[str, str]:
    """``kind/name -> resourceVersion`` of every object in istio-system a pass could touch."""
    versions = {"Namespace": str(client.get(Namespace, names.ISTIO_NAMESPACE).metadata.resourceVersion)}
    for kind in ISTIO_SYSTEM_KINDS:
        for obj in client.list(kind, namespace=names.ISTIO_NAMESPACE):
            if LEADER_ANNOTATION in (obj.metadata.annotations or {}):
                continue  # istiod's own leader election, renewed by the running istiod, not by a pass
            versions[f"{kind.__name__}/{obj.metadata.name}"] = str(obj.metadata.resourceVersion)
    return versions


async def _pass_to_ready(deps: Deps, *, resync: bool = False) -> pipeline.PassResult:
    result = await pipeline.reconcile(NS, "default", deps, resync=resync)
    assert result.state is not None and result.state.value == "Ready", result.description
    return result


async def _last_tag(deps: Deps) -> str:
    cr = await deps.kube.get(kinds.ISTIO, "default", NS)
    assert cr is not None
    return str(json.loads(cr["metadata"]["annotations"][names.LAST_APPLIED_ANNOTATION])["IstioTag"])


def _assert_on_default_line_images(client: Client) -> None:
    """Istio's components on the default line's images from the kept hub."""
    assert _image(client, Deployment, "istiod") == f"{HUB}/pilot:{DEFAULT_LINE.tag}"
    assert _image(client, Deployment, names.INGRESS_GATEWAY) == f"{HUB}/proxyv2:{DEFAULT_LINE.tag}"
    assert _image(client, DaemonSet, "istio-cni-node") == f"{HUB}/install-cni:{DEFAULT_LINE.tag}"


def _assert_upgraded(client: Client, namespace: str, before: dict[str, int], wait_for: WaitFor) -> None:
    """Istio's components on the target from the kept hub; each workload restarted exactly once."""
    _assert_on_default_line_images(client)
    assert _generations(client, namespace) == {app: generation + 1 for app, generation in before.items()}
    target = f"{HUB}/proxyv2:{DEFAULT_LINE.tag}"
    wait_for(f"every pod on {target}", lambda: _all_on(client, namespace, target), timeout=120)


# --- upgrade --------------------------------------------------------------------------------------


async def test_the_previous_release_is_upgraded_and_each_workload_restarted_once(
    *, deps: Deps, client: Client, kubeconfig: Path, namespace: str, wait_for: WaitFor, istiod: Istiod
) -> None:
    await _previous_release(deps, client, kubeconfig)
    before = _workloads(client, namespace, wait_for, f"{HUB}/proxyv2:{PREVIOUS_TAG}", istiod)

    await _pass_to_ready(deps)

    assert await _last_tag(deps) == DEFAULT_LINE.tag
    istiod.wait_ready()
    assert istiod.binary is not None and istiod.binary.name == DEFAULT_LINE.pilot_discovery
    _assert_upgraded(client, namespace, before, wait_for)
    after = _generations(client, namespace)
    await _pass_to_ready(deps)
    await _pass_to_ready(deps, resync=True)
    assert _generations(client, namespace) == after


@pytest.mark.parametrize("recorded", ["1.27.0-distroless", "1.30.0-distroless"])
async def test_a_refused_version_modifies_nothing_in_istio_system(
    *, deps: Deps, client: Client, kubeconfig: Path, wait_for: WaitFor, recorded: str
) -> None:
    await _istio_by_istioctl(deps, client, kubeconfig, binary=PREVIOUS_ISTIOCTL, tag=PREVIOUS_TAG)
    await deps.kube.create(kinds.ISTIO, _kyma_cr(recorded))
    _wait_settled(client)
    versions = _istio_system_versions(client)

    result = await pipeline.reconcile(NS, "default", deps)

    assert result.state is not None and result.state.value == "Warning", result.description
    assert "Istio version update is not allowed" in result.description
    assert _istio_system_versions(client) == versions
    assert _image(client, Deployment, "istiod") == f"{HUB}/pilot:{PREVIOUS_TAG}"
    assert await _last_tag(deps) == recorded


def _istio_state(client: Client) -> tuple[str | None, str | None]:
    """The CR's state and last-applied tag, read through the admin client."""
    found = [cr for cr in client.list(ISTIO, namespace=NS) if cr.metadata.name == "default"]
    if not found:
        return None, None
    cr = found[0]
    state = (cr.get("status") or {}).get("state")
    text = (cr.metadata.annotations or {}).get(names.LAST_APPLIED_ANNOTATION)
    return state, None if text is None else json.loads(text)["IstioTag"]


async def test_an_operator_killed_mid_upgrade_converges_after_a_restart(
    *,
    deps: Deps,
    client: Client,
    kubeconfig: Path,
    namespace: str,
    wait_for: WaitFor,
    istiod: Istiod,
    operator: Callable[[], OperatorProcess],
) -> None:
    await _previous_release(deps, client, kubeconfig)
    before = _workloads(client, namespace, wait_for, f"{HUB}/proxyv2:{PREVIOUS_TAG}", istiod)
    first = operator()
    wait_for("the upgrade's istioctl install", first.istioctl_running, timeout=180)

    first.kill()

    assert _istio_state(client) == ("Processing", PREVIOUS_TAG)
    second = operator()
    deadline = time.monotonic() + 300
    while _istio_state(client) != ("Ready", DEFAULT_LINE.tag):
        assert second.proc.poll() is None, second.log_tail()
        assert time.monotonic() < deadline, second.log_tail()
        await asyncio.sleep(0.2)
    _assert_upgraded(client, namespace, before, wait_for)


# --- takeover -------------------------------------------------------------------------------------


def _later_patch(line: lines.Line) -> str:
    """The tag of a later patch of ``line``'s minor than the line's own (as Kyma 1.27.2 runs 1.29.2)."""
    major, minor, patch = line.version.split(".")
    return f"{major}.{minor}.{int(patch) + 1}-{lines.FLAVOUR}"


@pytest.mark.parametrize(
    "installed", [DEFAULT_LINE.tag, _later_patch(DEFAULT_LINE)], ids=["line", "later-patch"]
)
async def test_taking_over_a_kyma_installation_restarts_nothing_and_diff_shows_no_change(
    *,
    installed: str,
    deps: Deps,
    client: Client,
    kubeconfig: Path,
    namespace: str,
    wait_for: WaitFor,
    istiod: Istiod,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Installed at the line's release, or at a later patch of it (Kyma 1.27.2's 1.29.2): the later patch
    is kept, so no image changes either way. The later patch's images are installed by the line's own
    istioctl here (no later istioctl can be built), as Kyma pairs one istioctl with later images too."""
    await _istio_by_istioctl(deps, client, kubeconfig, binary="istioctl", tag=installed)
    await deps.kube.create(kinds.ISTIO, _kyma_cr(installed))
    current = f"{HUB}/proxyv2:{installed}"
    before = _workloads(client, namespace, wait_for, current, istiod)
    pods = {p.metadata.uid for p in client.list(Pod, namespace=namespace)}
    control_plane = _templates(client)

    cr_file = tmp_path / "istio.yaml"
    cr_file.write_text(yaml.safe_dump(istio_cr("default", {})))
    out = Console(record=True, width=200)
    # The commands run their own event loop (asyncio.run), so they run in a thread here.
    code = await asyncio.to_thread(diff_command, cr_file, kubeconfig, console=out, error_console=out)
    assert code == EXIT_SAME, out.export_text()
    assert "IstioOperator: no difference" in out.export_text()
    capsys.readouterr()
    code = await asyncio.to_thread(plan_restarts_command, kubeconfig, "json", None, None, error_console=out)
    assert code == 0, out.export_text()
    plan = json.loads(capsys.readouterr().out)
    assert plan["expectedImage"] == current
    assert [row for row in plan["restart"] if row["namespace"] == namespace] == [], json.dumps(plan)

    await _pass_to_ready(deps)
    await _pass_to_ready(deps, resync=True)

    assert _generations(client, namespace) == before
    assert {p.metadata.uid for p in client.list(Pod, namespace=namespace)} == pods
    assert _all_on(client, namespace, current)
    assert _templates(client) == control_plane, _differences(control_plane, _templates(client))
    assert _image(client, Deployment, "istiod") == f"{HUB}/pilot:{installed}"
    assert await _last_tag(deps) == installed


NEWEST_KYMA_SPEC: dict[str, Any] = {
    "config": {
        "numTrustedProxies": 1,
        "forwardClientCertDetails": "SANITIZE",
        "trustDomain": "example.org",
        "enableDNSProxying": True,
        "telemetry": {"metrics": {"prometheusMerge": True}},
        "proxyStatsMatcher": {"inclusionRegexps": [".*outlier_detection.*"]},
        "authorizers": [{"name": "opa", "port": 9191, "pathPrefix": "/authz", "timeout": "5s"}],
    },
    "components": {"egressGateway": {"enabled": False, "k8s": {"hpaSpec": {"maxReplicas": 2}}}},
    "networkPoliciesEnabled": False,
}
"""A CR of a current Kyma cluster, using the fields of Kyma 1.12-1.30."""

KYMA_1_30_LAST_APPLIED = (
    '{"config":{"numTrustedProxies":1,"forwardClientCertDetails":"SANITIZE","authorizers":[{"name":"opa",'
    '"service":"","port":9191,"pathPrefix":"/authz","timeout":"5s"}],"telemetry":{"metrics":'
    '{"prometheusMerge":true}},"trustDomain":"example.org","enableDNSProxying":true,"proxyStatsMatcher":'
    '{"inclusionRegexps":[".*outlier_detection.*"]}},"components":{"egressGateway":{"k8s":{"hpaSpec":'
    '{"maxReplicas":2}},"enabled":false}},"IstioTag":"%s"}'
)
"""That CR's last-applied annotation as Kyma 1.30 serialises it (Go's encoding/json of its spec: the
``telemetry`` struct always present, an absent ``service`` as ``""``, ``k8s`` before ``enabled``)."""


async def test_taking_over_a_cluster_of_the_newest_kyma_keeps_every_setting_and_restarts_nothing(
    *,
    deps: Deps,
    client: Client,
    kubeconfig: Path,
    namespace: str,
    wait_for: WaitFor,
    istiod: Istiod,
) -> None:
    spec = IstioSpec.model_validate(NEWEST_KYMA_SPEC)
    await _istio_by_istioctl(deps, client, kubeconfig, binary="istioctl", tag=DEFAULT_LINE.tag, spec=spec)
    annotations = {names.LAST_APPLIED_ANNOTATION: KYMA_1_30_LAST_APPLIED % DEFAULT_LINE.tag}
    await deps.kube.create(
        kinds.ISTIO,
        istio_cr("default", NEWEST_KYMA_SPEC, annotations=annotations, finalizers=[names.FINALIZER]),
    )
    current = f"{HUB}/proxyv2:{DEFAULT_LINE.tag}"
    before = _workloads(client, namespace, wait_for, current, istiod)
    pods = {p.metadata.uid for p in client.list(Pod, namespace=namespace)}
    # Injected by the real istiod with the installed mesh config: DNS capture on, scraping merged.
    pod = next(iter(client.list(Pod, namespace=namespace)))
    assert pod.metadata.annotations["prometheus.io/path"] == "/stats/prometheus"
    control_plane = _templates(client)

    await _pass_to_ready(deps)
    await _pass_to_ready(deps, resync=True)

    stored = client.get(ISTIO, "default", namespace=NS)
    assert stored["spec"] == NEWEST_KYMA_SPEC  # nothing pruned by our CRD
    mesh = yaml.safe_load(client.get(ConfigMap, "istio", namespace=names.ISTIO_NAMESPACE).data["mesh"])
    assert mesh["trustDomain"] == "example.org"
    assert mesh["enablePrometheusMerge"] is True
    assert mesh["defaultConfig"]["gatewayTopology"]["forwardClientCertDetails"] == "SANITIZE"
    assert mesh["defaultConfig"]["proxyMetadata"]["ISTIO_META_DNS_CAPTURE"] == "true"
    assert mesh["defaultConfig"]["proxyStatsMatcher"] == {"inclusionRegexps": [".*outlier_detection.*"]}
    assert _generations(client, namespace) == before
    assert {p.metadata.uid for p in client.list(Pod, namespace=namespace)} == pods
    assert _templates(client) == control_plane, _differences(control_plane, _templates(client))


LADDER = os.environ.get("KYMA_ISTIO_LADDER") == "1"
"""``make ladder``: the takeover below at every line of this build (``testenv/build --lines`` first)."""
TAKEOVER_LINES = lines.LINES if LADDER else (lines.line("1.23"),)
"""Each line an operator set to that line takes over at the line's own release: in ``make test`` the 1.23
line (Kyma 1.10's; the default line's takeover is the test above), in the ladder every line."""


@pytest.mark.parametrize("kyma_line", TAKEOVER_LINES, ids=[line.minor for line in TAKEOVER_LINES])
async def test_taking_over_a_kyma_installation_at_its_lines_release_restarts_nothing(
    *,
    kyma_line: lines.Line,
    kubeconfig: Path,
    client: Client,
    namespace: str,
    wait_for: WaitFor,
    istiod: Istiod,
    crd_and_namespace: None,
) -> None:
    """A cluster as a Kyma release on ``kyma_line`` leaves it (Kyma 1.10: Istio 1.23.2): installed by that
    line's istioctl, sidecars injected by that line's istiod, the CR at the line's tag; an operator set to
    the line (``--istio-line``) takes it over without a restart."""
    deps = make_deps(kubeconfig, Settings(line=kyma_line, readiness_timeout_s=120, restart_wave_timeout_s=30))
    try:
        await _istio_by_istioctl(deps, client, kubeconfig, binary=kyma_line.istioctl, tag=kyma_line.tag)
        await deps.kube.create(kinds.ISTIO, _kyma_cr(kyma_line.tag))
        istiod.wait_ready()
        assert istiod.binary is not None and istiod.binary.name == kyma_line.pilot_discovery
        current = f"{HUB}/proxyv2:{kyma_line.tag}"
        before = _workloads(client, namespace, wait_for, current, istiod)
        pods = {p.metadata.uid for p in client.list(Pod, namespace=namespace)}
        control_plane = _templates(client)

        await _pass_to_ready(deps)
        await _pass_to_ready(deps, resync=True)

        assert await _last_tag(deps) == kyma_line.tag
        assert _generations(client, namespace) == before
        assert {p.metadata.uid for p in client.list(Pod, namespace=namespace)} == pods
        assert _templates(client) == control_plane, _differences(control_plane, _templates(client))
        assert _image(client, Deployment, "istiod") == f"{HUB}/pilot:{kyma_line.tag}"
        # Every line renders both budgets in production: from 1.28 because the HPA minimum reaches the
        # chart's autoscaleMin (Line.pdb_needs_autoscale_min).
        budgets = {b.metadata.name for b in client.list(PodDisruptionBudget, namespace=names.ISTIO_NAMESPACE)}
        production = cluster_facts(await deps.kube.list_all(kinds.NODE)).profile.value == "production"
        assert budgets == ({"istiod", names.INGRESS_GATEWAY} if production else set())
    finally:
        await drop_all_crs(deps.kube)
        await deps.kube.close()


# --- maintenance windows and exclusions ---------------------------------------------------------------


BAD_ANNOTATION = "1 workload is not restarted: a restart annotation does not parse"


class _Clock:
    """The pass's clock (``Deps.clock``), moved by the test: Saturday noon UTC to begin with."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 12, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def _events_on(client: Client, namespace: str, name: str, reason: str) -> list[str]:
    return [
        str(e.message)
        for e in client.list(Event, namespace=namespace)
        if e.involvedObject.name == name and e.reason == reason
    ]


async def test_an_upgrade_restarts_at_once_within_the_window_and_never_for_the_excluded(
    *, deps: Deps, client: Client, kubeconfig: Path, namespace: str, wait_for: WaitFor, istiod: Istiod
) -> None:
    """Three workloads on the previous line: one plain, one with a window that opens at 18:00 UTC, one
    excluded. The upgrade restarts the first at once, the second exactly when its window opens and not a
    second before, the third never (a RestartRequired Event on it says so); the CR is Ready throughout."""
    await _previous_release(deps, client, kubeconfig)
    clock = _Clock()
    deps = dataclasses.replace(deps, clock=clock)
    old, new = f"{HUB}/proxyv2:{PREVIOUS_TAG}", f"{HUB}/proxyv2:{DEFAULT_LINE.tag}"
    _workloads(client, namespace, wait_for, old, istiod)  # orders, payments
    for app in ("ledger", "typo"):
        client.create(pause_deployment(app, namespace, REPLICAS))
        wait_for(f"{app} injected", lambda app=app: _proxy_images(client, namespace, app) == [old] * REPLICAS)
    bad = {"metadata": {"annotations": {policy.WINDOW_ANNOTATION: "Funday 01:00-02:00"}}}
    client.patch(Deployment, "typo", bad, namespace=namespace)
    window = {"metadata": {"annotations": {policy.WINDOW_ANNOTATION: "Sat 18:00-20:00"}}}
    client.patch(Deployment, "orders", window, namespace=namespace)
    excluded = {"metadata": {"annotations": {policy.EXCLUDE_ANNOTATION: "true"}}}
    client.patch(Deployment, "payments", excluded, namespace=namespace)
    before = _generations(client, namespace)  # a Deployment's annotations count as a change of it

    first = await _pass_to_ready(deps)

    assert _generations(client, namespace) == {**before, "ledger": before["ledger"] + 1}
    cr = await deps.kube.get(kinds.ISTIO, "default", NS)
    assert cr is not None
    assert cr["status"]["description"] == (
        "1 workload waits for its maintenance window; the next opens Sat 2026-12-12 18:00 UTC; "
        f"1 workload is excluded from restarts; {BAD_ANNOTATION}"
    )
    assert first.requeue_after == 6 * 3600 + 1
    (invalid,) = _events_on(client, namespace, "typo", "RestartConfigInvalid")
    assert policy.WINDOW_ANNOTATION in invalid and "'Funday'" in invalid
    required = _events_on(client, namespace, "payments", "RestartRequired")
    assert len(required) == 1 and old in required[0] and f"proxyv2:{DEFAULT_LINE.tag}" in required[0]

    clock.now = datetime(2026, 12, 12, 17, 59, 59, tzinfo=UTC)
    await _pass_to_ready(deps)
    assert _generations(client, namespace)["orders"] == before["orders"]

    clock.now = datetime(2026, 12, 12, 18, 0, 1, tzinfo=UTC)
    await _pass_to_ready(deps)

    assert _generations(client, namespace) == {
        **before,
        "ledger": before["ledger"] + 1,
        "orders": before["orders"] + 1,
    }
    for app in ("orders", "ledger"):
        wait_for(f"{app} on {new}", lambda app=app: _proxy_images(client, namespace, app) == [new] * REPLICAS)
    assert _proxy_images(client, namespace, "payments") == [old] * REPLICAS
    assert _proxy_images(client, namespace, "typo") == [old] * REPLICAS
    cr = await deps.kube.get(kinds.ISTIO, "default", NS)
    assert cr is not None
    assert cr["status"]["description"] == f"1 workload is excluded from restarts; {BAD_ANNOTATION}"


async def test_a_namespace_labelled_for_injection_gets_its_workloads_rolled_once_with_sidecars(
    *, deps: Deps, client: Client, kubeconfig: Path, namespace: str, wait_for: WaitFor, istiod: Istiod
) -> None:
    """Workloads started in a namespace without injection; once it is labelled, the next pass rolls each
    owner once and the new pods carry the sidecar the real istiod injects."""
    await _istio_by_istioctl(deps, client, kubeconfig, binary="istioctl", tag=DEFAULT_LINE.tag)
    await deps.kube.create(kinds.ISTIO, _kyma_cr(DEFAULT_LINE.tag))
    istiod.wait_ready()
    for app in WORKLOADS:
        client.create(pause_deployment(app, namespace, REPLICAS))

    def started_without_sidecars() -> bool:
        live = [p for p in client.list(Pod, namespace=namespace) if p.status and p.status.phase == "Running"]
        return len(live) == REPLICAS * len(WORKLOADS) and not any(
            _proxy_images(client, namespace, app) for app in WORKLOADS
        )

    wait_for("pods without sidecars", started_without_sidecars, timeout=120)
    before = _generations(client, namespace)
    await _pass_to_ready(deps)
    assert _generations(client, namespace) == before  # no injection asked for: nothing to do

    client.patch(Namespace, namespace, {"metadata": {"labels": {"istio-injection": "enabled"}}})
    await _pass_to_ready(deps)
    await _pass_to_ready(deps)

    assert _generations(client, namespace) == {app: generation + 1 for app, generation in before.items()}
    target = f"{HUB}/proxyv2:{DEFAULT_LINE.tag}"
    wait_for(f"every pod on {target}", lambda: _all_on(client, namespace, target), timeout=120)

    # Injection off again: nothing restarts, and the CR names the workloads that keep their sidecars.
    rolled = _generations(client, namespace)
    client.patch(Namespace, namespace, {"metadata": {"labels": {"istio-injection": None}}})
    await _pass_to_ready(deps)
    assert _generations(client, namespace) == rolled
    cr = await deps.kube.get(kinds.ISTIO, "default", NS)
    assert cr is not None
    (found,) = [c for c in cr["status"]["conditions"] if c["type"] == "SidecarsWithoutInjection"]
    assert found["status"] == "True"
    for app in WORKLOADS:
        assert f"Deployment {namespace}/{app}" in found["message"]


# --- the climb (make ladder) ------------------------------------------------------------------------

CLIMB_FROM = lines.LINES[-3]
"""Two minors below the default line (1.27.0): a climb of two hops, through the line in between."""


def _minors_behind(client: Client, namespace: str, installed: str) -> int:
    """The most minors any live workload proxy runs behind ``installed``."""
    minor = int(installed.split(".")[1])
    proxies = [image for app in WORKLOADS for image in _proxy_images(client, namespace, app)]
    return max((minor - int(image.rpartition(":")[2].split(".")[1]) for image in proxies), default=0)


@pytest.mark.skipif(not LADDER, reason="make ladder: a climb needs the 1.27 line, not built by make test")
async def test_an_allowed_climb_upgrades_one_minor_per_hop_and_restarts_each_owner_once_per_hop(
    *, deps: Deps, client: Client, kubeconfig: Path, namespace: str, wait_for: WaitFor, istiod: Istiod
) -> None:
    """Kyma 1.21-1.24's Istio (1.27) climbs to the default line (1.29) through 1.28: each hop installed by
    its line's istioctl, injected by its istiod, every owner rolled once per hop, never a proxy two
    minors behind istiod, and the CR Ready at the end with the climb's record gone."""
    await _istio_by_istioctl(deps, client, kubeconfig, binary=CLIMB_FROM.istioctl, tag=CLIMB_FROM.tag)
    cr = _kyma_cr(CLIMB_FROM.tag)
    cr["metadata"]["annotations"][names.CLIMB_ANNOTATION] = "true"
    await deps.kube.create(kinds.ISTIO, cr)
    before = _workloads(client, namespace, wait_for, f"{HUB}/proxyv2:{CLIMB_FROM.tag}", istiod)

    states: list[tuple[str, str]] = []
    for _ in range(20):
        result = await pipeline.reconcile(NS, "default", deps)
        assert result.state is not None
        installed = await _last_tag(deps)
        states.append((result.state.value, installed))
        assert result.state.value in ("Processing", "Ready"), result.description
        # Istiod may run the hop's release already; the proxies must never be two minors behind it.
        assert _minors_behind(client, namespace, installed) <= 1
        if result.state.value == "Ready":
            break
        await asyncio.sleep(result.requeue_after or 0)

    assert states[-1] == ("Ready", DEFAULT_LINE.tag), states
    assert lines.LINES[-2].tag in {tag for state, tag in states if state == "Processing"}, states
    assert _generations(client, namespace) == {app: generation + 2 for app, generation in before.items()}
    istiod.wait_ready()
    assert istiod.binary is not None and istiod.binary.name == DEFAULT_LINE.pilot_discovery
    _assert_on_default_line_images(client)
    target = f"{HUB}/proxyv2:{DEFAULT_LINE.tag}"
    wait_for(f"every pod on {target}", lambda: _all_on(client, namespace, target), timeout=120)
    stored = await deps.kube.get(kinds.ISTIO, "default", NS)
    assert stored is not None and names.CLIMB_FROM_ANNOTATION not in stored["metadata"]["annotations"]
