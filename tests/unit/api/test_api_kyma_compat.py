"""Our CRD is a superset of Kyma 1.30's: every property path of its schema exists here with the same type.

A path missing here would be pruned silently by the API server on write and when read back from etcd, so
a CR written for a newer Kyma would lose the setting on takeover. The paths and types are test data, read
off Kyma's CRD (``tests/data/kyma-1.30-crd-paths.txt``); the configured sample sets every one of them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from kyma_istio.api.crd import build_openapi_schema

ROOT = Path(__file__).parents[3]
KYMA_PATHS = ROOT / "tests" / "data" / "kyma-1.30-crd-paths.txt"
CONFIGURED_SAMPLE = ROOT / "deploy" / "samples" / "istio-configured.yaml"


def _kyma_paths() -> list[tuple[str, str]]:
    rows = []
    for line in KYMA_PATHS.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            path, type_ = line.split()
            rows.append((path, type_))
    return rows


def _our_paths(node: Mapping[str, Any], path: str) -> Iterator[tuple[str, str]]:
    type_ = "int-or-string" if node.get("x-kubernetes-int-or-string") else node.get("type", "any")
    yield path, type_
    for name, child in (node.get("properties") or {}).items():
        yield from _our_paths(child, f"{path}.{name}")
    if "items" in node:
        yield from _our_paths(node["items"], f"{path}[]")


OURS = dict(
    item for key in ("spec", "status") for item in _our_paths(build_openapi_schema()["properties"][key], key)
)
KYMA = _kyma_paths()


def test_the_kyma_path_list_is_complete_enough_to_mean_something() -> None:
    paths = {path for path, _ in KYMA}
    assert len(KYMA) > 200
    assert "spec.config.proxyStatsMatcher.inclusionRegexps[]" in paths
    assert "spec.components.egressGateway.k8s.strategy.rollingUpdate.maxSurge" in paths


@pytest.mark.parametrize(("path", "type_"), KYMA, ids=[path for path, _ in KYMA])
def test_every_property_of_the_newest_kyma_crd_exists_with_the_same_type(path: str, type_: str) -> None:
    assert path in OURS, f"{path} would be pruned by our CRD"
    assert OURS[path] == type_


def _leaves(value: Any, path: str) -> Iterator[str]:
    yield path
    if isinstance(value, Mapping):
        for key, child in value.items():
            yield from _leaves(child, f"{path}.{key}")
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item, f"{path}[]")


def test_the_configured_sample_sets_every_field_of_the_newest_kyma_cr() -> None:
    sample = yaml.safe_load(CONFIGURED_SAMPLE.read_text(encoding="utf-8"))
    set_paths = set(_leaves(sample["spec"], "spec"))
    # Affinity is Kubernetes' own type (over a hundred paths); the sample sets one rule of each kind.
    wanted = {
        path
        for path, _ in KYMA
        if path.startswith("spec") and ".affinity." not in path and not path.endswith(".affinity")
    }
    assert sorted(wanted - set_paths) == []
