"""``kyma-istio diff -f CR.yaml``: preview what applying an Istio CR would change, changing nothing.

It reads the CR file (the operator's validation, problems listed at once), then the cluster: the Nodes
give the profile (evaluation or production) and the cluster flavour, as in a reconcile; the live Istio CR
``kyma-system/<name>`` gives, through its ``operator.kyma-project.io/lastAppliedConfiguration``
annotation, the spec and Istio tag of the last successful reconcile. It prints

1. the version-rule verdict for going from that tag to the one this release ships ("first install" when
   nothing was applied yet), with the way forward when the rule refuses;
2. a unified diff between the IstioOperator now in force (recomputed from the last-applied spec with the
   last-applied tag, the cluster's profile and flavour) and the one the file's CR would produce.

Only GET and LIST requests are sent. Both sides use the hub the operator would install from: ``--hub``
when given, else the installed istiod's (a takeover keeps it, ``mesh.takeover``), else the default. A
profile or flavour change of the cluster since the last reconcile shows up in the diff as a change, which
it is.
"""

from __future__ import annotations

import asyncio
import difflib
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.text import Text

from kyma_istio import lines
from kyma_istio.api import names
from kyma_istio.api.v1alpha2 import Istio
from kyma_istio.cli.boundary import cluster_error
from kyma_istio.cli.render import RenderError, read_single_document, to_yaml, validate_istio
from kyma_istio.cluster.kube import Kube
from kyma_istio.cluster.retry import Retrier
from kyma_istio.k8s import errors, kinds
from kyma_istio.k8s.retry import COMMAND_RETRY
from kyma_istio.lines import Line
from kyma_istio.mesh import lastapplied
from kyma_istio.mesh.change import read_last_applied
from kyma_istio.mesh.desired import ClusterFacts, cluster_facts, desired_istio
from kyma_istio.mesh.versions import Verdict, VersionDecision, decide_upgrade
from kyma_istio.reconcile.takeover import resolve_hub

EXIT_SAME = 0
"""The CR would change nothing in the IstioOperator and the version rule allows it (as ``kubectl diff``)."""
EXIT_DIFFERENT = 1
"""The IstioOperator would change; the diff says how (as ``kubectl diff``)."""
EXIT_REFUSED = 2
"""The file is not a valid Istio CR, or the version rule refuses the change (nothing would be installed)."""
EXIT_CLUSTER = 3
"""The cluster could not be read (no kubeconfig, unreachable, forbidden, malformed Node capacity)."""


@dataclass(frozen=True)
class ClusterView:
    """What the cluster says about the CR in the file."""

    cluster: ClusterFacts
    """Profile and flavour from the Nodes, as in a reconcile."""
    live_found: bool
    """Whether an Istio CR of that name exists in kyma-system."""
    last: lastapplied.LastApplied | None
    """Its last-applied configuration, None when it has none (nothing installed by it yet)."""
    hub: str
    """The hub the operator would install from (``reconcile.takeover.resolve_hub``)."""


class _ClusterReadError(Exception):
    """The cluster could not be read; the message is for the user."""


def diff_command(
    file: Path,
    kubeconfig: Path | None = None,
    hub: str | None = None,
    *,
    experimental: bool = False,
    context: str | None = None,
    line: Line = lines.DEFAULT,
    console: Console | None = None,
    error_console: Console | None = None,
) -> int:
    """Print the version verdict and the IstioOperator diff for the CR in ``file``; return the exit code.

    Exit codes as ``kubectl diff``: 0 no difference (and the version rule allows the change), 1 the
    IstioOperator would change, 2 the file is invalid or the version rule refuses the change, 3 the
    cluster could not be read.
    """
    out = console or Console(highlight=False, soft_wrap=True, markup=False)
    err = error_console or Console(stderr=True, highlight=False, soft_wrap=True, markup=False)
    try:
        istio = validate_istio(read_single_document(file))
    except RenderError as error:
        for problem in error.problems:
            err.print(Text(f"error: {problem}", style="red"), soft_wrap=True)
        return EXIT_REFUSED
    name = istio.metadata.name
    try:
        view = asyncio.run(read_cluster(name, kubeconfig, context, hub))
    except _ClusterReadError as error:
        err.print(Text(f"error: {error}", style="red"), soft_wrap=True)
        return EXIT_CLUSTER
    return report(istio, name, file, view, experimental=experimental, line=line, console=out)


