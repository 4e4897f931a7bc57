"""The ``kyma-istio`` command. Each command imports its implementation lazily, so ``kyma-istio version``
does not pay for kopf; ``cli.boundary`` turns every failure into one line and an exit code.

Help is click's plain formatter (``rich_markup_mode=None``): it wraps at the terminal's width, 80 columns
when piped, and never truncates a flag name as rich's tables did.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer

from kyma_istio import lines, pins
from kyma_istio.cli.boundary import COMPLETE_ENV
from kyma_istio.cli.output import Document, Tabular, Verdict
from kyma_istio.k8s.duration import format_duration, parse_duration
from kyma_istio.lines import Line
from kyma_istio.restart import windows
from kyma_istio.restart.windows import Window

app = typer.Typer(
    name="kyma-istio",
    help="Install, configure, upgrade and uninstall Istio from one Kyma Istio custom resource.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
    context_settings={"max_content_width": 100, "help_option_names": ["-h", "--help"]},
)

HUB_HELP = "registry of Istio's images (default: the installed istiod's, else " + pins.DEFAULT_HUB + ")"

Kubeconfig = Annotated[
    Path | None,
    typer.Option(
        "--kubeconfig",
        help="kubeconfig file (default: $KUBECONFIG, files merged as kubectl does; in a pod its "
        "ServiceAccount; else ~/.kube/config)",
    ),
]
Context = Annotated[
    str | None, typer.Option("--context", help="kubeconfig context (default: current-context)")
]
CrFile = Annotated[Path, typer.Option("-f", "--file", help="Istio CR YAML file; - reads stdin")]
IstioLine = Annotated[
    str,
    typer.Option(
        "--istio-line",
        envvar="KYMA_ISTIO_LINE",
        help="the Istio line to target, e.g. 1.29 (kyma-istio version lists them)",
    ),
]


RestartWindow = Annotated[
    str | None,
    typer.Option(
        envvar="KYMA_ISTIO_RESTART_WINDOW",
        help='maintenance window for sidecar restarts of workloads that set none, e.g. "Sat 02:00-06:00" '
        "(UTC; a workload's or namespace's maintenance-window annotation wins)",
    ),
]


def _line(name: str) -> Line:
    try:
        return lines.line(name)
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="--istio-line") from None


def _window(value: str | None) -> Window | None:
    if not value:
        return None
    try:
        return windows.parse(value)
    except windows.WindowError as err:
        raise typer.BadParameter(
            f"{err}; expected {windows.GRAMMAR}", param_hint="--restart-window"
        ) from None


@app.callback()
def root(
    debug: Annotated[
        bool, typer.Option("--debug", help="print the traceback of an error (also KYMA_ISTIO_DEBUG=1)")
    ] = False,
) -> None:
    """Install, configure, upgrade and uninstall Istio from one Kyma Istio custom resource."""
    # Read by cli.boundary from the arguments, before any command runs; declared here for --help.
    del debug


@app.command()
def version(
    output: Annotated[Tabular, typer.Option("-o", "--output", help="output format")] = Tabular.TABLE,
    json_output: Annotated[bool, typer.Option("--json", help="same as -o json", hidden=True)] = False,
) -> None:
    """Print the operator, Istio and Envoy versions."""
    from kyma_istio.cli.versions import version_command

    version_command(Tabular.JSON if json_output else output)


@app.command("check-upgrade")
def check_upgrade(
    from_tag: Annotated[str, typer.Argument(help="installed Istio version or tag, e.g. 1.22.3")],
    to_tag: Annotated[
        str | None, typer.Argument(help="target Istio version or tag (default: the --istio-line's)")
    ] = None,
    output: Annotated[Verdict, typer.Option("-o", "--output", help="output format")] = Verdict.TEXT,
    istio_line: IstioLine = lines.DEFAULT.minor,
    allow_climb: Annotated[
        bool, typer.Option(envvar="KYMA_ISTIO_ALLOW_CLIMB", help="show the climb the operator would make")
    ] = False,
) -> None:
    """Say whether upgrading Istio FROM -> TO is allowed (exit 0) or refused (exit 1), and why; with
    --allow-climb, the hops of a climb of several minors (allowed when this build has every line)."""
    from kyma_istio.cli.versions import check_upgrade_command

    # Without a target, the line's own: a later patch of it is kept as installed, as the operator does.
    target = to_tag if to_tag is not None else _line(istio_line).keeping(from_tag).tag
    raise typer.Exit(check_upgrade_command(from_tag, target, output=output, allow_climb=allow_climb))


@app.command()
def crd(
    output: Annotated[Document, typer.Option("-o", "--output", help="output format")] = Document.YAML,
) -> None:
    """Print the Istio CustomResourceDefinition generated from the API model."""
    from kyma_istio.cli.crd import crd_command

    crd_command(output)


@app.command()
def reference() -> None:
    """Print the Markdown reference of every Istio CR field, generated from the API model."""
    from kyma_istio.cli.crd import reference_command

    reference_command()


@app.command()
def render(
    file: CrFile,
    profile: Annotated[str | None, typer.Option(help="production or evaluation (default production)")] = None,
    hub: Annotated[str, typer.Option(help="registry of Istio's images")] = pins.DEFAULT_HUB,
    flavour: Annotated[
        str | None, typer.Option(help="cluster flavour: gke, k3d, gardener or unknown")
    ] = None,
    experimental: Annotated[bool, typer.Option(help="honour spec.experimental")] = False,
    output: Annotated[Document, typer.Option("-o", "--output", help="output format")] = Document.YAML,
    istio_line: IstioLine = lines.DEFAULT.minor,
) -> None:
    """Print the IstioOperator the operator would install for a CR."""
    from kyma_istio.cli.render import render_command

    raise typer.Exit(
        render_command(file, profile, hub, flavour, experimental, output=output, line=_line(istio_line))
    )


@app.command()
def diff(
    file: CrFile,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
    hub: Annotated[str | None, typer.Option(help=HUB_HELP)] = None,
    experimental: Annotated[bool, typer.Option(help="honour spec.experimental")] = False,
    istio_line: IstioLine = lines.DEFAULT.minor,
) -> None:
    """Show, changing nothing, the version verdict and how the IstioOperator in force would change.

    Exit codes as kubectl diff: 0 no difference; 1 differences; 2 invalid file or the version rule
    refuses; 3 the cluster could not be read.
    """
    from kyma_istio.cli.diff import diff_command

    raise typer.Exit(
        diff_command(
            file, kubeconfig, hub, experimental=experimental, context=context, line=_line(istio_line)
        )
    )


@app.command("plan-restarts")
def plan_restarts(
    kubeconfig: Kubeconfig = None,
    context: Context = None,
    output: Annotated[Tabular, typer.Option("-o", "--output", help="output format")] = Tabular.TABLE,
    hub: Annotated[str | None, typer.Option(help=HUB_HELP)] = None,
    profile: Annotated[
        str | None, typer.Option(help="production or evaluation (default: from nodes)")
    ] = None,
    istio_line: IstioLine = lines.DEFAULT.minor,
    restart_window: RestartWindow = None,
) -> None:
    """Show, changing nothing, which owners the sidecar restarter would restart now, why, and in what
    order; which wait for their maintenance window, are excluded, or carry a bad restart annotation."""
    from kyma_istio.cli.plan_restarts import plan_restarts_command

    window, line = _window(restart_window), _line(istio_line)
    raise typer.Exit(
        plan_restarts_command(kubeconfig, output, hub, profile, context=context, line=line, window=window)
    )


def _duration(value: str | float) -> float:
    if isinstance(value, float | int):
        return float(value)  # the default
    try:
        return parse_duration(value)
    except ValueError as err:
        raise typer.BadParameter(str(err)) from None


def _duration_option(help_text: str, default_s: float) -> typer.models.OptionInfo:
    option: typer.models.OptionInfo = typer.Option(
        parser=_duration, metavar="<duration>", help=help_text, show_default=format_duration(default_s)
    )
    return option


class LogFormat(enum.StrEnum):
    JSON = "json"
    CONSOLE = "console"


class LogLevel(enum.StrEnum):
    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


class ZapStacktraceLevel(enum.StrEnum):
    INFO = "info"
    ERROR = "error"
    PANIC = "panic"


class ZapTimeEncoding(enum.StrEnum):
    ISO8601 = "iso8601"
    RFC3339 = "rfc3339"
    RFC3339NANO = "rfc3339nano"
    EPOCH = "epoch"
    MILLIS = "millis"
    NANO = "nano"


_KYMA = "Kyma manager flags"


@app.command()
def run(
    kubeconfig: Kubeconfig = None,
    context: Context = None,
    metrics_bind_address: Annotated[str, typer.Option(help="metrics listen address")] = ":8090",
    health_probe_bind_address: Annotated[str, typer.Option(help="/healthz and /readyz address")] = ":8091",
    leader_elect: Annotated[bool, typer.Option(help="hold a Lease so one replica reconciles")] = False,
    leader_election_namespace: Annotated[str, typer.Option(help="namespace of the Lease")] = "kyma-system",
    reconciliation_interval: Annotated[
        float, _duration_option("time between periodic passes (Go duration or seconds)", 36000)
    ] = 36000.0,
    failure_base_delay: Annotated[float, _duration_option("first retry delay after an error", 1)] = 1.0,
    failure_max_delay: Annotated[float, _duration_option("longest retry delay after errors", 1000)] = 1000.0,
    rate_limiter_burst: Annotated[
        int, typer.Option(min=1, help="API requests that may be sent at once (token bucket size)")
    ] = 200,
    rate_limiter_frequency: Annotated[
        float, typer.Option(min=0, help="API requests per second after the burst (0: no limit)")
    ] = 30.0,
    hub: Annotated[str | None, typer.Option(envvar="KYMA_ISTIO_HUB", help=HUB_HELP)] = None,
    istio_line: IstioLine = lines.DEFAULT.minor,
    experimental: Annotated[
        bool, typer.Option(help="honour spec.experimental (experimental flavour)")
    ] = False,
    restart_wave_size: Annotated[int, typer.Option(min=1, help="owners restarted per wave")] = 5,
    restart_limit: Annotated[int, typer.Option(min=1, help="owners restarted per pass")] = 30,
    reinstall_on_resync: Annotated[bool, typer.Option(help="re-run istioctl on periodic passes")] = True,
    restart_window: RestartWindow = None,
    allow_climb: Annotated[
        bool,
        typer.Option(
            envvar="KYMA_ISTIO_ALLOW_CLIMB",
            help="climb an Istio two or more minors below the line one minor at a time (the CR's "
            "allow-climb annotation wins)",
        ),
    ] = False,
    istioctl: Annotated[Path | None, typer.Option(envvar="ISTIOCTL_PATH", help="istioctl binary")] = None,
    log_format: Annotated[LogFormat, typer.Option(help="log line format")] = LogFormat.JSON,
    log_level: Annotated[LogLevel, typer.Option(help="lowest level logged")] = LogLevel.INFO,
    zap_devel: Annotated[
        bool | None,
        typer.Option(help="development logs: console lines at debug level", rich_help_panel=_KYMA),
    ] = None,
    zap_encoder: Annotated[
        LogFormat | None, typer.Option(help="same as --log-format", rich_help_panel=_KYMA)
    ] = None,
    zap_log_level: Annotated[
        str | None,
        typer.Option(help="debug, info, warn, error, or a verbosity > 0 (debug)", rich_help_panel=_KYMA),
    ] = None,
    zap_stacktrace_level: Annotated[
        ZapStacktraceLevel | None,
        typer.Option(help="accepted; tracebacks are always logged in full", rich_help_panel=_KYMA),
    ] = None,
    zap_time_encoding: Annotated[
        ZapTimeEncoding | None, typer.Option(help="time format of JSON log lines", rich_help_panel=_KYMA)
    ] = None,
) -> None:
    """Run the operator. Takes the Kyma Istio manager's flags too (Go durations, --zap-*,
    --rate-limiter-*), so its Deployment arguments work unchanged."""
    from kyma_istio.cli.boundary import CommandError
    from kyma_istio.operator import logs
    from kyma_istio.operator.main import Options
    from kyma_istio.operator.main import run as run_operator
    from kyma_istio.reconcile.context import Settings

    del zap_stacktrace_level  # validated above; the JSON record keeps every traceback whole
    try:
        log_settings = logs.from_flags(
            log_format=log_format.value,
            log_level=log_level.value,
            zap_devel=zap_devel,
            zap_encoder=zap_encoder.value if zap_encoder else None,
            zap_log_level=zap_log_level,
            zap_time_encoding=zap_time_encoding.value if zap_time_encoding else None,
        )
    except ValueError as err:
        raise CommandError(f"{err} (see 'kyma-istio run --help')") from None
    settings = Settings(
        restart_window=_window(restart_window),
        line=_line(istio_line),
        hub=hub,
        reconciliation_interval_s=reconciliation_interval,
        experimental=experimental,
        restart_wave_size=restart_wave_size,
        restart_limit=restart_limit,
        reinstall_on_resync=reinstall_on_resync,
        allow_climb=allow_climb,
    )
    run_operator(
        Options(
            kubeconfig=kubeconfig,
            context=context,
            metrics_address=metrics_bind_address,
            health_address=health_probe_bind_address,
            leader_elect=leader_elect,
            leader_namespace=leader_election_namespace,
            failure_base_delay_s=failure_base_delay,
            failure_max_delay_s=failure_max_delay,
            rate_limiter_burst=rate_limiter_burst,
            rate_limiter_frequency=rate_limiter_frequency,
            logging=log_settings,
            istioctl_path=istioctl,
            settings=settings,
        )
    )


@app.command()
def demo(
    nodes: Annotated[int, typer.Option(min=0, help="fake nodes (4 CPU / 16Gi each)")] = 3,
    timeout: Annotated[float, typer.Option(help="seconds to wait for Ready")] = 600.0,
    allow_host_network: Annotated[bool, typer.Option(help="run outside a private network namespace")] = False,
) -> None:
    """Local control plane + operator + the default CR, live until Ready; everything stopped afterwards."""
    from kyma_istio.cli.demo import demo_command

    raise typer.Exit(demo_command(nodes=nodes, timeout_s=timeout, allow_host_network=allow_host_network))


class Shell(enum.StrEnum):
    BASH = "bash"
    ZSH = "zsh"
    FISH = "fish"


@app.command()
def completion(shell: Annotated[Shell, typer.Argument(help="the shell to complete in")]) -> None:
    """Print the shell completion script: source <(kyma-istio completion bash)"""
    # typer's script generator (private module, pinned by requirements.lock): it answers through the
    # _KYMA_ISTIO_COMPLETE variable that every kyma-istio run checks first.
    from typer._completion_shared import get_completion_script

    print(get_completion_script(prog_name="kyma-istio", complete_var=COMPLETE_ENV, shell=shell))


def _register_optional() -> None:
    """Sub-apps whose modules pull heavier dependencies."""
    from kyma_istio.cli.devcluster import dev_cluster_app

    app.add_typer(
        dev_cluster_app, name="dev-cluster", help="A local control plane for development and demos."
    )


_register_optional()
