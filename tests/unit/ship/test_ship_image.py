"""The two image builds, ``make image`` (image/) and the Dockerfile, take the same pins and produce the same
runtime contract; every pin of the lock carries hashes; the SBOM reads istioctl's module list."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest
from dockerfile_parse import DockerfileParser
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[3]
LOCK = ROOT / "requirements.lock"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"image_{name}", ROOT / "image" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


assemble = _load("assemble")
sbom = _load("sbom")


@pytest.fixture(scope="module")
def final_stage() -> dict[str, list[str]]:
    """The final stage's instructions, by instruction name."""
    parser = DockerfileParser(str(ROOT / "Dockerfile"))
    stage: dict[str, list[str]] = {}
    for instruction in parser.structure:
        if instruction["instruction"] == "FROM":
            stage = {}
        stage.setdefault(instruction["instruction"], []).append(instruction["value"])
    return stage


def _dockerfile_env(final_stage: dict[str, list[str]]) -> dict[str, str]:
    words = re.findall(r"(\w+)=(\S+)", " ".join(final_stage["ENV"]))
    return dict(words)


def _locked() -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) of every entry of the lock."""
    entries: dict[str, tuple[str, list[str]]] = {}
    for block in re.split(r"\n(?=\S)", LOCK.read_text()):
        pin = re.match(r"([A-Za-z0-9_.\-]+)==(\S+)", block)
        if pin:
            entries[canonicalize_name(pin[1])] = (pin[2], re.findall(r"--hash=sha256:([0-9a-f]{64})", block))
    return entries


def test_the_dockerfile_installs_the_same_hash_checked_lock_as_make_image() -> None:
    text = (ROOT / "Dockerfile").read_text()
    ignore = (ROOT / ".dockerignore").read_text().splitlines()

    assert "COPY pyproject.toml README.md requirements.lock ./" in text
    assert "--require-hashes --only-binary=:all: -r requirements.lock" in text
    assert "!requirements.lock" in ignore
    build = (ROOT / "image" / "build").read_text()
    assert '--require-hashes "${platforms[@]}"' in build
    assert '-r "$root/requirements.lock"' in build


def test_both_builds_run_kyma_istio_run_as_65532_with_the_same_command_ports_and_environment(
    final_stage: dict[str, list[str]],
) -> None:
    env = _dockerfile_env(final_stage)

    assert json.loads(final_stage["ENTRYPOINT"][-1]) == assemble.ENTRYPOINT
    assert json.loads(final_stage["CMD"][-1]) == assemble.CMD
    assert final_stage["USER"][-1] == f"{assemble.UID}:{assemble.UID}"
    assert final_stage["EXPOSE"][-1].split() == list(assemble.PORTS)
    assert final_stage["VOLUME"][-1] == "/tmp"
    assert final_stage["WORKDIR"][-1] == "/tmp"
    for name, value in assemble.ENV.items():
        if name != "PATH":  # the Dockerfile's venv lives elsewhere
            assert env[name] == value, name


def test_both_builds_label_the_image_with_version_revision_source_and_licence(
    final_stage: dict[str, list[str]],
) -> None:
    labels = " ".join(final_stage["LABEL"])
    for key in ("version", "revision", "source", "licenses"):
        assert f"org.opencontainers.image.{key}=" in labels
    assert 'licenses="Apache-2.0"' in labels
    assert 'license = "Apache-2.0"' in (ROOT / "pyproject.toml").read_text()


def test_every_pin_of_the_lock_carries_the_hashes_the_image_build_checks() -> None:
    locked = _locked()

    assert len(locked) > 10
    assert [name for name, (_, hashes) in locked.items() if not hashes] == []


# The shape of `go version -m` on a line's istioctl (testenv/build's istio-1.23-<hash>/istioctl-1.23.2,
# shortened): built from outside its module, the binary records istio.io/istio as its main module.
GO_VERSION_M = """\
/cache/istioctl-1.23.2: go1.26.8
\tpath\tistio.io/istio/istioctl/cmd/istioctl
\tmod\tistio.io/istio\tv0.0.0-20240917190016-da0b3f29e9f9\th1:UhxL8VMX4CoumR2Sozrn3Tmzm0TEp9LW0ByerCkak08=
\tdep\tgithub.com/imdario/mergo\tv0.3.16
\t=>\tgithub.com/imdario/mergo\tv0.3.5\th1:JboBksRwiiAJWvIYJVo46AfV+IAh/TZqsU5p0t1AOj0=
\tdep\tistio.io/api\tv1.23.2\th1:aaa=
\tbuild\t-tags=vtprotobuf,disable_pgv
\tbuild\tCGO_ENABLED=0
"""


def test_the_istioctl_layer_names_the_line_its_binary_was_built_from() -> None:
    comment = assemble.istioctl_comment(Path("/cache/testenv/istio-1.29-0123456789ab/istioctl-1.29.1"))
    assert comment == "istioctl 1.29.1 from testenv/istio-1.29/go.mod (testenv/build)"


def test_the_sbom_takes_istioctls_modules_with_replacements_followed() -> None:
    build = sbom.parse_go_version_m(GO_VERSION_M)

    assert build.go == "go1.26.8"
    assert build.package == "istio.io/istio/istioctl/cmd/istioctl"
    assert [(m.path, m.version) for m in build.modules] == [
        ("github.com/imdario/mergo", "v0.3.5"),
        ("istio.io/api", "v1.23.2"),
    ]
    assert build.settings == {"-tags": "vtprotobuf,disable_pgv", "CGO_ENABLED": "0"}


def test_the_sbom_links_istioctl_and_its_modules_under_the_root_component() -> None:
    build = sbom.parse_go_version_m(GO_VERSION_M)
    istioctl, modules = sbom.go_components(build, "1.23.2")
    python_bom = {
        "metadata": {"component": {"bom-ref": "root"}},
        "components": [{"bom-ref": "py:a"}],
        "dependencies": [{"ref": "py:a"}, {"ref": "root"}],
    }

    merged = sbom.merge(python_bom, istioctl, modules)

    graph = {d["ref"]: d.get("dependsOn", []) for d in merged["dependencies"]}
    assert graph["root"] == ["istioctl", "py:a"]
    assert graph["istioctl"] == ["go:github.com/imdario/mergo@v0.3.5", "go:istio.io/api@v1.23.2"]
    assert modules[0]["purl"] == "pkg:golang/github.com/imdario/mergo@v0.3.5"
    assert "from testenv/istio-1.23/go.mod " in istioctl["description"]
    assert python_bom["components"] == [{"bom-ref": "py:a"}], "the input BOM is left alone"
