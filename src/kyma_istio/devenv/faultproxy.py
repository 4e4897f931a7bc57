"""A fault-injecting HTTPS proxy between a client (the operator) and the local kube-apiserver.

Why: the operator must survive what real API servers do under load or during upgrades (429 with
Retry-After, 5xx, conflicts, expired list tokens, connection resets, slow replies, dropped watches).
A real server does none of this on demand, so tests and ``benchmarks/faults.py`` put this proxy in
between. It terminates TLS with a certificate from the cluster's CA, forwards to kube-apiserver with the
admin client certificate (or, when the caller sends a bearer token, with that token and no certificate),
and injects faults by rule. Decisions come from one seeded ``random.Random``, so a run is reproducible
for a given request order.

``FaultProxy.counts`` tells what reached the server: successful writes per object path are the
server-side count "each owner patched exactly once" is checked against. Loopback only.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import enum
import random
import ssl
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from aiohttp import web

from kyma_istio.devenv import pki

WRITE_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection"})
_HOP_HEADERS = frozenset(
    {"host", "connection", "keep-alive", "transfer-encoding", "content-length", "te", "upgrade"}
)


class Fault(enum.StrEnum):
    """What the proxy does instead of (or besides) forwarding a request."""

    TOO_MANY_REQUESTS = "429"
    """A 429 Status with ``Retry-After``; nothing reaches the server."""
    INTERNAL_ERROR = "500"
    UNAVAILABLE = "503"
    CONFLICT = "409"
    """A 409 Conflict (writes only); nothing reaches the server."""
    GONE = "410"
    """A 410 Expired on a list page that carries a ``continue`` token."""
    RESET = "reset"
    """The connection is cut before forwarding: the server never sees the request."""
    RESET_AFTER = "reset-after"
    """Forwarded, then the connection is cut before the reply: the server did it, the client does not
    know (the case that makes a naive retry a duplicate write)."""
    SLOW = "slow"
    """Forwarded after a delay."""
    DROP_WATCH = "drop-watch"
    """A watch stream is forwarded, then cut after a delay."""


@dataclass(frozen=True)
class Request:
    """What a rule matches on: the Kubernetes verb and resource of one HTTP request."""

    verb: str
    """get, list, watch, create, update, patch, delete, deletecollection."""
    resource: str
    """The plural, with a subresource as ``pods/eviction``; "" for non-resource paths."""
    name: str
    has_continue: bool = False


def describe(method: str, path: str, query: dict[str, str]) -> Request:
    """The verb and resource of ``method path?query``, as the API server's authorizer names them."""
    parts = [p for p in path.split("/") if p]
    if parts[:1] == ["api"]:
        rest = parts[2:]
    elif parts[:1] == ["apis"]:
        rest = parts[3:]
    else:
        return Request(method.lower(), "", "")
    if rest[:1] == ["namespaces"] and len(rest) >= 3:
        rest = rest[2:]
    resource = rest[0] if rest else ""
    name = rest[1] if len(rest) > 1 else ""
    if len(rest) > 2:
        resource = f"{resource}/{rest[2]}"
    if method == "GET":
        verb = "watch" if query.get("watch") in ("true", "1") else ("get" if name else "list")
    else:
        verb = {"POST": "create", "PUT": "update", "PATCH": "patch"}.get(method, "")
        if method == "DELETE":
            verb = "delete" if name else "deletecollection"
    return Request(verb, resource, name, has_continue=bool(query.get("continue")))


@dataclass(frozen=True)
class Rule:
    """Inject ``fault`` into a ``rate`` share of the matching requests."""

    fault: Fault
    rate: float
    verbs: frozenset[str] | None = None
    """None matches every verb."""
    resources: frozenset[str] | None = None
    """None matches every resource (non-resource paths such as /version never match)."""
    retry_after_s: int = 1
    delay_s: float = 0.5

    def matches(self, request: Request) -> bool:
        if not request.resource:
            return False
        if self.verbs is not None and request.verb not in self.verbs:
            return False
        if self.resources is not None and request.resource not in self.resources:
            return False
        if self.fault is Fault.CONFLICT and request.verb not in WRITE_VERBS:
            return False
        if self.fault is Fault.GONE and not (request.verb == "list" and request.has_continue):
            return False
        return self.fault is not Fault.DROP_WATCH or request.verb == "watch"


