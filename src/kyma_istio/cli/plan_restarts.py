"""``kyma-istio plan-restarts``: what the sidecar restarter would do now, changing nothing.

It runs the controller's own planning code (``restart.gather.build_plan`` with a ``PlanBuilder``)
against the live cluster: the expectation comes from the Istio CR in ``kyma-system`` (the oldest one,
as the controller picks it; the empty spec when there is none) merged by ``mesh.desired.desired_istio``
for the cluster's profile (from the Nodes, unless ``--profile`` overrides it), against the CR's last
applied spec, with the mesh's status port read from the installed mesh config as the controller reads it
(``reconcile.sidecars.read_status_port``). The only requests sent are reads (GET and LIST).

The output lists the owners that would be restarted in order, grouped into the waves the controller
goes through (Kyma modules' owners first, in waves of their own), with the rule that fired; owners cut
by the per-pass cap; and every pod that needs a manual restart or is skipped, with why.
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from kyma_istio import lines
from kyma_istio.api import names
from kyma_istio.api.v1alpha2 import IstioSpec
from kyma_istio.cli.boundary import cluster_error
from kyma_istio.cli.output import emit
from kyma_istio.cluster.kube import Kube
from kyma_istio.cluster.retry import Retrier
from kyma_istio.k8s import errors, kinds
from kyma_istio.k8s.retry import COMMAND_RETRY
from kyma_istio.k8s.seam import KubeApi
from kyma_istio.lines import Line
from kyma_istio.mesh import profile as profiles
from kyma_istio.mesh.change import read_last_applied
from kyma_istio.mesh.desired import cluster_facts, desired_istio
from kyma_istio.reconcile import singleton
from kyma_istio.reconcile.context import Settings
from kyma_istio.reconcile.sidecars import expectation_of, read_status_port
from kyma_istio.reconcile.takeover import resolve_hub
from kyma_istio.restart.gather import build_plan
from kyma_istio.restart.outcomes import Outcome, PodOutcome, RestartPlan, waves
from kyma_istio.restart.plan import PlanBuilder
from kyma_istio.restart.windows import Window

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
OUTPUTS = ("table", "json", "yaml")


@dataclass(frozen=True)
class PlanReport:
    """A plan with what it was computed for."""

    plan: RestartPlan
    source: str
    """Which CR the expectation came from, e.g. ``kyma-system/default`` or ``(no Istio CR)``."""
    profile: profiles.Profile
    image: str
    wave_size: int
    limit: int


async def compute_plan(
    kube: KubeApi, *, settings: Settings, profile: profiles.Profile | None = None
) -> PlanReport:
    """The plan the controller's next restart pass would execute, from reads only."""
    # Without the Istio CRD there can be no CR: plan for the empty spec (listing would answer a bare 404).
    crd_installed = await kube.get(kinds.CRD, names.CRD_NAME) is not None
    crs = await kube.list_all(kinds.ISTIO, namespace=names.OPERATOR_NAMESPACE) if crd_installed else []
    cr = singleton.oldest(crs)
    if cr is None:
        spec, last, source = IstioSpec(), None, "(no Istio CR: the empty spec)"
    else:
        spec = IstioSpec.model_validate(cr.get("spec") or {})
        last = read_last_applied(cr)
        source = f"{names.OPERATOR_NAMESPACE}/{cr['metadata']['name']}"
    cluster = cluster_facts(await kube.list_all(kinds.NODE))
    if profile is not None:
        cluster = dataclasses.replace(cluster, profile=profile)
    hub = await resolve_hub(kube, settings.hub)
    line = settings.line.keeping(last.istio_tag if last else None)  # as the operator's pass does
    wanted = desired_istio(spec, cluster, hub=hub, experimental=settings.experimental, line=line)
    status_port = await read_status_port(kube)
    expectation = expectation_of(wanted.iop, spec, last, status_port=status_port)
    builder = PlanBuilder.for_restart(expectation)
    plan = await build_plan(
        kube,
        builder,
        running_only=True,
        limit=settings.restart_limit,
        now=datetime.now(UTC),
        default_window=settings.restart_window,
    )
    return PlanReport(
        plan=plan,
        source=source,
        profile=cluster.profile,
        image=expectation.image,
        wave_size=settings.restart_wave_size,
        limit=settings.restart_limit,
    )


def report_json(report: PlanReport) -> dict[str, Any]:
    """The report as plain data (what ``-o json`` prints)."""
    plan = report.plan
    restart = [
        {
            "order": order,
            "wave": wave_index + 1,
            "action": str(action.action),
            "kind": action.workload.kind,
            "namespace": action.workload.namespace,
            "name": action.workload.name,
            "module": action.module,
            "pods": action.pods,
            "rules": [str(rule) for rule in action.rules],
            "examples": [f"{action.workload.namespace}/{name}" for name in action.examples],
        }
        for order, (wave_index, action) in enumerate(
            ((i, a) for i, wave in enumerate(waves(plan.actions, report.wave_size)) for a in wave), start=1
        )
    ]
    summary = plan.summary()
    return {
        "source": report.source,
        "profile": str(report.profile),
        "expectedImage": report.image,
        "target": plan.target,
        "waveSize": report.wave_size,
        "limit": report.limit,
        "remaining": plan.remaining,
        "restart": restart,
        "deferred": [_outcome_json(o) for o in plan.outcomes_of(Outcome.DEFERRED)],
        "manual": [_outcome_json(o) for o in plan.outcomes_of(Outcome.NEEDS_MANUAL_RESTART)],
        "skipped": [_outcome_json(o) for o in plan.outcomes_of(Outcome.SKIPPED_OPT_OUT)],
        "pending": [_outcome_json(o) for o in plan.outcomes_of(Outcome.ALREADY_RESTARTED)],
        "waiting": [_outcome_json(o) for o in plan.outcomes_of(Outcome.WAITING_FOR_WINDOW)],
        "excluded": [_outcome_json(o) for o in plan.outcomes_of(Outcome.EXCLUDED)],
        "invalid": [_outcome_json(o) for o in plan.outcomes_of(Outcome.CONFIG_INVALID)],
        "summary": {
            "current": summary.current,
            "notConsidered": summary.not_considered,
            "outdatedByRule": {str(rule): n for rule, n in sorted(summary.outdated.items())},
            "byOutcome": {str(outcome): n for outcome, n in sorted(summary.by_outcome.items())},
        },
    }


