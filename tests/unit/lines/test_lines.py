"""The line table: its data agrees with the pins it is built from, and the rules read it, not constants."""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import re
from pathlib import Path

import pytest
import semver

from kyma_istio import lines
from kyma_istio.api.v1alpha2 import IstioSpec
from kyma_istio.mesh.merge import merge
from kyma_istio.mesh.profile import Profile
from kyma_istio.mesh.versions import Verdict, decide_upgrade

TESTENV = Path(__file__).parents[3] / "testenv"
PSEUDO = re.compile(r"istio\.io/istio v0\.0\.0-\d{14}-([0-9a-f]{12})")
RELEASE = re.compile(r"^// istio-release: (\S+) ([0-9a-f]{40})$", re.M)


def _pinned_commit(go_mod: Path) -> str:
    found = PSEUDO.search(go_mod.read_text(encoding="utf-8"))
    assert found, f"{go_mod} pins no istio.io/istio pseudo-version"
    return found.group(1)


@pytest.mark.parametrize("line", lines.LINES, ids=[line.minor for line in lines.LINES])
def test_each_line_is_built_from_its_own_commit(line: lines.Line) -> None:
    go_mod = TESTENV / f"istio-{line.minor}" / "go.mod"
    assert go_mod.exists(), f"line {line.minor} has no pin: add {go_mod.relative_to(TESTENV.parent)}"
    text = go_mod.read_text(encoding="utf-8")
    stamped = RELEASE.search(text)
    assert stamped, f"{go_mod} has no '// istio-release: <version> <commit>' line for testenv/build's stamp"
    assert (stamped.group(1), stamped.group(2)) == (line.version, line.commit)
    assert line.commit.startswith(_pinned_commit(go_mod))


def test_the_default_line_is_the_newest() -> None:
    assert lines.DEFAULT is lines.NEWEST


def _dockerfile_stage(name: str) -> str:
    text = (TESTENV.parent / "Dockerfile").read_text(encoding="utf-8")
    found = re.search(rf"^FROM \S+ AS {name}\n(.*?)(?=^FROM |\Z)", text, re.M | re.S)
    assert found, f"the Dockerfile has no stage {name}"
    return found.group(1)


def test_the_default_lines_istioctl_pin_is_the_one_the_image_ships() -> None:
    pin = f"testenv/istio-{lines.DEFAULT.minor}"
    copies = [row for row in _dockerfile_stage("istioctl").splitlines() if row.startswith("COPY ")]

    assert copies == [f"COPY {pin}/go.mod {pin}/go.sum ./"]
    assert lines.DEFAULT.commit.startswith(_pinned_commit(TESTENV.parent / pin / "go.mod"))


def test_lines_are_ordered_one_per_minor_with_full_versions() -> None:
    versions = [semver.Version.parse(line.version) for line in lines.LINES]
    assert versions == sorted(versions)
    assert len({line.minor for line in lines.LINES}) == len(lines.LINES)
    assert lines.NEWEST.version == "1.29.1"


@pytest.mark.parametrize(
    ("name", "version"),
    [("1.29", "1.29.1"), ("1.29.1", "1.29.1"), ("v1.24", "1.24.2"), ("1.27.3-distroless", "1.27.0")],
)
def test_a_line_is_found_by_its_minor_or_any_of_its_releases(name: str, version: str) -> None:
    assert lines.line(name).version == version


@pytest.mark.parametrize("name", ["1.22", "1.30", "2.0", "latest", ""])
def test_an_unknown_line_names_the_known_ones(name: str) -> None:
    with pytest.raises(ValueError, match=r"known: 1\.23, 1\.24, .*1\.29"):
        lines.line(name)


@pytest.mark.parametrize(
    ("tag", "minor", "version"),
    [
        ("1.27.4-distroless", "1.27", "1.27.4"),
        ("1.22.3-distroless", "1.23", "1.22.3"),
        ("1.30.2", "1.29", "1.30.2"),
    ],
)
def test_an_installed_tag_is_read_by_the_rules_of_its_line_or_the_one_before(
    tag: str, minor: str, version: str
) -> None:
    found = lines.at(tag)
    assert (found.minor if found.version == version else None) in {minor, f"{version.rsplit('.', 1)[0]}"}
    assert found.version == version
    assert found.pdb_needs_autoscale_min == lines.line(minor).pdb_needs_autoscale_min


