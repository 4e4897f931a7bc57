"""``kyma-istio version`` and ``kyma-istio check-upgrade``: the pinned versions and the upgrade rules.

Plain functions so the typer app stays a thin wiring layer and tests can call them directly. Both write
through a rich ``Console``; callers may pass their own (for example one that records output).
"""

from __future__ import annotations

import json

import yaml
from rich.console import Console
from rich.table import Table
from rich.text import Text

import kyma_istio
from kyma_istio import lines
from kyma_istio.cli.output import emit
from kyma_istio.mesh import climb, versions

EXIT_ALLOWED = 0
EXIT_REFUSED = 1
EXIT_BAD_INPUT = 2

_VERDICT_STYLES = {
    versions.Verdict.INSTALL: "green",
    versions.Verdict.UPGRADE: "green",
    versions.Verdict.NO_CHANGE: "green",
    versions.Verdict.NOT_ALLOWED: "bold red",
}


def version_command(output: str = "table", *, console: Console | None = None) -> None:
    """Print what this release ships, as a table, or as JSON or YAML for scripts."""
    out = console or Console()
    default = lines.DEFAULT
    facts = {
        "operator": kyma_istio.__version__,
        "istio": default.version,
        "envoy": default.envoy,
        "istioTag": default.tag,
        "lines": [
            {
                "line": line.minor,
                "istio": line.version,
                "envoy": line.envoy,
                "istioTag": line.tag,
                "minKubernetes": line.min_kubernetes,
                "kymaReleases": line.kyma_releases,
                "endOfSupport": line.end_of_support,
                "default": line is default,
            }
            for line in lines.LINES
        ],
    }
    if output != "table":
        # ``out`` writes the text as is: no markup, highlighting or wrapping that would break parsers.
        out.out(
            json.dumps(facts, indent=2)
            if output == "json"
            else yaml.safe_dump(facts, sort_keys=False).rstrip(),
            highlight=False,
        )
        return
    table = Table(title="kyma-istio", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("version")
    table.add_row("Operator", kyma_istio.__version__)
    table.add_row("Istio", default.version)
    table.add_row("Envoy", default.envoy)
    table.add_row("Image tag", default.tag)
    out.print(table)
    supported = Table(title="Istio lines (--istio-line)")
    for column in ("line", "Istio", "Envoy", "Kubernetes", "Kyma releases", "end of support"):
        supported.add_column(column)
    for line in lines.LINES:
        name = f"{line.minor} (default)" if line is default else line.minor
        supported.add_row(
            name,
            line.version,
            line.envoy,
            f">= {line.min_kubernetes}",
            line.kyma_releases,
            line.end_of_support,
        )
    out.print(supported)


def check_upgrade_command(
    from_tag: str,
    to_tag: str,
    *,
    output: str = "text",
    allow_climb: bool = False,
    console: Console | None = None,
    error_console: Console | None = None,
) -> int:
    """Print whether the operator would move Istio from ``from_tag`` to ``to_tag``; return the exit code.

    0 when allowed, 1 when refused, 2 when a tag is not a version. An unreadable current tag is a refusal
    inside the operator, but here it is a typing mistake, so it gets the usage exit code.
    """
    out = console or Console(soft_wrap=True)  # a sentence stays one line when piped
    err = error_console or Console(stderr=True, soft_wrap=True)
    for tag in (from_tag, to_tag):
        try:
            versions.parse_tag(tag)
        except ValueError as error:
            err.print(Text(f"error: {error}", style="red"))
            return EXIT_BAD_INPUT
    decision = versions.decide_upgrade(from_tag, to_tag)
    verdict = decision.verdict
    hops = _climb(from_tag, to_tag) if allow_climb and not verdict.allowed else []
    allowed = verdict.allowed or bool(hops)
    if output != "text":
        facts = {
            "from": from_tag,
            "to": to_tag,
            "verdict": "climb" if hops else verdict.value,
            "allowed": verdict.allowed,
            "message": decision.message,
            "path": decision.path,
            "climb": [hop.line.version for hop in hops],
        }
        facts["allowed"] = allowed
        emit(facts, output)
        return EXIT_ALLOWED if allowed else EXIT_REFUSED
    shown = ("climb", "yellow") if hops else (verdict.value, _VERDICT_STYLES[verdict])
    out.print(Text.assemble(("verdict: ", "bold"), shown))
    # Text objects, not markup strings: tags and messages may contain square brackets.
    out.print(Text(decision.message))
    if hops:
        steps = " -> ".join([hops[0].installed, *(hop.line.version for hop in hops)])
        out.print(
            Text.assemble(
                ("climb: ", "bold"),
                f"{len(hops)} hops, {steps}; each a complete upgrade that restarts every sidecar owner once",
            )
        )
    elif decision.path is not None:
        out.print(Text.assemble(("what works: ", "bold"), decision.path))
    return EXIT_ALLOWED if allowed else EXIT_REFUSED


def _climb(from_tag: str, to_tag: str) -> list[climb.Hop]:
    """The climb's hops when the target is a release of one of this build's lines, else none."""
    try:
        line = lines.line(to_tag)
    except ValueError:
        return []
    target = line.keeping(to_tag)
    if versions.parse_tag(to_tag).finalize_version() != versions.parse_tag(target.version):
        return []  # a target below the line's own release is no line this build installs
    return climb.plan(from_tag, target)