def _outcome_json(outcome: PodOutcome) -> dict[str, Any]:
    result: dict[str, Any] = {
        "kind": outcome.workload.kind,
        "namespace": outcome.workload.namespace,
        "name": outcome.workload.name,
        "pods": outcome.pods,
        "rule": str(outcome.rule),
    }
    if outcome.why:
        result["why"] = outcome.why
    if outcome.opens is not None:
        result["opens"] = outcome.opens.strftime("%Y-%m-%dT%H:%M:%SZ")
    if outcome.running:
        result["running"] = outcome.running
    result["examples"] = list(outcome.example_refs())
    return result


def render_table(report: PlanReport, console: Console) -> None:
    """The report as rich tables (what ``-o table`` prints)."""
    data = report_json(report)
    console.print(
        Text(
            f"Plan for {data['source']} ({data['profile']} profile): "
            f"expected sidecar {data['expectedImage']}, "
            f"target {data['target']}; waves of {data['waveSize']}, at most {data['limit']} owners per pass"
        )
    )
    if data["restart"]:
        table = Table(title="Owners to restart, in order")
        for column in ("#", "Wave", "Action", "Owner", "Pods", "Rules"):
            table.add_column(column)
        for row in data["restart"]:
            table.add_row(
                str(row["order"]),
                str(row["wave"]),
                row["action"],
                f"{row['kind']} {row['namespace']}/{row['name']}" + (" (module)" if row["module"] else ""),
                str(row["pods"]),
                ", ".join(row["rules"]),
            )
        console.print(table)
    else:
        console.print(Text("No owner needs a restart."))
    for key, title, with_why in (
        ("deferred", f"Deferred to a later pass ({data['remaining']} owners over the cap)", False),
        ("manual", "Needs a manual restart", True),
        ("skipped", "Skipped (opted out)", True),
        ("pending", "Already restarted for this target (pending)", False),
        ("waiting", "Waiting for their maintenance window", True),
        ("excluded", "Excluded from restarts (restarter.istio-operator.kyma-project.io/exclude)", True),
        ("invalid", "Not restarted: a restart annotation does not parse", True),
    ):
        rows = data[key]
        if not rows:
            continue
        table = Table(title=title)
        for column in ("Owner", "Pods", "Rule", *(("Why",) if with_why else ()), "Examples"):
            table.add_column(column)
        for row in rows:
            cells = [f"{row['kind']} {row['namespace']}/{row['name']}", str(row["pods"]), row["rule"]]
            if with_why:
                opens = f"; opens {row['opens']}" if "opens" in row else ""
                cells.append(row.get("why", "") + opens)
            cells.append(", ".join(row["examples"]))
            table.add_row(*cells)
        console.print(table)
    counts = data["summary"]
    console.print(
        Text(
            f"{counts['current']} pod(s) current, "
            f"{sum(counts['outdatedByRule'].values())} outdated, "
            f"{counts['notConsidered']} not considered (not running, not ready or not injected)"
        )
    )


def plan_restarts_command(
    kubeconfig: Path | None,
    output: str,
    hub: str | None,
    profile: str | None,
    *,
    context: str | None = None,
    line: Line = lines.DEFAULT,
    window: Window | None = None,
    console: Console | None = None,
    error_console: Console | None = None,
) -> int:
    """Print the restart plan; the exit code (0 ok, 1 cluster or CR problem, 2 bad arguments)."""
    err = error_console or Console(stderr=True, soft_wrap=True)
    if output not in OUTPUTS:
        err.print(Text(f"error: output must be one of {', '.join(OUTPUTS)}, got {output!r}", style="red"))
        return EXIT_USAGE
    chosen: profiles.Profile | None = None
    if profile is not None:
        try:
            chosen = profiles.Profile(profile)
        except ValueError:
            allowed = ", ".join(p.value for p in profiles.Profile)
            err.print(Text(f"error: profile must be one of {allowed}, got {profile!r}", style="red"))
            return EXIT_USAGE
    try:
        report = asyncio.run(
            _compute(kubeconfig, context, Settings(hub=hub, line=line, restart_window=window), chosen)
        )
    except ValueError as problem:
        err.print(Text(f"error: {problem}", style="red"), soft_wrap=True)
        return EXIT_FAILED
    if output != "table":
        # Not rich: JSON and YAML must not be wrapped or highlighted.
        emit(report_json(report), output)
    else:
        render_table(report, console or Console())
    return EXIT_OK


async def _compute(
    kubeconfig: Path | None, context: str | None, settings: Settings, chosen: profiles.Profile | None
) -> PlanReport:
    # NoConfig: the boundary says what to fix; a short retry policy, as for any command.
    kube = Kube.connect(kubeconfig, context=context, retrier=Retrier(policy=COMMAND_RETRY))
    try:
        return await compute_plan(kube, settings=settings, profile=chosen)
    except errors.ClusterError as error:
        raise cluster_error(error, kube.target) from None
    finally:
        await kube.close()
