"""The default IstioOperator of each profile, read from the packaged ``mesh/profiles/*.yaml``.

Defaults are data so that a reviewer compares them with the reference line by line, and so that the
evaluation profile can state only how it differs from production (it is an overlay; see
``profiles/evaluation.yaml``). Files are parsed once; every caller gets its own deep copy.
"""

from __future__ import annotations

import copy
import functools
from importlib import resources
from typing import Any

import yaml

from kyma_istio.mesh.merge.deep import deep_merge
from kyma_istio.mesh.profile import Profile

_PRODUCTION = "production.yaml"
_EVALUATION_OVERLAY = "evaluation.yaml"


@functools.cache
def _read(name: str) -> dict[str, Any]:
    """A packaged profile file, parsed; cached, so it must never be handed out uncopied."""
    text = resources.files("kyma_istio.mesh").joinpath("profiles", name).read_text(encoding="utf-8")
    document = yaml.safe_load(text)
    if not isinstance(document, dict):
        raise ValueError(f"profile file {name} is not a YAML mapping")
    return document


@functools.cache
def _template(profile: Profile) -> dict[str, Any]:
    """The profile's full template; evaluation is production with its overlay merged on top."""
    production = _read(_PRODUCTION)
    if profile is Profile.PRODUCTION:
        return production
    return deep_merge(production, _read(_EVALUATION_OVERLAY))


def load_template(profile: Profile) -> dict[str, Any]:
    """A fresh copy of the profile's default IstioOperator, without ``hub`` and ``tag``."""
    return copy.deepcopy(_template(profile))
