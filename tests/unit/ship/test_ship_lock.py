"""requirements.lock pins every runtime dependency of pyproject.toml at a version its range allows, so the
audited versions (`make audit`) are the ones the venv and the image install. `make lock` re-resolves it."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[3]


def _pins(text: str) -> dict[str, Version]:
    pins: dict[str, Version] = {}
    for raw in text.splitlines():
        # Hash options (`--hash=sha256:...`, on continuation lines) belong to the pin above them.
        line = raw.split("#", 1)[0].strip().removesuffix("\\").strip()
        if not line or line.startswith("--hash="):
            continue
        requirement = Requirement(line)
        specifiers = list(requirement.specifier)
        assert len(specifiers) == 1, f"not pinned: {line}"
        assert specifiers[0].operator == "==", f"not pinned: {line}"
        pins[canonicalize_name(requirement.name)] = Version(specifiers[0].version)
    return pins


def _runtime_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(dependency) for dependency in project["dependencies"]]


def test_every_runtime_dependency_is_pinned_within_its_pyproject_range() -> None:
    pins = _pins((ROOT / "requirements.lock").read_text())
    problems = []
    for requirement in _runtime_requirements():
        pinned = pins.get(canonicalize_name(requirement.name))
        if pinned is None:
            problems.append(f"{requirement.name} missing")
        elif not requirement.specifier.contains(pinned, prereleases=True):
            problems.append(f"{requirement.name}=={pinned} outside {requirement.specifier}")
    assert problems == [], "run `make lock`: " + "; ".join(problems)


def test_the_lock_names_no_index_of_this_machine() -> None:
    text = (ROOT / "requirements.lock").read_text()
    assert not [line for line in text.splitlines() if line.startswith("-")]


def test_a_lock_line_without_an_exact_pin_is_refused() -> None:
    with pytest.raises(AssertionError, match="not pinned: pyyaml>=6"):
        _pins("pyyaml>=6\n")