# --- the version rules between every pair of lines ------------------------------------------------------


@pytest.mark.parametrize(
    ("installed", "target"),
    list(itertools.product(lines.LINES, lines.LINES)),
    ids=[f"{a.minor}->{b.minor}" for a, b in itertools.product(lines.LINES, lines.LINES)],
)
def test_between_lines_only_the_same_or_the_next_minor_is_allowed(
    installed: lines.Line, target: lines.Line
) -> None:
    decision = decide_upgrade(installed.tag, target.tag)
    step = int(target.minor.split(".")[1]) - int(installed.minor.split(".")[1])

    if step == 0:
        assert decision.verdict is Verdict.NO_CHANGE
    elif step == 1:
        assert decision.verdict is Verdict.UPGRADE
    else:
        assert decision.verdict is Verdict.NOT_ALLOWED
        assert decision.path is not None
        # The way out names a line this build has, never a release that does not exist.
        assert "--istio-line" in decision.path
        assert re.search(r"to (1\.\d+)", decision.path)


def test_an_explicit_target_below_the_installed_patch_is_a_downgrade_saying_the_line_keeps_it() -> None:
    decision = decide_upgrade("1.29.2-distroless", lines.NEWEST.tag)
    assert decision.verdict is Verdict.NOT_ALLOWED
    assert decision.path is not None
    assert "an operator on the 1.29 line keeps the installed 1.29.2" in decision.path


@pytest.mark.parametrize("line", lines.LINES, ids=[line.minor for line in lines.LINES])
def test_a_line_keeps_a_later_installed_patch_of_its_minor_and_nothing_else(line: lines.Line) -> None:
    major, minor, patch = (int(part) for part in line.version.split("."))
    later = line.keeping(f"{major}.{minor}.{patch + 3}-distroless")
    assert (later.version, later.kept_from, later.tag) == (
        f"{major}.{minor}.{patch + 3}",
        line.version,
        f"{major}.{minor}.{patch + 3}-distroless",
    )
    # Everything else the line says stays: the merge rules and the istioctl that installs it are the line's.
    assert dataclasses.replace(later, version=line.version, kept_from=None) == line
    for other in (
        None,
        "",
        "latest",
        line.version,
        f"{major}.{minor}.{max(patch - 1, 0)}",
        f"{major}.{minor + 1}.0",
        f"{major}.{minor - 1}.{patch + 9}",
        f"{major + 1}.{minor}.{patch + 1}",
    ):
        assert line.keeping(other) is line, other
    assert later.keeping(f"{major}.{minor}.{patch + 4}").kept_from == line.version


def test_the_version_rule_accepts_a_kept_patch_as_no_change() -> None:
    kept = lines.NEWEST.keeping("1.29.2-distroless")
    assert decide_upgrade("1.29.2-distroless", kept.tag).verdict is Verdict.NO_CHANGE


# --- what differs per line in the merge -------------------------------------------------------------------


@pytest.mark.parametrize("line", lines.LINES, ids=[line.minor for line in lines.LINES])
def test_the_pdb_values_follow_the_hpa_minimum_only_where_the_line_needs_them(line: lines.Line) -> None:
    iop = merge(IstioSpec(), profile=Profile.PRODUCTION, line=line)["spec"]
    pilot_min = iop["values"]["pilot"].get("autoscaleMin")
    gateway = iop["values"]["gateways"]["istio-ingressgateway"]

    assert iop["tag"] == line.tag
    if line.pdb_needs_autoscale_min:
        assert pilot_min == iop["components"]["pilot"]["k8s"]["hpaSpec"]["minReplicas"] == 2
        assert (
            gateway["autoscaleMin"]
            == iop["components"]["ingressGateways"][0]["k8s"]["hpaSpec"]["minReplicas"]
        )
    else:
        assert pilot_min == 1  # the template's, as before
        assert "autoscaleMin" not in gateway