def choose(rules: Sequence[Rule], request: Request, rng: random.Random) -> Rule | None:
    """The first matching rule whose dice roll hits, or None (forward untouched). One roll per matching
    rule, in order, so a seed gives the same choices for the same request sequence."""
    for rule in rules:
        if rule.matches(request) and rng.random() < rule.rate:
            return rule
    return None


def mixed(rate: float, *, retry_after_s: int = 1) -> list[Rule]:
    """``rate`` of all requests failing, spread evenly over 500, 503, 429 and connection resets before
    and after the server acted (the mix of the issue's "20 % of requests failing")."""
    kinds = (Fault.INTERNAL_ERROR, Fault.UNAVAILABLE, Fault.TOO_MANY_REQUESTS, Fault.RESET, Fault.RESET_AFTER)
    rules: list[Rule] = []
    remaining = 1.0
    for fault in kinds:
        # Conditional rates so the overall share of each kind is rate / len(kinds).
        share = rate / len(kinds)
        rules.append(Rule(fault, share / remaining if remaining > 0 else 0.0, retry_after_s=retry_after_s))
        remaining -= share
    return rules


@dataclass
class Counts:
    """What passed through the proxy."""

    requests: collections.Counter[str] = field(default_factory=collections.Counter)
    """Requests received, by verb."""
    injected: collections.Counter[str] = field(default_factory=collections.Counter)
    """Faults injected, by fault."""
    writes: collections.Counter[str] = field(default_factory=collections.Counter)
    """Writes the server answered with success, by ``VERB path`` (``RESET_AFTER`` ones included)."""

    def writes_to(self, verb: str, path_suffix: str) -> int:
        return sum(
            n for key, n in self.writes.items() if key.startswith(verb + " ") and key.endswith(path_suffix)
        )


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


_FAULT_REPLIES = {
    Fault.TOO_MANY_REQUESTS: (429, "TooManyRequests", "fault proxy: too many requests, retry later"),
    Fault.INTERNAL_ERROR: (500, "InternalError", "fault proxy: internal error"),
    Fault.UNAVAILABLE: (503, "ServiceUnavailable", "fault proxy: service unavailable"),
    Fault.CONFLICT: (409, "Conflict", "fault proxy: the object has been modified; please apply your changes"),
    Fault.GONE: (410, "Expired", "fault proxy: the provided continue parameter is too old"),
}


