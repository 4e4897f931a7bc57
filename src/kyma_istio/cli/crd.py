"""``kyma-istio crd`` and ``kyma-istio reference``: print the artefacts generated from the API model.

``make crd`` and ``make docs`` redirect them into ``deploy/crds/`` and ``docs/reference/``; unit tests fail
when the committed files differ, so the model stays the one place where the CR is defined.
"""

from __future__ import annotations

from kyma_istio.api.crd import build_crd, render_crd_yaml
from kyma_istio.api.reference import render_reference_markdown
from kyma_istio.cli.output import emit


def crd_command(output: str = "yaml") -> None:
    """Print the CustomResourceDefinition of the ``Istio`` CR as YAML (or JSON)."""
    if output == "json":
        emit(build_crd(), "json")
        return
    # ``end=""``: the text ends with its own newline, and the file must equal it byte for byte.
    print(render_crd_yaml(), end="")


def reference_command() -> None:
    """Print the Markdown field reference of the ``Istio`` CR."""
    print(render_reference_markdown(), end="")