async def read_cluster(
    name: str, kubeconfig: Path | None, context: str | None = None, hub: str | None = None
) -> ClusterView:
    """Nodes, the live CR ``kyma-system/<name>`` and the hub in force (``hub`` when given, else the
    installed istiod's); ``_ClusterReadError`` when they cannot be read."""
    # NoConfig: the boundary says what to fix (exit 2); a short retry policy, as for any command.
    kube = Kube.connect(kubeconfig, context=context, retrier=Retrier(policy=COMMAND_RETRY))
    try:
        cluster = cluster_facts(await kube.list_all(kinds.NODE))
        live = await kube.get(kinds.ISTIO, name, names.OPERATOR_NAMESPACE)
        hub_in_force = await resolve_hub(kube, hub)
    except errors.ClusterError as error:
        raise _ClusterReadError(str(cluster_error(error, kube.target))) from None
    except ValueError as error:
        raise _ClusterReadError(f"cannot tell the cluster's size from its Nodes: {error}") from None
    finally:
        await kube.close()
    try:
        last = None if live is None else read_last_applied(live)
    except ValueError as error:
        # The operator refuses such a CR too (its version is unknown); say why and stop.
        raise _ClusterReadError(
            f"{names.OPERATOR_NAMESPACE}/{name}: {names.LAST_APPLIED_ANNOTATION} unreadable: {error}"
        ) from None
    return ClusterView(cluster=cluster, live_found=live is not None, last=last, hub=hub_in_force)


def report(
    istio: Istio,
    name: str,
    file: Path,
    view: ClusterView,
    *,
    experimental: bool,
    line: Line = lines.DEFAULT,
    console: Console,
) -> int:
    """Print the verdict and the diff; return the exit code (see ``diff_command``)."""
    key = f"{names.OPERATOR_NAMESPACE}/{name}"
    if istio.metadata.namespace != names.OPERATOR_NAMESPACE:
        console.print(
            f"note: the file's CR is in namespace {istio.metadata.namespace}; the operator reconciles only "
            f"Istio CRs in {names.OPERATOR_NAMESPACE}, compared with {key}"
        )
    console.print(f"Cluster: {view.cluster.profile} profile, flavour {view.cluster.flavour}")
    line = line.keeping(view.last.istio_tag if view.last else None)  # as the operator's pass does
    decision = decide_upgrade(view.last.istio_tag if view.last else None, line.tag)
    console.print(_verdict_line(decision), soft_wrap=True)
    if decision.path:
        console.print(f"  To proceed: {decision.path}.", soft_wrap=True)

    wanted = desired_istio(istio.spec, view.cluster, hub=view.hub, experimental=experimental, line=line).iop
    if view.last is None:
        why = "the CR was never reconciled" if view.live_found else "no Istio CR of that name exists"
        console.print(f"IstioOperator in force: none ({key}: {why}; nothing installed by it)")
        before_text, before_label = "", "(nothing installed)"
    else:
        in_force = desired_istio(
            view.last.spec,
            view.cluster,
            hub=view.hub,
            experimental=experimental,
            line=lines.at(view.last.istio_tag),
        ).iop
        before_text, before_label = to_yaml(in_force), f"{key} (last applied, {view.last.istio_tag})"
    after_text = to_yaml(wanted)
    diff_lines = list(
        difflib.unified_diff(
            before_text.splitlines(keepends=True),
            after_text.splitlines(keepends=True),
            fromfile=before_label,
            tofile=str(file),
        )
    )
    if not diff_lines:
        console.print("IstioOperator: no difference")
    else:
        console.out("".join(diff_lines), end="", highlight=False)
    if not decision.verdict.allowed:
        console.print("The operator would refuse this change: nothing would be installed.")
        return EXIT_REFUSED
    return EXIT_DIFFERENT if diff_lines else EXIT_SAME


def _verdict_line(decision: VersionDecision) -> str:
    if decision.verdict is Verdict.INSTALL:
        return f"Version rule: first install (Istio {decision.target})"
    if decision.verdict is Verdict.NOT_ALLOWED:
        return f"Version rule: refused: Istio version update is not allowed: {decision.message}"
    return f"Version rule: allowed: {decision.message}"
