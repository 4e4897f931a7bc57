"""The operator image that ``make image`` built (image/build), checked and run without a Docker daemon.

The archive is assembled once more from the same recorded inputs and must come out with the same digest
and the same bytes. Then it is unpacked with umoci and its entrypoint run by ``image/run-rootfs`` the way
a container runtime would: UID 65532, read-only root, a tmpfs on /tmp, inside this session's private
network namespace. There ``kyma-istio version`` prints the pins, and the operator, with nothing but the
chart's ServiceAccount token mounted where the kubelet mounts it and the in-cluster environment pointing
at the local API server, installs Istio to Ready and uninstalls it again.

Without buildah, umoci and mmdebstrap (or without root) these tests skip, saying so; ``make image``
installs the tools when run as root (CI), and the Makefile's ``test`` target runs it first. The all-lines
variant (``make image-all-lines``, never built by ``make test``) is checked only when its archive is
there: every line its operator lists has its istioctl, found as the operator finds it, at that release.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import tarfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from istio_fixtures import (
    NS,
    chart_in_kyma_system,
    cleanup_crs,
    crd_and_namespace,
    istio_cr,
    istio_system_settled,
    service_account_token,
)
from lightkube import Client
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.coordination_v1 import Lease

import kyma_istio
from kyma_istio.api import names
from kyma_istio.cluster.kinds import resource
from kyma_istio.k8s import kinds
from kyma_istio.lines import DEFAULT as DEFAULT_LINE

pytestmark = pytest.mark.integration

__all__ = [
    "chart_in_kyma_system",
    "cleanup_crs",
    "crd_and_namespace",
    "istio_system_settled",
]  # fixtures used by name

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "build"
ARCHIVE = BUILD / "kyma-istio-operator.oci.tar"
ALL_LINES_ARCHIVE = BUILD / "kyma-istio-operator-all-lines.oci.tar"
INPUTS = BUILD / "inputs" / "inputs.env"
RUN_ROOTFS = REPO / "image" / "run-rootfs"
TOOLS = ("buildah", "umoci", "mmdebstrap", "skopeo")
SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
ISTIO = resource(kinds.ISTIO)


@pytest.fixture(scope="module", autouse=True)
def built_image() -> None:
    """Skip without the tools (or root); fail, naming the fix, when they are there but no image is."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.skip(
            f"image tests need {', '.join(missing)}: "
            f"apt-get install {' '.join(TOOLS)} (make image does, as root)"
        )
    if os.geteuid() != 0:
        pytest.skip("image tests need root: buildah's store, mount namespaces and chroot")
    if not ARCHIVE.is_file() or not INPUTS.is_file():
        pytest.fail(f"no image in {BUILD}: run `make image` first (make test does)", pytrace=False)


def _extracted(archive: Path, directory: Path) -> Path:
    """The archive's OCI layout, extracted into ``directory``."""
    with tarfile.open(archive) as tar:
        tar.extractall(directory, filter="data")
    return directory


def _blob(layout: Path, digest: str) -> bytes:
    return (layout / "blobs" / "sha256" / digest.removeprefix("sha256:")).read_bytes()


def _config(layout: Path) -> dict[str, Any]:
    index = json.loads((layout / "index.json").read_text())
    manifest = json.loads(_blob(layout, index["manifests"][0]["digest"]))
    config: dict[str, Any] = json.loads(_blob(layout, manifest["config"]["digest"]))
    return config


def _unpacked(layout: Path, bundle: Path) -> Path:
    """The image's filesystem, unpacked by umoci into ``bundle``."""
    tag = json.loads((layout / "index.json").read_text())["manifests"][0]["annotations"]
    subprocess.run(
        ["umoci", "unpack", "--image", f"{layout}:{tag['org.opencontainers.image.ref.name']}", str(bundle)],
        check=True,
        capture_output=True,
    )
    return bundle / "rootfs"


@pytest.fixture(scope="module")
def layout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _extracted(ARCHIVE, tmp_path_factory.mktemp("layout"))


@pytest.fixture(scope="module")
def image_config(layout: Path) -> dict[str, Any]:
    return _config(layout)


