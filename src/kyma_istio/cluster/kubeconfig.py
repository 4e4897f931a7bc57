"""The one kubeconfig loader: the operator's API client and kopf's watch both connect with what it returns.

It follows the rules users know from kubectl and controller-runtime (the Kyma manager's loader):

1. ``--kubeconfig FILE``: that file alone; it must exist.
2. ``$KUBECONFIG=a:b:...``: the files merged as kubectl merges them: missing files are skipped, for every
   cluster, user and context name the first file that defines it wins, and ``current-context`` comes
   from the first file that sets it. Relative paths are resolved against the file they appear in.
3. In a pod (``KUBERNETES_SERVICE_HOST`` and a mounted ServiceAccount token): the in-cluster config.
4. ``~/.kube/config``.

``--context`` picks a context by name instead of ``current-context``. Every error says what is wrong and
what to do, naming the files and the context; ``Resolved.target`` names the server and the context for
connection errors.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from lightkube import KubeConfig
from lightkube.config.kubeconfig import SingleConfig
from lightkube.config.models import User
from lightkube.core.exceptions import ConfigError

from kyma_istio.k8s.errors import NoConfig

SERVICE_ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")
HOME_CONFIG = Path("~/.kube/config")
IN_CLUSTER = "in-cluster"

_MAPS = ("clusters", "users", "contexts")
_PATH_KEYS = {
    "clusters": ("certificate-authority",),
    "users": ("client-certificate", "client-key", "tokenFile"),
}


@dataclass(frozen=True)
class Resolved:
    """One context resolved to what a client needs to connect."""

    config: SingleConfig
    """lightkube's view of the chosen context (server, user, namespace)."""
    context: str
    """The context's name (``in-cluster`` in a pod)."""
    sources: tuple[str, ...]
    """The files read, or ``("in-cluster",)``."""
    token_file: str | None = field(default=None)

    @property
    def server(self) -> str:
        return str(self.config.cluster.server)

    @property
    def target(self) -> str:
        """``https://host:6443 (context kind)``: what connection errors name."""
        return f"{self.server} (context {self.context})"

    def connection(self) -> dict[str, Any]:
        """The fields of kopf's ``ConnectionInfo`` for this context (kopf is imported by the operator)."""
        cluster, user = self.config.cluster, self.config.user or User()
        if user.exec is not None or user.auth_provider is not None:
            raise NoConfig(
                f"context {self.context} authenticates through a credential plugin, which the operator's "
                "watch cannot use: give it a token or client certificate (e.g. a ServiceAccount token)"
            )
        token = user.token
        if token is None and user.token_file:
            token = Path(self.config.abs_file(user.token_file)).read_text().strip()
        return {
            "server": self.server,
            "default_namespace": self.config.namespace,
            "ca_path": _abs(self.config, cluster.certificate_auth),
            "ca_data": cluster.certificate_auth_data,
            "insecure": bool(cluster.insecure),
            "username": user.username,
            "password": user.password,
            "token": token,
            "certificate_path": _abs(self.config, user.client_cert),
            "certificate_data": user.client_cert_data,
            "private_key_path": _abs(self.config, user.client_key),
            "private_key_data": user.client_key_data,
        }


def _abs(config: SingleConfig, path: str | None) -> str | None:
    return None if path is None else str(config.abs_file(path))


def resolve(
    kubeconfig: Path | None = None,
    context: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    service_account: Path = SERVICE_ACCOUNT,
) -> Resolved:
    """The context to connect with, by the rules in the module docstring; ``NoConfig`` says why not."""
    env = os.environ if environ is None else environ
    if kubeconfig is not None:
        if not kubeconfig.expanduser().is_file():
            raise NoConfig(f"kubeconfig {kubeconfig} not found: pass an existing file to --kubeconfig")
        return _from_files([kubeconfig.expanduser()], context, origin="--kubeconfig")
    listed = [Path(p).expanduser() for p in env.get("KUBECONFIG", "").split(os.pathsep) if p]
    if listed:
        present = [p for p in listed if p.is_file()]
        if not present:
            raise NoConfig(
                f"none of the files in KUBECONFIG exists ({os.pathsep.join(map(str, listed))}): "
                "fix KUBECONFIG or pass --kubeconfig"
            )
        return _from_files(present, context, origin="KUBECONFIG")
    if env.get("KUBERNETES_SERVICE_HOST") and (service_account / "token").is_file():
        if context is not None:
            raise NoConfig(
                f"--context {context} needs a kubeconfig; in a pod only the in-cluster config exists"
            )
        return _in_cluster(service_account, env)
    home = HOME_CONFIG.expanduser()
    if home.is_file():
        return _from_files([home], context, origin="~/.kube/config")
    raise NoConfig(
        "no cluster configuration: pass --kubeconfig FILE, set KUBECONFIG, "
        f"or create {HOME_CONFIG} (in a pod the ServiceAccount token is used)"
    )


