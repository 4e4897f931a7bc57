"""The Dockerfile cannot be built here (no Docker engine); these tests check what can be read from it."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
from dockerfile_parse import DockerfileParser

from kyma_istio.lines import DEFAULT as DEFAULT_LINE

ROOT = Path(__file__).resolve().parents[3]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
TESTENV_BUILD = ROOT / "testenv" / "build"
DEFAULT_PINS = f"testenv/istio-{DEFAULT_LINE.minor}"
"""The default line's Go module, which the image's istioctl is built from."""

DIGEST = re.compile(r"^[a-z0-9.\-/:]+:[A-Za-z0-9._\-]+@sha256:[0-9a-f]{64}$")


@pytest.fixture(scope="module")
def parser() -> DockerfileParser:
    return DockerfileParser(str(DOCKERFILE))


def _stages(parser: DockerfileParser) -> list[list[dict[str, Any]]]:
    stages: list[list[dict[str, Any]]] = []
    for instruction in parser.structure:
        if instruction["instruction"] == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(instruction)
    return stages


def _stage(parser: DockerfileParser, name: str) -> list[dict[str, Any]]:
    for stage in _stages(parser):
        if stage[0]["value"].split()[-1] == name:
            return stage
    raise AssertionError(f"no stage named {name}")


def _values(stage: list[dict[str, Any]], instruction: str) -> list[str]:
    return [i["value"] for i in stage if i["instruction"] == instruction]


def test_the_dockerfile_parses_into_an_istioctl_a_python_and_a_final_stage(
    parser: DockerfileParser,
) -> None:
    names = [stage[0]["value"].split()[-1] for stage in _stages(parser)]
    assert parser.is_multistage
    assert names == ["istioctl", "python", "final"]


def test_every_base_image_is_pinned_by_version_tag_and_sha256_digest(parser: DockerfileParser) -> None:
    images = parser.parent_images
    assert len(images) == 3
    for image in images:
        assert DIGEST.match(image), image
        tag = image.split("@")[0].rsplit(":", 1)[1]
        assert re.match(r"^\d+\.\d+\.\d+", tag), f"{image}: the tag must name a full version"


def test_the_final_image_is_slim_python_311(parser: DockerfileParser) -> None:
    assert parser.baseimage.startswith("python:3.11.")
    assert "-slim" in parser.baseimage


def test_the_final_stage_runs_as_uid_65532_and_not_as_root(parser: DockerfileParser) -> None:
    users = _values(_stage(parser, "final"), "USER")
    assert users, "the final stage sets no USER"
    assert users[-1].split(":")[0] == "65532"


def test_the_final_stage_runs_no_build_commands_and_downloads_nothing(parser: DockerfileParser) -> None:
    final = _stage(parser, "final")
    assert _values(final, "RUN") == [], "the final stage must only copy built artefacts"
    assert _values(final, "ADD") == []
    text = " ".join(i["content"] for i in final)
    assert not re.search(r"\b(curl|wget|apt-get|pip|gcc|go)\b", text.replace("--from=", ""))


def test_the_final_stage_points_home_and_tmpdir_at_tmp_for_a_read_only_root(
    parser: DockerfileParser,
) -> None:
    env = " ".join(_values(_stage(parser, "final"), "ENV"))
    assert "HOME=/tmp" in env
    assert "TMPDIR=/tmp" in env


def test_the_entrypoint_is_kyma_istio_run(parser: DockerfileParser) -> None:
    entrypoints = _values(_stage(parser, "final"), "ENTRYPOINT")
    assert entrypoints == ['["kyma-istio", "run"]']


def test_the_final_stage_takes_istioctl_from_the_istioctl_stage_and_names_it_for_the_operator(
    parser: DockerfileParser,
) -> None:
    final = _stage(parser, "final")
    copies = _values(final, "COPY")
    assert "--from=istioctl /out/istioctl /usr/local/bin/istioctl" in copies
    assert "ISTIOCTL_PATH=/usr/local/bin/istioctl" in " ".join(_values(final, "ENV"))


def test_the_default_line_is_the_newest_testenv_line() -> None:
    # image/build builds the newest testenv/istio-<minor> and testenv/build links the newest line's
    # binaries as the plain istioctl and pilot-discovery: both take the newest line for the default.
    newest = max((p.name for p in (ROOT / "testenv").glob("istio-1.*")), key=lambda n: int(n.split(".")[1]))
    assert f"testenv/{newest}" == DEFAULT_PINS


def test_istioctl_is_built_from_the_default_lines_go_module_pins(parser: DockerfileParser) -> None:
    stage = _stage(parser, "istioctl")
    assert f"{DEFAULT_PINS}/go.mod {DEFAULT_PINS}/go.sum ./" in _values(stage, "COPY")
    builds = [run for run in _values(stage, "RUN") if "go build" in run]
    assert len(builds) == 1
    words = _build_words(builds[0])
    assert words[-1] == "istio.io/istio/istioctl/cmd/istioctl", "only istioctl, not the line's istiod"
    assert _flag(words, "-o") == "/out/istioctl"


def test_the_go_image_is_new_enough_for_the_default_lines_go_mod(parser: DockerfileParser) -> None:
    # GOTOOLCHAIN=local: a Go older than the go.mod's go line refuses to build instead of downloading one.
    go_image = next(image for image in parser.parent_images if image.startswith("golang:"))
    have = re.match(r"golang:(\d+)\.(\d+)\.(\d+)", go_image)
    need = re.search(r"^go (\d+)\.(\d+)(?:\.(\d+))?$", (ROOT / DEFAULT_PINS / "go.mod").read_text(), re.M)
    assert have and need
    assert tuple(int(g) for g in have.groups()) >= tuple(int(g or 0) for g in need.groups())


def _build_words(command: str) -> list[str]:
    words = shlex.split(command.split("&&", maxsplit=1)[0])
    return words[words.index("build") + 1 :]


def _flag(words: list[str], flag: str) -> str:
    return words[words.index(flag) + 1]


def _testenv_default_line_flags() -> tuple[str, str]:
    """The -tags and -ldflags testenv/build gives the default line (its ``istio-1.*`` component and
    ``istio_ldflags``), with the release and commit of the line's ``// istio-release:`` comment."""
    text = TESTENV_BUILD.read_text()
    block = text[text.index("    istio-1.*)") :]
    block = block[: block.index(";;")]
    function = text[text.index("istio_ldflags() {") :]
    function = function[: function.index("\n}")]
    tags = re.search(r"-tags (\S+)", block)
    package = re.search(r"local p=(\S+)", function)
    ldflags = re.search(r'echo "([^"]+)"', function)
    assert '-ldflags "$(istio_ldflags $rc)"' in block, "testenv/build's istio line part changed shape"
    assert tags and package and ldflags, "testenv/build's istio line part changed shape"
    stamp = re.search(r"^// istio-release: (\S+) (\S+)$", (ROOT / DEFAULT_PINS / "go.mod").read_text(), re.M)
    assert stamp, f"{DEFAULT_PINS}/go.mod has no '// istio-release:' line"
    release, commit = stamp.groups()
    expanded = ldflags.group(1).replace("$p", package.group(1)).replace("$1", release).replace("$2", commit)
    return tags.group(1), expanded


