"""The ``operator.kyma-project.io/lastAppliedConfiguration`` annotation: what the last good pass applied.

The operator writes it on the CR only at the end of a fully successful reconcile (spec 4). Later passes
read it to know the installed Istio tag (the version rules compare against it, not against the running
istiod) and the settings whose change needs a restart (``numTrustedProxies``, ``compatibilityMode``).

The format is the reference operator's, so an operator taking over a cluster reads the annotation the
old one wrote and vice versa: compact JSON of the spec in camelCase, ``config`` always present, empty
optional fields omitted, the key order ``config, components, experimental, compatibilityMode,
networkPoliciesEnabled`` followed by ``IstioTag``. Reading tolerates keys this model does not know, as
annotations outlive versions, and reads what Kyma 1.11-1.30 write (``telemetry.metrics`` always present,
``experimental.pilot`` flags spelled out as false, timeouts in Go's ``1m30s`` form).
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import pydantic

from kyma_istio.api.v1alpha2 import IstioSpec

TAG_KEY: Final = "IstioTag"


@dataclass(frozen=True)
class LastApplied:
    """The spec and Istio tag of the last fully successful reconcile."""

    spec: IstioSpec
    istio_tag: str


def render_last_applied(spec: IstioSpec, istio_tag: str) -> str:
    """The annotation value, e.g. ``{"config":{"numTrustedProxies":1},"IstioTag":"1.23.2-distroless"}``."""
    wire = _without_empty_lists(spec.to_wire())
    document: dict[str, Any] = {"config": _without_zero_telemetry(wire.get("config", {}))}
    for key in ("components", "experimental"):
        if key in wire:
            document[key] = wire[key]
    # false is the zero value, which the reference omits.
    if spec.compatibility_mode:
        document["compatibilityMode"] = True
    if spec.network_policies_enabled:
        document["networkPoliciesEnabled"] = True
    document[TAG_KEY] = istio_tag
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


def parse_last_applied(text: str) -> LastApplied:
    """Read an annotation value; ``ValueError`` with a plain message when it is not one.

    A missing ``IstioTag`` reads as ``""``, which the version rules then refuse, as the reference does.
    """
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"last-applied configuration is not valid JSON: {error}") from error
    if not isinstance(document, dict):
        raise ValueError("last-applied configuration is not a JSON object")
    tag = document.get(TAG_KEY, "")
    if not isinstance(tag, str):
        raise ValueError(f"last-applied configuration has a non-string {TAG_KEY}: {tag!r}")
    try:
        spec = IstioSpec.model_validate(_known_fields(document, IstioSpec))
    except pydantic.ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}" for item in error.errors()
        )
        raise ValueError(f"last-applied configuration has an invalid spec: {problems}") from error
    return LastApplied(spec=spec, istio_tag=tag)


def _without_zero_telemetry(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` without ``telemetry`` when it says only what is the default (Prometheus merge off).

    Kyma 1.15+ always writes ``"telemetry":{"metrics":{}}`` (a Go struct, never omitted); leaving it out
    keeps the annotation of a CR without the field byte-identical to Kyma 1.10's, and both read the same.
    """
    telemetry = config.get("telemetry")
    if telemetry is None:
        return config
    metrics = dict(telemetry.get("metrics") or {})
    if not metrics.get("prometheusMerge"):
        metrics.pop("prometheusMerge", None)
    if metrics:
        return {**config, "telemetry": {**telemetry, "metrics": metrics}}
    rest = {key: value for key, value in telemetry.items() if key != "metrics"}
    if rest:
        return {**config, "telemetry": rest}
    return {key: value for key, value in config.items() if key != "telemetry"}


def _without_empty_lists(value: Any) -> Any:
    """``value`` with empty lists dropped from every mapping, like Go's ``omitempty`` on slices.

    Empty objects stay: an empty ``podAntiAffinity`` or ``experimental`` still means something.
    """
    if isinstance(value, dict):
        return {key: _without_empty_lists(item) for key, item in value.items() if item != []}
    if isinstance(value, list):
        return [_without_empty_lists(item) for item in value]
    return value


def _known_fields(data: Mapping[str, Any], model: type[pydantic.BaseModel]) -> dict[str, Any]:
    """``data`` with only the keys ``model`` (and its nested models) define, recursively."""
    known: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        key = field.alias or name
        if key not in data:
            continue
        nested = _model_in(field.annotation)
        known[key] = _prune(data[key], nested) if nested else data[key]
    return known


def _prune(value: Any, model: type[pydantic.BaseModel]) -> Any:
    """Apply :func:`_known_fields` to a mapping, or to each mapping of a list."""
    if isinstance(value, Mapping):
        return _known_fields(value, model)
    if isinstance(value, list):
        return [_known_fields(item, model) if isinstance(item, Mapping) else item for item in value]
    return value


def _model_in(annotation: Any) -> type[pydantic.BaseModel] | None:
    """The pydantic model inside a field's type (through ``X | None``, ``list[X]``, ``Annotated``)."""
    if isinstance(annotation, type) and not isinstance(annotation, types.GenericAlias):
        return annotation if issubclass(annotation, pydantic.BaseModel) else None
    for argument in typing.get_args(annotation):
        model = _model_in(argument)
        if model is not None:
            return model
    return None