class FaultProxy:
    """An HTTPS proxy on 127.0.0.1 in front of ``upstream``; ``start()`` it in a running event loop."""

    def __init__(
        self,
        *,
        upstream: str,
        files: pki.PkiFiles,
        rules: Iterable[Rule] = (),
        seed: int = 0,
        workdir: Path,
    ) -> None:
        self.upstream = upstream.rstrip("/")
        self.files = files
        self.rules: list[Rule] = list(rules)
        self.rng = random.Random(seed)
        self.counts = Counts()
        self.workdir = workdir
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._sessions: dict[bool, aiohttp.ClientSession] = {}
        self._watches: set[asyncio.Transport] = set()

    # --- lifecycle -----------------------------------------------------------------------------------

    async def start(self) -> FaultProxy:
        self.workdir.mkdir(parents=True, exist_ok=True)
        serving = pki.issue_serving_cert(pki.read_ca(self.files), ["localhost"], ips=["127.0.0.1"])
        cert, key = self.workdir / "proxy.crt", self.workdir / "proxy.key"
        for path, data in ((cert, serving.cert), (key, serving.key)):
            path.touch(mode=0o600)
            path.write_bytes(data)
        server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_tls.load_cert_chain(cert, key)
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=server_tls)
        await site.start()
        server = getattr(site, "_server", None)
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        for session in self._sessions.values():
            await session.close()
        self._sessions.clear()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FaultProxy:
        return await self.start()

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def write_kubeconfig(self, path: Path, *, token: str | None = None) -> Path:
        """A kubeconfig that talks to the proxy: as admin (no credentials; the proxy adds the admin
        certificate) or with ``token``, which the proxy forwards."""
        user: dict[str, Any] = {"token": token} if token else {}
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "fault-proxy",
                    "cluster": {
                        "server": self.server,
                        "certificate-authority-data": base64.b64encode(
                            self.files.ca_cert.read_bytes()
                        ).decode(),
                    },
                }
            ],
            "users": [{"name": "via-proxy", "user": user}],
            "contexts": [{"name": "fault-proxy", "context": {"cluster": "fault-proxy", "user": "via-proxy"}}],
            "current-context": "fault-proxy",
        }
        path.touch(mode=0o600)
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        return path

    def _session(self, *, admin: bool) -> aiohttp.ClientSession:
        if admin not in self._sessions:
            tls = ssl.create_default_context(cafile=str(self.files.ca_cert))
            if admin:
                tls.load_cert_chain(self.files.admin_cert, self.files.admin_key)
            connector = aiohttp.TCPConnector(ssl=tls, limit=0)
            timeout = aiohttp.ClientTimeout(total=None, sock_connect=5)
            self._sessions[admin] = aiohttp.ClientSession(
                connector=connector, timeout=timeout, auto_decompress=False
            )
        return self._sessions[admin]

    # --- one request ---------------------------------------------------------------------------------

    async def _handle(self, incoming: web.Request) -> web.StreamResponse:
        query = dict(incoming.query)
        request = describe(incoming.method, incoming.path, query)
        self.counts.requests[request.verb] += 1
        rule = choose(self.rules, request, self.rng)
        if rule is not None:
            self.counts.injected[rule.fault.value] += 1
        if rule is not None and rule.fault in _FAULT_REPLIES:
            code, reason, message = _FAULT_REPLIES[rule.fault]
            headers = {"Retry-After": str(rule.retry_after_s)} if code in (429, 503) else {}
            return web.json_response(_status(code, reason, message), status=code, headers=headers)
        if rule is not None and rule.fault is Fault.RESET:
            return self._reset(incoming)
        if rule is not None and rule.fault is Fault.SLOW:
            await asyncio.sleep(rule.delay_s)
        body = await incoming.read()
        headers = {k: v for k, v in incoming.headers.items() if k.lower() not in _HOP_HEADERS}
        admin = "authorization" not in {k.lower() for k in headers}
        url = self.upstream + incoming.raw_path
        try:
            upstream = await self._session(admin=admin).request(
                incoming.method, url, headers=headers, data=body or None, allow_redirects=False
            )
        except (aiohttp.ClientError, OSError):
            return self._reset(incoming)  # the server is down: the client sees what it would see directly
        async with upstream:
            if request.verb in WRITE_VERBS and upstream.status < 300:
                self.counts.writes[f"{incoming.method} {incoming.path}"] += 1
            if rule is not None and rule.fault is Fault.RESET_AFTER:
                await upstream.read()
                return self._reset(incoming)
            reply = web.StreamResponse(status=upstream.status, reason=upstream.reason)
            for key, value in upstream.headers.items():
                if key.lower() not in _HOP_HEADERS:
                    reply.headers[key] = value
            await reply.prepare(incoming)
            watching = incoming.transport if request.verb == "watch" else None
            if watching is not None:
                self._watches.add(watching)
            cut = None
            if rule is not None and rule.fault is Fault.DROP_WATCH and incoming.transport is not None:
                # On a timer: an idle watch sends nothing, and must be cut all the same.
                cut = asyncio.get_running_loop().call_later(rule.delay_s, incoming.transport.abort)
            try:
                async for chunk in upstream.content.iter_any():
                    await reply.write(chunk)
            except (aiohttp.ClientError, ConnectionError):
                return self._reset(incoming)
            finally:
                if cut is not None:
                    cut.cancel()
                if watching is not None:
                    self._watches.discard(watching)
            await reply.write_eof()
            return reply

    def _reset(self, incoming: web.Request) -> web.StreamResponse:
        """Cut the client's connection without a reply."""
        transport = incoming.transport
        if transport is not None:
            transport.abort()
        return web.StreamResponse(status=499)

    # --- helpers for tests ---------------------------------------------------------------------------

    def set_rules(self, rules: Iterable[Rule]) -> None:
        """Replace the rules; they apply to requests from now on (open watches go on until cut)."""
        self.rules = list(rules)

    def drop_watches(self) -> int:
        """Cut every watch stream open now, as a restarting API server or a load balancer would; the
        number cut."""
        dropped = list(self._watches)
        for transport in dropped:
            transport.abort()
        self._watches.clear()
        self.counts.injected[Fault.DROP_WATCH.value] += len(dropped)
        return len(dropped)