@pytest.fixture(scope="module")
def rootfs(layout: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _unpacked(layout, tmp_path_factory.mktemp("bundle") / "bundle")


def _recorded(name: str) -> str:
    values = dict(line.split("=", 1) for line in INPUTS.read_text().splitlines() if "=" in line)
    return values[name]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def test_assembling_again_from_the_same_inputs_gives_the_same_digest_and_the_same_bytes(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "IMAGE_OUT": str(tmp_path), "IMAGE_INPUTS": str(INPUTS)}
    again = subprocess.run(
        [str(REPO / "image" / "build"), "assemble"], env=env, capture_output=True, text=True, check=False
    )

    assert again.returncode == 0, again.stderr[-2000:]
    digest = again.stdout.strip()
    assert digest == (BUILD / "kyma-istio-operator.digest").read_text().strip()
    assert _sha256(tmp_path / ARCHIVE.name) == _sha256(ARCHIVE)
    # skopeo, which pushes the archive, reads the same manifest.
    raw = subprocess.run(
        ["skopeo", "inspect", "--raw", f"oci-archive:{ARCHIVE}"], capture_output=True, check=True
    ).stdout
    assert f"sha256:{hashlib.sha256(raw).hexdigest()}" == digest


def test_the_image_runs_kyma_istio_run_as_65532_with_only_tmp_writable_and_oci_labels(
    image_config: dict[str, Any],
) -> None:
    config = image_config["config"]
    labels = config["Labels"]

    assert config["User"] == "65532:65532"
    assert config["Entrypoint"] == ["kyma-istio", "run"]
    assert config["Volumes"] == {"/tmp": {}}
    assert "HOME=/tmp" in config["Env"]
    assert "ISTIOCTL_PATH=/usr/local/bin/istioctl" in config["Env"]
    assert labels["org.opencontainers.image.version"] == kyma_istio.__version__
    assert labels["org.opencontainers.image.revision"] == _recorded("REVISION")
    assert labels["org.opencontainers.image.source"] == _recorded("SOURCE")
    assert labels["org.opencontainers.image.licenses"] == "Apache-2.0"
    assert len(image_config["rootfs"]["diff_ids"]) == 4


def test_the_root_filesystem_has_no_shell_no_package_manager_and_nothing_writable_but_tmp(
    rootfs: Path,
) -> None:
    assert sorted(os.listdir(rootfs / "usr" / "bin")) == ["python3", "python3.11"]
    for gone in ("bin", "sbin", "usr/sbin", "usr/bin/sh", "var/lib/dpkg", "etc/apt", "usr/share/perl5"):
        assert not os.path.lexists(rootfs / gone), gone
    writable = []
    for directory, dirs, files in os.walk(rootfs):
        for entry in [Path(directory, name) for name in dirs + files]:
            info = entry.lstat()
            if entry.is_symlink() or entry == rootfs / "tmp":
                continue
            if info.st_uid != 0 or info.st_gid != 0 or info.st_mode & 0o022:
                writable.append(str(entry.relative_to(rootfs)))
    assert writable == []
    assert (rootfs / "tmp").stat().st_mode & 0o7777 == 0o1777
    package = rootfs / "usr/local/lib/python3.11/dist-packages/kyma_istio"
    assert list((package / "__pycache__").glob("__init__.cpython-311.pyc"))


def _run_in_image(
    rootfs: Path,
    config: dict[str, Any],
    args: list[str],
    *,
    env: tuple[str, ...] = (),
    binds: tuple[str, ...] = (),
) -> list[str]:
    """The run-rootfs command line for ``args`` with the image's user, workdir and environment."""
    command = [str(RUN_ROOTFS), str(rootfs), "--user", config["User"], "--workdir", config["WorkingDir"]]
    for variable in [*config["Env"], *env]:
        command += ["--env", variable]
    for bind in binds:
        command += ["--bind", bind]
    return [*command, "--", *args]


def _output(rootfs: Path, config: dict[str, Any], args: list[str]) -> str:
    """What ``args`` prints, run in the image's filesystem as its user; fails with its stderr."""
    run = subprocess.run(
        _run_in_image(rootfs, config, args), capture_output=True, text=True, timeout=60, check=False
    )
    assert run.returncode == 0, f"{' '.join(args)} in the image: {run.stderr[-2000:]}"
    return run.stdout


def test_kyma_istio_version_run_from_the_image_prints_the_pins(
    rootfs: Path, image_config: dict[str, Any]
) -> None:
    config = image_config["config"]
    version = _output(rootfs, config, [config["Entrypoint"][0], "version", "--json"])
    istioctl = _output(rootfs, config, ["istioctl", "version", "--remote=false"])

    facts = json.loads(version)
    listed = facts.pop("lines")
    assert facts == {
        "operator": kyma_istio.__version__,
        "istio": DEFAULT_LINE.version,
        "envoy": DEFAULT_LINE.envoy,
        "istioTag": DEFAULT_LINE.tag,
    }
    # The image holds the default line's istioctl only; it lists every line it can target.
    assert [entry["line"] for entry in listed if entry["default"]] == [DEFAULT_LINE.minor]
    assert istioctl.strip() == f"client version: {DEFAULT_LINE.version}"


# How the operator's installer finds a line's istioctl (IstioctlInstaller: on PATH, never ISTIOCTL_PATH).
FIND_EVERY_LINES_ISTIOCTL = """
import json, os
from kyma_istio import lines
from kyma_istio.installer.istioctl import find_istioctl
found = {l.version: str(find_istioctl(line=l, environ={"PATH": os.environ["PATH"]})) for l in lines.LINES}
print(json.dumps(found))
"""


@pytest.fixture(scope="module")
def all_lines_image(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The all-lines variant's filesystem and config; skips, cheaply, when it was not built."""
    if not ALL_LINES_ARCHIVE.is_file():
        pytest.skip(f"no {ALL_LINES_ARCHIVE.name}: `make image-all-lines` builds it (make test does not)")
    layout = _extracted(ALL_LINES_ARCHIVE, tmp_path_factory.mktemp("all-lines-layout"))
    return _unpacked(layout, tmp_path_factory.mktemp("all-lines-bundle") / "bundle"), _config(layout)


def test_the_all_lines_image_runs_the_istioctl_of_every_line_its_operator_lists(
    all_lines_image: tuple[Path, dict[str, Any]],
) -> None:
    rootfs, image_config = all_lines_image
    config = image_config["config"]
    # The image's own operator, not this checkout's: an archive built from an older commit stays
    # consistent with itself.
    listed = json.loads(_output(rootfs, config, [config["Entrypoint"][0], "version", "--json"]))["lines"]
    found = json.loads(_output(rootfs, config, ["python3", "-c", FIND_EVERY_LINES_ISTIOCTL]))
    reported = {
        version: _output(rootfs, config, [binary, "version", "--remote=false"]).strip()
        for version, binary in found.items()
    }

    # The default line's is the plain istioctl, every other line's its own istioctl-<version>.
    assert found == {
        entry["istio"]: "/usr/local/bin/" + ("istioctl" if entry["default"] else f"istioctl-{entry['istio']}")
        for entry in listed
    }
    assert reported == {version: f"client version: {version}" for version in found}
    default = next(entry["istio"] for entry in listed if entry["default"])
    # Its versioned name is a symlink, not a second copy.
    assert (rootfs / "usr/local/bin" / f"istioctl-{default}").readlink() == Path("istioctl")
    assert len(image_config["rootfs"]["diff_ids"]) == 5


@pytest.fixture
def service_account_mount(
    client: Client, kubeconfig: Path, tmp_path: Path, chart_in_kyma_system: Any
) -> Path:
    """What the kubelet mounts at /var/run/secrets/kubernetes.io/serviceaccount: token, ca.crt, namespace."""
    directory = tmp_path / "serviceaccount"
    directory.mkdir()
    cluster = yaml.safe_load(kubeconfig.read_text())["clusters"][0]["cluster"]
    files = {
        "token": service_account_token(client),
        "ca.crt": base64.b64decode(cluster["certificate-authority-data"]).decode(),
        "namespace": NS,
    }
    for name, content in files.items():
        (directory / name).write_text(content)
        (directory / name).chmod(0o644)
    for path in (tmp_path, directory):
        path.chmod(0o755)
    return directory


@pytest.fixture
def operator_from_image(
    rootfs: Path, image_config: dict[str, Any], kubeconfig: Path, service_account_mount: Path, tmp_path: Path
) -> Iterator[Callable[[], str]]:
    """The image's entrypoint as in a Pod: in-cluster environment, the ServiceAccount mount, the chart's
    flags. Yields a function returning its log; the process (a PID namespace) is killed afterwards."""
    config = image_config["config"]
    server = urlsplit(yaml.safe_load(kubeconfig.read_text())["clusters"][0]["cluster"]["server"])
    args = [*config["Entrypoint"], "--leader-elect", "--leader-election-namespace", NS]
    args += ["--metrics-bind-address", "127.0.0.1:0", "--health-probe-bind-address", "127.0.0.1:0"]
    command = _run_in_image(
        rootfs,
        config,
        [*args, "--log-format", "console"],
        env=(f"KUBERNETES_SERVICE_HOST={server.hostname}", f"KUBERNETES_SERVICE_PORT={server.port}"),
        binds=(f"{service_account_mount}:{SERVICE_ACCOUNT_DIR}",),
    )
    log = tmp_path / "operator.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)

    def log_text() -> str:
        if process.poll() is not None:
            pytest.fail(f"the operator exited ({process.returncode}):\n{log.read_text()[-3000:]}")
        return log.read_text(errors="replace")

    yield log_text
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def _wait(what: str, check: Callable[[], bool], log: Callable[[], str], timeout_s: float = 240.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        log()  # fails at once if the operator died
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}; operator log:\n{log()[-3000:]}")
        time.sleep(0.2)


def _state(client: Client) -> str | None:
    found = [cr for cr in client.list(ISTIO, namespace=NS) if cr.metadata.name == "default"]
    return (found[0].get("status") or {}).get("state") if found else "gone"


@pytest.mark.usefixtures("crd_and_namespace", "istio_system_settled", "cleanup_crs")
def test_the_operator_from_the_image_installs_istio_to_ready_and_uninstalls_as_the_service_account(
    client: Client, operator_from_image: Callable[[], str]
) -> None:
    client.create(ISTIO.from_dict(istio_cr("default", {})))
    _wait("Ready", lambda: _state(client) == "Ready", operator_from_image)
    istiod = client.get(Deployment, "istiod", namespace=names.ISTIO_NAMESPACE)
    holder = client.get(Lease, names.LEADER_ELECTION_ID, namespace=NS).spec.holderIdentity

    client.delete(ISTIO, "default", namespace=NS)
    _wait("the CR to be gone", lambda: _state(client) == "gone", operator_from_image)

    assert istiod.metadata.labels["operator.istio.io/version"] == DEFAULT_LINE.version
    assert holder
    log = operator_from_image()
    assert "forbidden" not in log.lower(), log[-3000:]
