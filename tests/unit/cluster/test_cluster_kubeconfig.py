"""The kubeconfig loader follows kubectl's rules: explicit file, merged $KUBECONFIG, in-cluster, home."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from kyma_istio.cluster.kubeconfig import merge, resolve
from kyma_istio.k8s.errors import NoConfig


def _config(
    current: str | None, *entries: tuple[str, str], token: str = "t", ca: str | None = None
) -> dict[str, Any]:
    """A kubeconfig with one context, cluster and user per (context name, server)."""
    cluster_extra = {"certificate-authority": ca} if ca else {}
    doc: dict[str, Any] = {
        "clusters": [{"name": n, "cluster": {"server": s, **cluster_extra}} for n, s in entries],
        "users": [{"name": n, "user": {"token": f"{token}-{n}"}} for n, _ in entries],
        "contexts": [
            {"name": n, "context": {"cluster": n, "user": n, "namespace": "ns"}} for n, _ in entries
        ],
    }
    if current is not None:
        doc["current-context"] = current
    return doc


def _write(path: Path, doc: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(doc))
    return path


def test_the_first_file_wins_per_name_and_sets_the_current_context(tmp_path: Path) -> None:
    a = _write(tmp_path / "a", _config(None, ("one", "https://a-one:6443"), ("shared", "https://a:6443")))
    b = _write(tmp_path / "b", _config("shared", ("shared", "https://b:6443"), ("two", "https://b-two:6443")))
    c = _write(tmp_path / "c", _config("two", ("three", "https://c:6443")))

    found = resolve(environ={"KUBECONFIG": f"{a}:{tmp_path / 'absent'}:{b}:{c}"})

    # current-context from b (a sets none), the "shared" cluster and user from a (first definition).
    assert found.context == "shared"
    assert found.server == "https://a:6443"
    assert found.connection()["token"] == "t-shared"
    assert found.sources == (str(a), str(b), str(c))
    assert resolve(context="three", environ={"KUBECONFIG": f"{a}:{b}:{c}"}).server == "https://c:6443"


def test_relative_paths_are_resolved_against_their_own_file(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    first = _write(tmp_path / "first", _config("x", ("x", "https://x:6443"), ca="ca.crt"))
    second = _write(tmp_path / "sub" / "second", _config(None, ("y", "https://y:6443"), ca="certs/ca.crt"))

    merged = merge([(first, yaml.safe_load(first.read_text())), (second, yaml.safe_load(second.read_text()))])

    authorities = {c["name"]: c["cluster"]["certificate-authority"] for c in merged["clusters"]}
    assert authorities == {"x": str(tmp_path / "ca.crt"), "y": str(tmp_path / "sub" / "certs" / "ca.crt")}
    found = resolve(context="y", environ={"KUBECONFIG": f"{first}:{second}"})
    assert found.connection()["ca_path"] == str(tmp_path / "sub" / "certs" / "ca.crt")


def test_an_explicit_file_wins_over_kubeconfig(tmp_path: Path) -> None:
    explicit = _write(tmp_path / "explicit", _config("e", ("e", "https://e:6443")))
    listed = _write(tmp_path / "listed", _config("l", ("l", "https://l:6443")))

    found = resolve(explicit, environ={"KUBECONFIG": str(listed)})

    assert found.target == "https://e:6443 (context e)"


def test_in_a_pod_the_service_account_is_used(tmp_path: Path) -> None:
    account = tmp_path / "sa"
    account.mkdir()
    (account / "token").write_text("pod-token\n")
    (account / "ca.crt").write_text("ca")
    (account / "namespace").write_text("kyma-system")
    env = {"KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"}

    found = resolve(environ=env, service_account=account)

    assert found.target == "https://10.0.0.1:443 (context in-cluster)"
    connection = found.connection()
    assert connection["token"] == "pod-token"
    assert connection["ca_path"] == str(account / "ca.crt")
    assert connection["default_namespace"] == "kyma-system"


def test_the_home_file_is_the_last_resort(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".kube").mkdir()
    _write(tmp_path / ".kube" / "config", _config("h", ("h", "https://h:6443")))

    assert resolve(environ={}, service_account=tmp_path / "none").server == "https://h:6443"


def test_nothing_to_connect_with_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))

    with pytest.raises(NoConfig, match="pass --kubeconfig FILE, set KUBECONFIG"):
        resolve(environ={}, service_account=tmp_path / "none")


def test_the_kubeconfig_and_the_kopf_login_agree(tmp_path: Path) -> None:
    path = _write(tmp_path / "k", _config("k", ("k", "https://k:6443")))

    found = resolve(path)

    assert found.connection()["server"] == found.server == str(found.config.cluster.server)
    assert found.connection()["default_namespace"] == "ns"


def test_a_credential_plugin_is_refused_for_the_watch_in_one_sentence(tmp_path: Path) -> None:
    doc = _config("p", ("p", "https://p:6443"))
    doc["users"][0]["user"] = {
        "exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": "gke-auth"}
    }
    found = resolve(_write(tmp_path / "k", doc))

    with pytest.raises(NoConfig, match="context p authenticates through a credential plugin"):
        found.connection()
