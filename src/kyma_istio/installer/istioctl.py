"""Run istioctl as a child process: install, purge, render manifests, report its version.

Installing runs out of process, as in the reference (spec 5.7), so the Istio library's memory stays out
of the operator and a hung install can be killed. Each run gets its own process group, so a timeout or
a cancelled reconcile kills istioctl and anything it started, and never leaves a second install racing
the next one. Output is streamed to the log as it arrives; the status gets only the short summary that
:mod:`kyma_istio.installer.summary` extracts.

The IstioOperator goes to a private temporary file (mode 0600, removed afterwards) rather than the
reference's fixed world-readable ``/tmp/merged-istio-operator.yaml``: concurrent runs cannot clobber each
other and other local users cannot read the mesh configuration. It is written as JSON, which is valid
YAML and avoids YAML 1.1 surprises such as ``on`` or ``1.20`` changing type.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import yaml

from kyma_istio import lines
from kyma_istio.installer import summary
from kyma_istio.lines import Line

PATH_VARIABLES: Final = ("ISTIOCTL_PATH", "ISTIO_INSTALL_BIN_PATH")
"""Environment variables naming the istioctl binary, in order of precedence."""

TESTENV_BINARY: Final = Path("~/.cache/kyma-istio/testenv/bin/istioctl")
"""Where ``testenv/build`` puts the istioctl it builds; the last place looked."""

INSTALL_TIMEOUT_S: Final = 360.0
"""Wall-clock limit of one install or purge (the reference's 6 minutes)."""
READINESS_TIMEOUT_S: Final = 150
"""How long istioctl waits for each component to become ready (spec 5.7)."""
RENDER_TIMEOUT_S: Final = 120.0
KEPT_LINES: Final = 5_000
"""Output lines kept for the summary; older ones are only in the log."""
TAIL_LINES: Final = 20
REAP_GRACE_S: Final = 10.0
"""After killing the group, how long to wait for its pipes to close before giving up on them."""
_CHUNK: Final = 65_536


class IstioctlNotFoundError(RuntimeError):
    """No istioctl binary could be found; the message names the variable to set."""


class IstioctlError(RuntimeError):
    """A render or version query failed; ``str()`` is the short summary."""

    def __init__(self, message: str, *, output_tail: str = "") -> None:
        super().__init__(message)
        self.output_tail = output_tail


@dataclass(frozen=True)
class InstallResult:
    """The outcome of an install or purge; ``summary`` is short enough for the CR status."""

    ok: bool
    duration_s: float
    summary: str
    output_tail: str = ""
    """The last lines of output, newline-separated, for a debug view; the full output is in the log."""


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def find_istioctl(
    explicit: Path | None = None,
    *,
    line: Line = lines.DEFAULT,
    environ: Mapping[str, str] | None = None,
    testenv_binary: Path = TESTENV_BINARY,
) -> Path:
    """The istioctl to run: ``explicit`` (a CLI flag), a path variable, then on ``PATH`` or from the
    testenv build the line's own: for the default line the plain ``istioctl`` the image and testenv ship
    (built from its pin), else ``istioctl-<version>`` (never the plain one, which is another version)."""
    env = os.environ if environ is None else environ
    other_line = line.minor != lines.DEFAULT.minor
    if explicit is not None:
        if not _executable(explicit.expanduser()):
            raise IstioctlNotFoundError(f"istioctl path {explicit} is not an executable file")
        if not (other_line and explicit.name == "istioctl"):
            return explicit.expanduser()
    for variable in PATH_VARIABLES:
        value = env.get(variable)
        if value and not other_line:
            if not _executable(Path(value).expanduser()):
                raise IstioctlNotFoundError(f"{variable}={value} is not an executable file")
            return Path(value).expanduser()
    # Another line than the default: a plain "istioctl" (the image's ISTIOCTL_PATH, which kyma-istio run
    # also reads as --istioctl) is the default line's, so the line's own istioctl-<version> is looked for.
    # The default line's istioctl is the plain one the image and testenv ship (and the name process checks
    # look for); its versioned build is the fallback.
    names = (["istioctl"] if line.minor == lines.DEFAULT.minor else []) + [line.istioctl]
    for name in names:
        on_path = shutil.which(name, path=env.get("PATH", ""))
        if on_path:
            return Path(on_path)
        built = testenv_binary.expanduser().with_name(name)
        if _executable(built):
            return built
    if other_line:
        raise IstioctlNotFoundError(
            f"istioctl of Istio {line.version} not found ({line.istioctl}): a plain 'istioctl' is taken for "
            f"the default line's ({lines.DEFAULT.version}); put {line.istioctl} on PATH (the all-lines image "
            f"has it), pass --istioctl with a file of that name, or run testenv/build istio-{line.minor}"
        )
    raise IstioctlNotFoundError(
        f"istioctl of Istio {line.version} not found ({' or '.join(names)}): set {PATH_VARIABLES[0]} to its "
        f"path, put it on PATH, or run testenv/build istio-{line.minor}"
    )


def _to_plain(value: Any) -> Any:
    """Plain dicts and lists for ``json.dumps``, whatever Mapping or Sequence types the caller used."""
    if isinstance(value, Mapping):
        return {str(key): _to_plain(item) for key, item in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [_to_plain(item) for item in value]
    return value


@contextmanager
def private_iop_file(iop: Mapping[str, Any]) -> Iterator[Path]:
    """The IstioOperator in a temporary file only the operator's user can read, removed afterwards."""
    fd, name = tempfile.mkstemp(prefix="kyma-istio-iop-", suffix=".yaml")
    path = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(_to_plain(iop), handle, indent=1)
        yield path
    finally:
        path.unlink(missing_ok=True)


@dataclass
class _Output:
    """Collects a run's lines and streams them to the log as they arrive."""

    command: str
    log: logging.Logger
    lines: collections.deque[str] = field(default_factory=lambda: collections.deque(maxlen=KEPT_LINES))

    def add(self, line: str) -> None:
        cleaned = summary.clean_lines([line])
        if not cleaned:
            return
        self.lines.append(cleaned[0])
        text = cleaned[0].strip()
        notable = text.startswith(("✔", "✘", "Error")) or "error" in text.lower()
        self.log.log(logging.INFO if notable else logging.DEBUG, "istioctl %s: %s", self.command, text)

    def tail(self) -> str:
        return "\n".join(list(self.lines)[-TAIL_LINES:])


@dataclass(frozen=True)
class _Run:
    exit_code: int | None
    """None when the run was stopped by the timeout."""
    duration_s: float
    stdout: bytes


async def _pump_lines(stream: asyncio.StreamReader, sink: Callable[[str], None]) -> None:
    """Feed ``sink`` line by line; ``\\r`` counts as a line end too (progress bars rewrite lines)."""
    pending = b""
    while chunk := await stream.read(_CHUNK):
        *complete, pending = (pending + chunk).replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
        for raw in complete:
            sink(raw.decode("utf-8", errors="replace"))
    if pending:
        sink(pending.decode("utf-8", errors="replace"))


def _kill_group(pgid: int) -> None:
    with suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


class Istioctl:
    """One istioctl binary, bound to a kubeconfig and context (None: istioctl's own discovery, which
    follows the same kubectl rules as ``cluster.kubeconfig``, in-cluster included)."""

    def __init__(
        self, binary: Path, *, kubeconfig: Path | None, log: logging.Logger, context: str | None = None
    ) -> None:
        self._binary = binary
        self._kubeconfig = kubeconfig
        self._context = context
        self._log = log

    @property
    def binary(self) -> Path:
        return self._binary

    @property
    def kubeconfig(self) -> Path | None:
        return self._kubeconfig

    @property
    def context(self) -> str | None:
        return self._context

    @property
    def log(self) -> logging.Logger:
        return self._log

    def _cluster_args(self) -> list[str]:
        args = ["--kubeconfig", str(self._kubeconfig)] if self._kubeconfig else []
        return args + (["--context", self._context] if self._context else [])

    async def install(
        self,
        iop: Mapping[str, Any],
        *,
        timeout_s: float = INSTALL_TIMEOUT_S,
        readiness_timeout_s: int = READINESS_TIMEOUT_S,
    ) -> InstallResult:
        """``istioctl install -f <iop> -y --readiness-timeout <n>s``, without istioctl's verify step."""
        with private_iop_file(iop) as path:
            args = ["install", "-f", str(path), "-y", "--readiness-timeout", f"{readiness_timeout_s}s"]
            return await self._operate("install", [*args, *self._cluster_args()], timeout_s=timeout_s)

    async def uninstall_purge(self, *, timeout_s: float = INSTALL_TIMEOUT_S) -> InstallResult:
        """``istioctl uninstall --purge -y``: every Istio object, CRDs included; the namespace stays."""
        args = ["uninstall", "--purge", "-y", *self._cluster_args()]
        return await self._operate("uninstall", args, timeout_s=timeout_s)

    async def manifest_generate(
        self, iop: Mapping[str, Any], *, timeout_s: float = RENDER_TIMEOUT_S
    ) -> list[dict[str, Any]]:
        """The objects istioctl would install for ``iop``; needs no cluster."""
        output = _Output("manifest generate", self._log)
        with private_iop_file(iop) as path:
            run = await self._run(
                ["manifest", "generate", "-f", str(path)], output, timeout_s=timeout_s, split=True
            )
        self._raise_unless_ok("manifest generate", run, output, timeout_s=timeout_s)
        documents = yaml.load_all(run.stdout, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        return [document for document in documents if isinstance(document, dict)]

    async def version(self, *, timeout_s: float = 30.0) -> str:
        """The client version, e.g. ``1.23.2``; never contacts a cluster."""
        output = _Output("version", self._log)
        run = await self._run(
            ["version", "--remote=false", "-o", "json"], output, timeout_s=timeout_s, split=True
        )
        self._raise_unless_ok("version", run, output, timeout_s=timeout_s)
        try:
            return str(json.loads(run.stdout)["clientVersion"]["version"])
        except (ValueError, KeyError, TypeError) as error:
            raise IstioctlError(f"istioctl version printed unexpected output: {error}") from error

    async def _operate(self, command: str, args: Sequence[str], *, timeout_s: float) -> InstallResult:
        output = _Output(command, self._log)
        run = await self._run(args, output, timeout_s=timeout_s, split=False)
        lines = list(output.lines)
        if run.exit_code is None:
            text = summary.summarize_timeout(lines, command=command, timeout_s=timeout_s)
        elif run.exit_code == 0:
            text = f"istioctl {command} succeeded in {run.duration_s:.0f}s"
        else:
            text = summary.summarize_exit(lines, command=command, exit_code=run.exit_code)
        if run.exit_code != 0:
            self._log.warning("istioctl %s failed: %s", command, text)
        return InstallResult(run.exit_code == 0, run.duration_s, text, output.tail())

    @staticmethod
    def _raise_unless_ok(command: str, run: _Run, output: _Output, *, timeout_s: float) -> None:
        lines = list(output.lines)
        if run.exit_code is None:
            raise IstioctlError(summary.summarize_timeout(lines, command=command, timeout_s=timeout_s))
        if run.exit_code != 0:
            message = summary.summarize_exit(lines, command=command, exit_code=run.exit_code)
            raise IstioctlError(message, output_tail=output.tail())

    async def _run(self, args: Sequence[str], output: _Output, *, timeout_s: float, split: bool) -> _Run:
        """Run istioctl in its own process group; ``split`` keeps stdout apart from the logged stderr."""
        started = time.monotonic()
        self._log.debug("running %s %s", self._binary, " ".join(args))
        process = await asyncio.create_subprocess_exec(
            str(self._binary),
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE if split else asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        assert process.stdout is not None
        logged = process.stderr if split else process.stdout
        assert logged is not None
        pumps = [asyncio.create_task(_pump_lines(logged, output.add))]
        stdout = asyncio.create_task(process.stdout.read()) if split else None
        waiter = asyncio.create_task(process.wait())
        tasks = {waiter, *pumps, *([stdout] if stdout else [])}
        try:
            _, pending = await asyncio.wait(tasks, timeout=timeout_s)
        finally:
            if not all(task.done() for task in tasks):
                _kill_group(process.pid)
                await _reap(tasks)
        duration_s = time.monotonic() - started
        if pending:
            return _Run(None, duration_s, b"")
        for task in pumps:
            task.result()  # a reader's own failure surfaces here instead of as a stray warning
        return _Run(waiter.result(), duration_s, stdout.result() if stdout else b"")


async def _reap(tasks: set[asyncio.Task[Any]]) -> None:
    """Let the killed group's pipes drain so the transport closes; cancel what still hangs."""
    _, stuck = await asyncio.wait(tasks, timeout=REAP_GRACE_S)
    for task in stuck:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
