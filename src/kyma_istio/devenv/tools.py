"""Where the Go-built control-plane tools live.

``testenv/build`` builds them once per pin into a cache and links them into one ``bin`` directory; this
module finds that directory the same way the script does, so the two never disagree. A missing tool is a
set-up problem, not a test failure, so the error names the tool and the command that fixes it.
"""

import os
from pathlib import Path
from typing import Final

BIN_DIR_ENV: Final = "KYMA_ISTIO_TESTENV_BIN"
"""Overrides the directory holding the tools (for CI caches or hand-built binaries)."""

KWOK_STAGES: Final = "kwok-stages"
"""Directory, next to the binaries, of the kwok Stage files copied from the pinned kwok module."""


class MissingToolError(RuntimeError):
    """A control-plane binary or data file is absent; ``make testenv`` builds it."""


def cache_root() -> Path:
    """The project's cache root, resolved exactly like ``testenv/build`` does."""
    if explicit := os.environ.get("KYMA_ISTIO_CACHE"):
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "kyma-istio"


def bin_dir() -> Path:
    """The directory of tool links: ``$KYMA_ISTIO_TESTENV_BIN`` or ``<cache>/testenv/bin``."""
    if explicit := os.environ.get(BIN_DIR_ENV):
        return Path(explicit)
    return cache_root() / "testenv" / "bin"


def find_tool(name: str) -> Path:
    """Path of an executable tool such as ``kube-apiserver``, or a :class:`MissingToolError`."""
    path = bin_dir() / name
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise MissingToolError(
            f"{name} not found in {path.parent} (set {BIN_DIR_ENV} to use another directory); "
            "run `make testenv` to build the local control plane's tools"
        )
    return path


def kwok_stage_files() -> list[Path]:
    """The Stage configs kwok plays for fake nodes and pods; kwok refuses to start without them."""
    directory = bin_dir() / KWOK_STAGES
    files = sorted(directory.glob("*.yaml")) if directory.is_dir() else []
    if not files:
        raise MissingToolError(
            f"no kwok Stage files in {directory}; run `make testenv` (testenv/build copies them "
            "from the pinned kwok module)"
        )
    return files