def test_istioctl_is_built_with_the_same_tags_and_ldflags_as_testenv_build(parser: DockerfileParser) -> None:
    build = next(run for run in _values(_stage(parser, "istioctl"), "RUN") if "go build" in run)
    words = _build_words(build)
    tags, ldflags = _testenv_default_line_flags()
    assert _flag(words, "-tags") == tags
    assert _flag(words, "-ldflags") == ldflags
    assert "-trimpath" in words


def test_the_istioctl_build_stamps_the_pinned_istio_release(parser: DockerfileParser) -> None:
    build = next(run for run in _values(_stage(parser, "istioctl"), "RUN") if "go build" in run)
    ldflags = _flag(_build_words(build), "-ldflags")
    assert f"buildVersion={DEFAULT_LINE.version} " in ldflags
    assert f"buildGitRevision={DEFAULT_LINE.commit} " in ldflags


def test_the_build_context_admits_only_what_the_dockerfile_copies() -> None:
    lines = [line for line in DOCKERIGNORE.read_text().splitlines() if line and not line.startswith("#")]
    assert lines[0] == "*"
    admitted = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    assert {"src", "pyproject.toml", f"{DEFAULT_PINS}/go.mod", f"{DEFAULT_PINS}/go.sum"} <= admitted
    assert ".venv" not in admitted
