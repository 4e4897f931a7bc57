"""The ``kyma-istio`` command. Each command imports its implementation lazily, so ``kyma-istio version``
does not pay for kopf, and a user error ends with a message and an exit code, never a traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kyma_istio import pins

app = typer.Typer(
    name="kyma-istio",
    help="Install, configure, upgrade and uninstall Istio from one Kyma Istio custom resource.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

HUB_HELP = "registry of Istio's images (default: the installed istiod's, else " + pins.DEFAULT_HUB + ")"

Kubeconfig = Annotated[
    Path | None,
    typer.Option("--kubeconfig", envvar="KUBECONFIG", help="kubeconfig file (default: in-cluster)"),
]


@app.command()
def version(json_output: Annotated[bool, typer.Option("--json", help="print JSON")] = False) -> None:
    """Print the operator, Istio and Envoy versions."""
    from kyma_istio.cli.versions import version_command

    version_command(json_output)


@app.command("check-upgrade")
def check_upgrade(
    from_tag: Annotated[str, typer.Argument(help="installed Istio version or tag, e.g. 1.22.3")],
    to_tag: Annotated[str, typer.Argument(help="target Istio version or tag")] = pins.ISTIO_TAG,
) -> None:
    """Say whether upgrading Istio FROM -> TO is allowed (exit 0) or refused (exit 1), and why."""
    from kyma_istio.cli.versions import check_upgrade_command

    raise typer.Exit(check_upgrade_command(from_tag, to_tag))


@app.command()
def crd() -> None:
    """Print the Istio CustomResourceDefinition generated from the API model."""
    from kyma_istio.cli.crd import crd_command

    crd_command()


@app.command()
def reference() -> None:
    """Print the Markdown reference of every Istio CR field, generated from the API model."""
    from kyma_istio.cli.crd import reference_command

    reference_command()


@app.command()
def render(
    file: Annotated[Path, typer.Option("-f", "--file", help="Istio CR YAML file", exists=False)],
    profile: Annotated[str | None, typer.Option(help="production or evaluation (default production)")] = None,
    hub: Annotated[str, typer.Option(help="registry of Istio's images")] = pins.DEFAULT_HUB,
    flavour: Annotated[
        str | None, typer.Option(help="cluster flavour: gke, k3d, gardener or unknown")
    ] = None,
    experimental: Annotated[bool, typer.Option(help="honour spec.experimental")] = False,
) -> None:
    """Print the IstioOperator the operator would install for a CR."""
    from kyma_istio.cli.render import render_command

    raise typer.Exit(render_command(file, profile, hub, flavour, experimental))


@app.command()
def diff(
    file: Annotated[Path, typer.Option("-f", "--file", help="Istio CR YAML file")],
    kubeconfig: Kubeconfig = None,
    hub: Annotated[str | None, typer.Option(help=HUB_HELP)] = None,
    experimental: Annotated[bool, typer.Option(help="honour spec.experimental")] = False,
) -> None:
    """Show, changing nothing, the version verdict and how the IstioOperator in force would change.

    Exit 0: no difference; 1: invalid file or version refused; 2: cluster unreadable; 3: differences.
    """
    from kyma_istio.cli.diff import diff_command

    raise typer.Exit(diff_command(file, kubeconfig, hub, experimental=experimental))


@app.command("plan-restarts")
def plan_restarts(
    kubeconfig: Kubeconfig = None,
    output: Annotated[str, typer.Option("-o", "--output", help="table or json")] = "table",
    hub: Annotated[str | None, typer.Option(help=HUB_HELP)] = None,
    profile: Annotated[
        str | None, typer.Option(help="production or evaluation (default: from nodes)")
    ] = None,
) -> None:
    """Show, changing nothing, which owners the sidecar restarter would restart, why, and in what order."""
    from kyma_istio.cli.plan_restarts import plan_restarts_command

    raise typer.Exit(plan_restarts_command(kubeconfig, output, hub, profile))


@app.command()
def run(
    kubeconfig: Kubeconfig = None,
    metrics_bind_address: Annotated[str, typer.Option(help="metrics listen address")] = ":8090",
    health_probe_bind_address: Annotated[str, typer.Option(help="/healthz and /readyz address")] = ":8091",
    leader_elect: Annotated[bool, typer.Option(help="hold a Lease so one replica reconciles")] = False,
    leader_election_namespace: Annotated[str, typer.Option(help="namespace of the Lease")] = "kyma-system",
    reconciliation_interval: Annotated[float, typer.Option(help="seconds between periodic passes")] = 36000.0,
    failure_base_delay: Annotated[
        float, typer.Option(help="first retry delay after an error, seconds")
    ] = 1.0,
    failure_max_delay: Annotated[
        float, typer.Option(help="longest retry delay after errors, seconds")
    ] = 1000.0,
    hub: Annotated[str | None, typer.Option(envvar="KYMA_ISTIO_HUB", help=HUB_HELP)] = None,
    experimental: Annotated[
        bool, typer.Option(help="honour spec.experimental (experimental flavour)")
    ] = False,
    restart_wave_size: Annotated[int, typer.Option(help="owners restarted per wave")] = 5,
    restart_limit: Annotated[int, typer.Option(help="owners restarted per pass")] = 30,
    reinstall_on_resync: Annotated[bool, typer.Option(help="re-run istioctl on periodic passes")] = True,
    istioctl: Annotated[Path | None, typer.Option(envvar="ISTIOCTL_PATH", help="istioctl binary")] = None,
    log_format: Annotated[str, typer.Option(help="json or console")] = "json",
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error")] = "info",
) -> None:
    """Run the operator."""
    from kyma_istio.operator.main import Options
    from kyma_istio.operator.main import run as run_operator
    from kyma_istio.reconcile.context import Settings

    settings = Settings(
        hub=hub,
        reconciliation_interval_s=reconciliation_interval,
        experimental=experimental,
        restart_wave_size=restart_wave_size,
        restart_limit=restart_limit,
        reinstall_on_resync=reinstall_on_resync,
    )
    run_operator(
        Options(
            kubeconfig=kubeconfig,
            metrics_address=metrics_bind_address,
            health_address=health_probe_bind_address,
            leader_elect=leader_elect,
            leader_namespace=leader_election_namespace,
            failure_base_delay_s=failure_base_delay,
            failure_max_delay_s=failure_max_delay,
            log_format=log_format,
            log_level=log_level,
            istioctl_path=istioctl,
            settings=settings,
        )
    )


@app.command()
def demo(
    nodes: Annotated[int, typer.Option(help="fake nodes (4 CPU / 16Gi each)")] = 3,
    timeout: Annotated[float, typer.Option(help="seconds to wait for Ready")] = 600.0,
    allow_host_network: Annotated[bool, typer.Option(help="run outside a private network namespace")] = False,
) -> None:
    """Local control plane + operator + the default CR, live until Ready; everything stopped afterwards."""
    from kyma_istio.cli.demo import demo_command

    raise typer.Exit(demo_command(nodes=nodes, timeout_s=timeout, allow_host_network=allow_host_network))


def _register_optional() -> None:
    """Sub-apps whose modules pull heavier dependencies."""
    from kyma_istio.cli.devcluster import dev_cluster_app

    app.add_typer(
        dev_cluster_app, name="dev-cluster", help="A local control plane for development and demos."
    )


_register_optional()