def test_a_crs_hpa_minimum_reaches_the_pdb_value_on_the_newest_line() -> None:
    spec = IstioSpec.model_validate({"components": {"pilot": {"k8s": {"hpaSpec": {"minReplicas": 4}}}}})
    assert (
        merge(spec, profile=Profile.PRODUCTION, line=lines.NEWEST)["spec"]["values"]["pilot"]["autoscaleMin"]
        == 4
    )


def test_an_enabled_egress_gateways_hpa_minimum_reaches_its_pdb_value_on_the_newest_line() -> None:
    """Found by rendering the CR with every Kyma 1.30 field through each line's istioctl: without the
    value, istioctl 1.28+ renders no budget for the egress gateway."""
    spec = IstioSpec.model_validate(
        {"components": {"egressGateway": {"enabled": True, "k8s": {"hpaSpec": {"minReplicas": 3}}}}}
    )
    values = merge(spec, profile=Profile.PRODUCTION, line=lines.NEWEST)["spec"]["values"]
    assert values["gateways"]["istio-egressgateway"]["autoscaleMin"] == 3
    older = merge(spec, profile=Profile.PRODUCTION, line=lines.line("1.27"))["spec"]["values"]
    assert "autoscaleMin" not in older["gateways"].get("istio-egressgateway", {})


GOLDEN = Path(__file__).parents[2] / "data" / "golden" / "lines"


@pytest.mark.parametrize("profile", list(Profile), ids=[p.value for p in Profile])
@pytest.mark.parametrize("line", lines.LINES, ids=[line.minor for line in lines.LINES])
def test_each_line_renders_its_golden_document_for_the_default_cr(line: lines.Line, profile: Profile) -> None:
    rendered = json.dumps(merge(IstioSpec(), profile=profile, line=line), indent=1) + "\n"
    golden = GOLDEN / f"{line.minor}-{profile.value}.json"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(rendered, encoding="utf-8")
    assert rendered == golden.read_text(encoding="utf-8"), "review the change, then UPDATE_GOLDEN=1"


def test_the_charts_istio_line_value_accepts_exactly_the_lines_of_this_build() -> None:
    schema = json.loads(
        (TESTENV.parent / "deploy" / "chart" / "values.schema.json").read_text(encoding="utf-8")
    )
    pattern = re.compile(schema["properties"]["operator"]["properties"]["istioLine"]["pattern"])
    candidates = {f"1.{minor}" for minor in range(15, 40)} | {"", "1.29.1", "latest"}
    accepted = {c for c in candidates if pattern.search(c)}
    assert accepted == {line.minor for line in lines.LINES} | {""}


def test_the_charts_istio_version_annotation_is_the_default_line() -> None:
    chart = (TESTENV.parent / "deploy" / "chart" / "Chart.yaml").read_text(encoding="utf-8")
    assert f'kyma-istio.io/istio-version: "{lines.DEFAULT.version}"' in chart


def test_the_support_matrix_of_the_upgrade_docs_is_the_table() -> None:
    text = (TESTENV.parent / "docs" / "upgrades.md").read_text(encoding="utf-8")
    for line in lines.LINES:
        name = f"{line.minor} (default)" if line is lines.DEFAULT else line.minor
        row = (
            f"| {name} | {line.version} | {line.envoy} | {line.min_kubernetes} | {line.kyma_releases} | "
            f"{line.end_of_support} |"
        )
        assert row in text


@pytest.mark.parametrize(
    ("image", "release"),
    [
        ("docker.io/istio/proxyv2:1.29.1-distroless", (1, 29, 1)),
        ("registry.local:5000/istio/proxyv2:1.25.3@sha256:" + "0" * 64, (1, 25, 3)),
        ("registry.local:5000/istio/proxyv2", None),
        ("proxyv2", None),
        ("my/proxy:latest", None),
    ],
)
def test_an_image_references_release_is_read_from_its_tag(
    image: str, release: tuple[int, int, int] | None
) -> None:
    assert lines.image_release(image) == release
