"""The chart's Kyma dashboard views (Busola resource extensions): on by default, one ConfigMap per kind under
the reference manifest's names, every section valid YAML of the shape Busola reads, each naming a kind the
cluster serves once Istio is installed; off with ``dashboardExtensions.enabled=false``; applied to the local
API server they are stored as rendered."""

from typing import Any

import pytest
import yaml
from lightkube import Client, codecs
from lightkube.resources.core_v1 import ConfigMap
from test_chart import _template, release_namespace

from kyma_istio.api import names
from kyma_istio.operator import rbac

pytestmark = pytest.mark.integration

__all__ = ["release_namespace"]  # fixtures used by name

EXTENSION_LABELS = {"busola.io/extension": "resource", "busola.io/extension-version": "0.5"}
ISTIO_KINDS = (
    "gateways",
    "virtualservices",
    "destinationrules",
    "serviceentries",
    "authorizationpolicies",
    "sidecars",
    "telemetries",
    "requestauthentications",
)


def _views(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        doc["metadata"]["name"]: doc
        for doc in objects
        if doc["kind"] == "ConfigMap" and doc["metadata"]["labels"].get("busola.io/extension")
    }


@pytest.fixture(scope="module")
def views(release_namespace: str) -> dict[str, dict[str, Any]]:
    return _views(_template(release_namespace))


def test_the_chart_ships_a_view_of_the_istio_cr_and_of_eight_istio_kinds_by_default(
    views: dict[str, dict[str, Any]], release_namespace: str
) -> None:
    assert sorted(views) == sorted(
        ["istio-ui.operator.kyma-project.io"]
        + [f"istio-{kind}-ui.operator.kyma-project.io" for kind in ISTIO_KINDS]
    )
    for view in views.values():
        assert view["metadata"]["namespace"] == release_namespace
        assert EXTENSION_LABELS.items() <= view["metadata"]["labels"].items()
        assert view["metadata"]["labels"]["kyma-project.io/module"] == "istio"


def test_every_view_section_is_yaml_of_the_shape_busola_reads(views: dict[str, dict[str, Any]]) -> None:
    for name, view in views.items():
        sections = {key: yaml.safe_load(text) for key, text in view["data"].items()}
        assert {"general", "list", "details"} <= sections.keys(), name
        assert set(sections) <= {"general", "list", "details", "form", "translations"}, name
        general = sections["general"]
        assert general["scope"] == "namespace", name
        assert set(general["resource"]) == {"kind", "group", "version"}, name
        assert isinstance(sections["list"], list) and sections["list"], name
        for column in sections["list"]:
            assert column["name"] and column["source"], (name, column)
        assert sections["details"]["body"], name
        for part in sections["details"]["body"]:
            assert part["widget"] in {"Panel", "Table"}, (name, part)
            assert part["children"], (name, part)


def test_each_view_names_a_kind_the_cluster_serves_once_istio_is_installed(
    views: dict[str, dict[str, Any]],
) -> None:
    for name, view in views.items():
        general = yaml.safe_load(view["data"]["general"])
        resource, plural = general["resource"], general["urlPath"]
        if resource["kind"] == names.KIND:
            assert f"{resource['group']}/{resource['version']}" == names.API_VERSION
            assert plural == names.CRD_NAME.split(".")[0]
            continue
        assert f"{plural}.{resource['group']}" in rbac.ISTIO_CRDS, name


def test_the_istio_cr_view_hides_create_and_delete_and_shows_state_and_conditions(
    views: dict[str, dict[str, Any]],
) -> None:
    view = views["istio-ui.operator.kyma-project.io"]["data"]
    general = yaml.safe_load(view["general"])
    assert general["features"]["actions"] == {"disableCreate": True, "disableDelete": True}
    assert yaml.safe_load(view["list"])[0]["source"] == "status.state"
    body = yaml.safe_load(view["details"])["body"]
    assert "status.conditions" in [part.get("source") for part in body]
    form_paths = [field["path"] for field in yaml.safe_load(view["form"])]
    assert "spec.config.numTrustedProxies" in form_paths


def test_the_views_are_left_out_when_disabled(release_namespace: str) -> None:
    assert _views(_template(release_namespace, "dashboardExtensions.enabled=false")) == {}


def test_the_views_apply_to_the_api_server_and_are_stored_as_rendered(
    client: Client, views: dict[str, dict[str, Any]], release_namespace: str
) -> None:
    for view in views.values():
        client.apply(codecs.from_dict(view), field_manager="kyma-istio-dashboard-test", force=True)
    stored = {
        cm.metadata.name: cm
        for cm in client.list(
            ConfigMap, namespace=release_namespace, labels={"busola.io/extension": "resource"}
        )
    }
    assert sorted(stored) == sorted(views)
    for name, view in views.items():
        assert stored[name].data == view["data"]
        assert EXTENSION_LABELS.items() <= (stored[name].metadata.labels or {}).items()