def merge(documents: Sequence[tuple[Path, Mapping[str, Any]]]) -> dict[str, Any]:
    """kubectl's merge of several kubeconfig files: the first definition of each name wins, and the
    first ``current-context`` set wins; relative paths become absolute against their own file."""
    merged: dict[str, Any] = {"apiVersion": "v1", "kind": "Config", "current-context": ""}
    for key in _MAPS:
        merged[key] = []
    seen: dict[str, set[str]] = {key: set() for key in _MAPS}
    for path, doc in documents:
        if not merged["current-context"] and doc.get("current-context"):
            merged["current-context"] = doc["current-context"]
        for key in _MAPS:
            for entry in doc.get(key) or []:
                name = entry.get("name") if isinstance(entry, Mapping) else None
                if not isinstance(name, str) or name in seen[key]:
                    continue
                seen[key].add(name)
                merged[key].append(_absolute_paths(key, entry, path.parent))
    return merged


def _absolute_paths(key: str, entry: Mapping[str, Any], base: Path) -> dict[str, Any]:
    inner_key = key[:-1]  # clusters -> cluster, users -> user
    inner = dict(entry.get(inner_key) or {})
    for path_key in _PATH_KEYS.get(key, ()):
        value = inner.get(path_key)
        if isinstance(value, str) and value and not Path(value).expanduser().is_absolute():
            inner[path_key] = str(base / value)
    return {**entry, inner_key: inner}


def _read(path: Path) -> dict[str, Any]:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise NoConfig(f"kubeconfig {path} is not UTF-8 text: point at a kubeconfig file") from None
    except yaml.YAMLError as err:
        where = getattr(err, "problem_mark", None)
        at = f" (line {where.line + 1})" if where is not None else ""
        raise NoConfig(f"kubeconfig {path} is not valid YAML{at}: fix the file or point elsewhere") from None
    except OSError as err:
        raise NoConfig(f"kubeconfig {path} unreadable: {err.strerror}") from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise NoConfig(
            f"kubeconfig {path} is not a kubeconfig (a YAML mapping with clusters, users, contexts)"
        )
    return doc


def _from_files(paths: list[Path], context: str | None, *, origin: str) -> Resolved:
    merged = merge([(p, _read(p)) for p in paths])
    files = ", ".join(map(str, paths))
    contexts = sorted(c["name"] for c in merged["contexts"])
    name = context or merged["current-context"]
    if not name:
        raise NoConfig(
            f"no current-context in {files}: pass --context (known: {', '.join(contexts) or 'none'})"
        )
    if name not in contexts:
        raise NoConfig(
            f"context {name} not found in {files} ({origin}): known contexts: {', '.join(contexts) or 'none'}"
        )
    try:
        single = KubeConfig.from_dict(merged, fname=paths[0]).get(name)
    except (ConfigError, KeyError, TypeError, AttributeError, ValueError) as err:
        raise NoConfig(f"context {name} in {files} is incomplete ({err}): fix its cluster and user") from None
    if single is None or not single.cluster.server:
        raise NoConfig(f"context {name} in {files} names no cluster server: fix its cluster entry")
    return Resolved(config=single, context=name, sources=tuple(map(str, paths)))


def _in_cluster(service_account: Path, env: Mapping[str, str]) -> Resolved:
    host, port = env["KUBERNETES_SERVICE_HOST"], env.get("KUBERNETES_SERVICE_PORT", "443")
    if ":" in host:
        host = f"[{host}]"  # IPv6
    token_file = service_account / "token"
    context: dict[str, str] = {"cluster": IN_CLUSTER, "user": IN_CLUSTER}
    namespace_file = service_account / "namespace"
    if namespace_file.is_file():
        context["namespace"] = namespace_file.read_text().strip()
    doc = {
        "current-context": IN_CLUSTER,
        "clusters": [
            {
                "name": IN_CLUSTER,
                "cluster": {
                    "server": f"https://{host}:{port}",
                    "certificate-authority": str(service_account / "ca.crt"),
                },
            }
        ],
        "users": [{"name": IN_CLUSTER, "user": {"tokenFile": str(token_file)}}],
        "contexts": [{"name": IN_CLUSTER, "context": context}],
    }
    single = KubeConfig.from_dict(doc).get(IN_CLUSTER)
    assert single is not None
    return Resolved(config=single, context=IN_CLUSTER, sources=(IN_CLUSTER,), token_file=str(token_file))
