"""Finding the Go-built tools: the override, and an error that names the missing piece and the fix."""

from pathlib import Path

import pytest

from kyma_istio.devenv import tools


def test_the_bin_dir_follows_the_cache_like_the_build_script(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(tools.BIN_DIR_ENV, raising=False)
    monkeypatch.setenv("KYMA_ISTIO_CACHE", "/c")

    assert tools.bin_dir() == Path("/c/testenv/bin")


def test_an_explicit_bin_dir_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(tools.BIN_DIR_ENV, str(tmp_path))
    (tmp_path / "etcd").write_text("#!/bin/sh\n")
    (tmp_path / "etcd").chmod(0o755)

    assert tools.find_tool("etcd") == tmp_path / "etcd"


def test_a_missing_tool_names_itself_and_make_testenv(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(tools.BIN_DIR_ENV, str(tmp_path))

    with pytest.raises(tools.MissingToolError, match=r"kube-apiserver not found.*make testenv"):
        tools.find_tool("kube-apiserver")


def test_missing_kwok_stages_point_to_make_testenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(tools.BIN_DIR_ENV, str(tmp_path))

    with pytest.raises(tools.MissingToolError, match=r"kwok Stage files.*make testenv"):
        tools.kwok_stage_files()
