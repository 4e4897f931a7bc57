"""``kyma-istio dev-cluster``: a local control plane that outlives the command, for trying the operator.

``up`` starts it detached and records it in a state file; ``status``, ``kubeconfig`` and ``down`` find it
there. Its loopback ports exist only in the network namespace ``up`` ran in, so every command compares
namespaces and says how to enter the right one instead of failing with a bare connection error.
"""

import shutil
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from kyma_istio.cli.boundary import CommandError
from kyma_istio.cli.output import Tabular, emit
from kyma_istio.devenv import netns, processes, state, tools
from kyma_istio.devenv.cluster import LocalCluster, server_ready

dev_cluster_app = typer.Typer(
    help="A local Kubernetes control plane (etcd, kube-apiserver, controllers, kwok) on loopback.",
    no_args_is_help=True,
)

_console = Console(stderr=True)

STOP_ORDER = ("kwok", "kube-scheduler", "kube-controller-manager", "kube-apiserver", "etcd")


def _fail(message: str) -> CommandError:
    """Exit 1 with one ``error:`` line (``cli.boundary``)."""
    return CommandError(message, 1)


def _running(recorded: state.ClusterState) -> dict[str, bool]:
    return {
        name: processes.pid_runs(pid, recorded.executables.get(name, name))
        for name, pid in recorded.pids.items()
    }


def _netns_hint(recorded: state.ClusterState) -> str:
    pid = recorded.pids.get("kube-apiserver", 0)
    return (
        f"the cluster runs in network namespace {recorded.netns}, this shell in {netns.current_netns()}; "
        f"enter it with `nsenter --net=/proc/{pid}/ns/net bash`"
    )


@dev_cluster_app.command()
def up(
    *,
    nodes: Annotated[int, typer.Option(min=0, help="number of fake nodes")] = 3,
    node_cpu: Annotated[str, typer.Option(help="CPU of each fake node")] = "4",
    node_memory: Annotated[str, typer.Option(help="memory of each fake node")] = "16Gi",
    no_kwok: Annotated[
        bool,
        typer.Option("--no-kwok", help="only etcd and kube-apiserver: no controllers, scheduler or nodes"),
    ] = False,
    allow_host_network: Annotated[
        bool, typer.Option("--allow-host-network", help="run outside a private network namespace (unsafe)")
    ] = False,
    timeout: Annotated[float, typer.Option(help="seconds to wait for each component")] = 120.0,
) -> None:
    """Start the cluster in the background and return once it is healthy."""
    recorded = state.load_state()
    if recorded is not None:
        if any(_running(recorded).values()):
            raise _fail(f"a dev cluster is already up (kubeconfig {recorded.kubeconfig}); run `down` first")
        state.clear_state()
    try:
        netns.ensure_private_netns(allow_host_network=allow_host_network)
    except netns.HostNetworkError as error:
        raise _fail(str(error)) from None
    workdir = state.default_home() / "work"
    shutil.rmtree(workdir, ignore_errors=True)
    cluster = LocalCluster(
        nodes=0 if no_kwok else nodes,
        node_cpu=node_cpu,
        node_memory=node_memory,
        controllers=not no_kwok,
        workdir=workdir,
        detach=True,
        allow_host_network=allow_host_network,
        ready_timeout=timeout,
    )
    try:
        with _console.status("starting") as spinner:
            cluster.start(progress=lambda phase: spinner.update(f"starting {phase}"))
    except (tools.MissingToolError, processes.StartupError) as error:
        raise _fail(str(error)) from None
    state.save_state(cluster.state())
    _report_started(cluster)


def _report_started(cluster: LocalCluster) -> None:
    for phase, seconds in cluster.phase_seconds.items():
        _console.print(f"[green]✔[/green] {phase:<12} {seconds:6.2f}s")
    _console.print(f"[bold]dev cluster up[/bold] in {cluster.startup_seconds or 0:.2f}s at {cluster.server}")
    _console.print(f"  export KUBECONFIG={cluster.kubeconfig}")
    _console.print(f"  logs in {cluster.workdir}; stop with `kyma-istio dev-cluster down`")


@dev_cluster_app.command()
def down() -> None:
    """Stop the recorded cluster and remove its work directory."""
    recorded = state.load_state()
    if recorded is None:
        _console.print("no dev cluster is recorded; nothing to stop")
        return
    order = [name for name in STOP_ORDER if name in recorded.pids]
    stopped = processes.stop_pids(
        [(recorded.pids[name], recorded.executables.get(name, name)) for name in order]
    )
    shutil.rmtree(recorded.workdir, ignore_errors=True)
    state.clear_state()
    _console.print(f"[green]✔[/green] stopped {stopped} process(es) and removed {recorded.workdir}")


@dev_cluster_app.command()
def status(
    output: Annotated[Tabular, typer.Option("-o", "--output", help="output format")] = Tabular.TABLE,
) -> None:
    """Show the recorded cluster's processes and whether its API server is ready (exit 1 if not)."""
    recorded = state.load_state()
    if recorded is None:
        raise _fail("no dev cluster is recorded; start one with `kyma-istio dev-cluster up`")
    running = _running(recorded)
    if output != Tabular.TABLE:
        same_netns = recorded.netns == netns.current_netns()
        ready = same_netns and all(running.values()) and server_ready(recorded)
        components = {name: {"pid": pid, "running": running[name]} for name, pid in recorded.pids.items()}
        facts = {"server": recorded.server, "kubeconfig": recorded.kubeconfig, "ready": ready}
        emit({**facts, "sameNetworkNamespace": same_netns, "components": components}, output)
        raise typer.Exit(0 if ready else 1)
    table = Table("component", "pid", "running")
    for name, pid in recorded.pids.items():
        table.add_row(name, str(pid), "[green]yes[/green]" if running[name] else "[red]no[/red]")
    _console.print(table)
    _console.print(f"server {recorded.server}, kubeconfig {recorded.kubeconfig}")
    if recorded.netns != netns.current_netns():
        raise _fail(_netns_hint(recorded))
    if not (all(running.values()) and server_ready(recorded)):
        raise _fail("the cluster is not healthy; see the logs in " + recorded.workdir)
    _console.print(f"[green]✔[/green] ready ({len(recorded.nodes)} fake nodes)")


@dev_cluster_app.command()
def kubeconfig() -> None:
    """Print the path of the recorded cluster's kubeconfig, as in: export KUBECONFIG=$(... kubeconfig)."""
    recorded = state.load_state()
    if recorded is None or not Path(recorded.kubeconfig).exists():
        raise _fail("no dev cluster is recorded; start one with `kyma-istio dev-cluster up`")
    typer.echo(recorded.kubeconfig)
