"""``kyma-istio render``: print the IstioOperator the operator would install for an Istio CR file.

It runs the same validation and merge as a reconcile, minus the cluster: the profile and flavour come
from flags instead of the Nodes. That makes it the way to review a CR change before applying it, and
the place where a user sees every validation problem at once. Problems go to stderr with exit code 1,
never as a traceback.
"""

from __future__ import annotations

import collections
import json
import sys
from pathlib import Path
from typing import Any, TypeVar

import yaml
from rich.console import Console
from rich.text import Text

from kyma_istio import lines, pins
from kyma_istio.api import conditions, validation
from kyma_istio.api.v1alpha2 import Istio
from kyma_istio.lines import Line
from kyma_istio.mesh.merge import merge
from kyma_istio.mesh.profile import Flavour, Profile

_Choice = TypeVar("_Choice", Profile, Flavour)

EXIT_OK = 0
EXIT_INVALID = 1


class RenderError(Exception):
    """Problems that stop rendering, each one line for the user."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def render_command(
    file: Path,
    profile: str | None = None,
    hub: str = pins.DEFAULT_HUB,
    flavour: str | None = None,
    experimental: bool = False,
    *,
    output: str = "yaml",
    line: Line = lines.DEFAULT,
    console: Console | None = None,
    error_console: Console | None = None,
) -> int:
    """Print the merged IstioOperator for the CR in ``file`` as YAML; return the exit code."""
    out = console or Console()
    err = error_console or Console(stderr=True, soft_wrap=True)
    try:
        chosen_profile = _choice(Profile, profile or Profile.PRODUCTION.value, "profile")
        chosen_flavour = _choice(Flavour, flavour or Flavour.UNKNOWN.value, "flavour")
        istio = validate_istio(read_single_document(file))
    except RenderError as error:
        for problem in error.problems:
            # Text, not markup: messages quote patterns full of square brackets.
            err.print(Text(f"error: {problem}", style="red"), soft_wrap=True)
        return EXIT_INVALID
    iop = merge(
        istio.spec,
        profile=chosen_profile,
        flavour=chosen_flavour,
        hub=hub,
        line=line,
        experimental_enabled=experimental,
    )
    text = json.dumps(iop, indent=2) + "\n" if output == "json" else to_yaml(iop)
    out.out(text, end="", highlight=False)
    return EXIT_OK


def to_yaml(document: dict[str, Any]) -> str:
    """YAML in document order, multi-line strings (the disclaimer) as readable block scalars."""
    return yaml.dump(document, Dumper=_BlockDumper, sort_keys=False, allow_unicode=True)


class _BlockDumper(yaml.SafeDumper):
    """A safe dumper that writes multi-line strings with ``|``."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockDumper.add_representer(str, _represent_str)


def _choice(kind: type[_Choice], value: str, what: str) -> _Choice:
    """The enum member named by a flag, or a problem listing the accepted values."""
    try:
        return kind(value.lower())
    except ValueError:
        accepted = ", ".join(member.value for member in kind)
        raise RenderError([f"unknown {what} {value!r}; use one of: {accepted}"]) from None


def read_text(file: Path) -> str:
    """The file's text (``-``: stdin), or a one-line problem: missing, unreadable, not UTF-8."""
    try:
        raw = sys.stdin.buffer.read() if str(file) == "-" else file.read_bytes()
    except OSError as error:
        raise RenderError([f"cannot read {file}: {error.strerror or error}"]) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        name = "stdin" if str(file) == "-" else str(file)
        raise RenderError(
            [f"{name} is not UTF-8 text (byte {error.start}): save the CR as UTF-8 YAML"]
        ) from None


def read_single_document(file: Path) -> Any:
    """The one YAML document in ``file`` (``-``: stdin); a CR file with several objects is ambiguous."""
    try:
        documents = [doc for doc in yaml.safe_load_all(read_text(file)) if doc is not None]
    except yaml.YAMLError as error:
        raise RenderError([f"{file} is not valid YAML: {error}"]) from None
    if len(documents) != 1:
        raise RenderError([f"{file} must hold exactly one Istio document, found {len(documents)}"])
    return documents[0]


def validate_istio(document: Any) -> Istio:
    """The CR, checked by the operator's validation, plus the unique-authorizer rule."""
    try:
        istio = validation.parse_istio(document)
    except validation.InvalidIstio as error:
        raise RenderError(error.problems) from None
    config = istio.spec.config
    authorizers = (config.authorizers if config else None) or []
    counts = collections.Counter(authorizer.name for authorizer in authorizers)
    duplicated = [name for name, count in counts.items() if count > 1]
    if duplicated:
        # The operator's own wording (one table of descriptions), prefixed with the field.
        descriptions = [conditions.duplicated_authorizer(name).description for name in duplicated]
        raise RenderError([f"spec.config.authorizers: {text}" for text in descriptions])
    return istio
