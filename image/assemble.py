"""Assembles the operator image from the inputs ``image/build inputs`` recorded, offline and reproducibly.

Four layers, from the least to the most often changed, each committed by buildah from scratch with every
timestamp set to SOURCE_DATE_EPOCH: the Debian root filesystem, the locked Python dependencies, istioctl,
the operator itself. The all-lines variant (inputs with ``ISTIOCTL_LINES``) adds a fifth before the
operator's: every other line's ``istioctl-<version>``, so that its other four layers are the default's.
Wheels are installed with PyPA's ``installer`` (scripts start with ``#!/usr/bin/python3``) and
byte-compiled hash-based with a fixed hash seed, so that neither build time nor a random seed reaches a
file. buildah writes an OCI layout in a private store; this module packs it
into one tar archive in name order, so the same inputs give the same archive bytes, not only the same
manifest digest.

Usage: assemble.py --inputs build/inputs/inputs.env --out build
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from installer import install
from installer.destinations import SchemeDictionaryDestination
from installer.sources import WheelFile

NAME = "kyma-istio-operator"
SITE_PACKAGES = "/usr/local/lib/python3.11/dist-packages"
ISTIOCTL = "/usr/local/bin/istioctl"
UID = "65532"
ENV = {
    "PATH": "/usr/local/bin:/usr/bin",
    "HOME": "/tmp",
    "TMPDIR": "/tmp",
    "LANG": "C.UTF-8",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONUNBUFFERED": "1",
    "ISTIOCTL_PATH": ISTIOCTL,
}
ENTRYPOINT = ["kyma-istio", "run"]
CMD = ["--leader-elect", "--metrics-bind-address", ":8080", "--health-probe-bind-address", ":8081"]
PORTS = ("8080", "8081")


@dataclass(frozen=True)
class Inputs:
    """What ``image/build inputs`` recorded: paths of cached parts and the facts stamped on the image."""

    rootfs: Path
    wheelhouse: Path
    project_wheel: Path
    istioctl: Path
    epoch: int
    revision: str
    source: str
    variant: str = ""
    """``all-lines`` for the image with every line's istioctl, empty for the default image."""
    istioctl_lines: tuple[tuple[str, Path], ...] = ()
    """Every line's release and istioctl binary, oldest first (the all-lines variant); the default
    line's is ``istioctl`` itself."""

    @property
    def name(self) -> str:
        """The archive's name: ``kyma-istio-operator`` or ``kyma-istio-operator-<variant>``."""
        return f"{NAME}-{self.variant}" if self.variant else NAME


@dataclass(frozen=True)
class Layer:
    """One layer: what goes in (a tarball or a staged tree) and the history line that names it."""

    source: Path
    created_by: str


def read_inputs(path: Path) -> Inputs:
    values = dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return Inputs(
        rootfs=Path(values["ROOTFS"]),
        wheelhouse=Path(values["WHEELHOUSE"]),
        project_wheel=Path(values["PROJECT_WHEEL"]),
        istioctl=Path(values["ISTIOCTL"]),
        epoch=int(values["SOURCE_DATE_EPOCH"]),
        revision=values["REVISION"],
        source=values["SOURCE"],
        variant=values.get("VARIANT", ""),
        istioctl_lines=tuple(
            (version, Path(binary))
            for version, _, binary in (
                pair.partition("=") for pair in values.get("ISTIOCTL_LINES", "").split(",")
            )
            if binary
        ),
    )


def install_wheels(wheels: list[Path], staging: Path) -> None:
    """Install ``wheels`` under ``staging`` as they would be at their in-image paths."""
    scheme = {
        "purelib": SITE_PACKAGES,
        "platlib": SITE_PACKAGES,
        "headers": "/usr/local/include/python3.11",
        "scripts": "/usr/local/bin",
        "data": "/usr/local",
    }
    destination = SchemeDictionaryDestination(
        scheme, interpreter="/usr/bin/python3", script_kind="posix", destdir=str(staging)
    )
    for wheel in sorted(wheels):
        with WheelFile.open(wheel) as source:
            install(source, destination, additional_metadata={"INSTALLER": b"kyma-istio image/build\n"})
    byte_compile(staging)


def byte_compile(staging: Path) -> None:
    """Hash-based .pyc files (never rewritten at run time on a read-only root), with a fixed hash seed:
    marshal writes set constants in hash order."""
    if sys.version_info[:2] != (3, 11):
        sys.exit(f"assemble.py byte-compiles for the image's Python 3.11; this is {sys.version.split()[0]}")
    subprocess.run(
        [
            *(sys.executable, "-m", "compileall", "-q", "-j", "1", "--invalidation-mode", "unchecked-hash"),
            *("-s", str(staging), "-p", "/", str(staging / SITE_PACKAGES.lstrip("/"))),
        ],
        env={**os.environ, "PYTHONHASHSEED": "0"},
        check=True,
        stdout=subprocess.DEVNULL,
    )


def normalise_modes(tree: Path) -> None:
    """0755 for directories and executables, 0644 for the rest: the builder's umask must not leak in."""
    for path in [tree, *tree.rglob("*")]:
        if path.is_symlink():
            continue
        executable = path.is_dir() or path.stat().st_mode & 0o111
        path.chmod(0o755 if executable else 0o644)


def istioctl_comment(binary: Path) -> str:
    """Where the istioctl layer comes from; testenv/build names a line's binary ``istioctl-<release>``."""
    release = binary.name.removeprefix("istioctl-")
    if release == binary.name:
        return f"{binary.name} (testenv/build)"
    return f"istioctl {release} from testenv/istio-{release.rpartition('.')[0]}/go.mod (testenv/build)"


def stage_line_istioctls(inputs: Inputs, tree: Path) -> str:
    """Every other line's istioctl under ``tree`` as ``istioctl-<version>`` next to ``istioctl``, the
    default line's as a symlink to it (no second copy); returns the layer's history line."""
    bin_dir = tree / Path(ISTIOCTL).parent.relative_to("/")
    bin_dir.mkdir(parents=True)
    copied, linked = [], []
    for version, binary in inputs.istioctl_lines:
        target = bin_dir / f"istioctl-{version}"
        if binary.resolve() == inputs.istioctl.resolve():
            target.symlink_to(Path(ISTIOCTL).name)
            linked.append(target.name)
        else:
            shutil.copyfile(binary, target)
            target.chmod(0o755)
            copied.append(target.name)
    links = "".join(f", {name} -> istioctl" for name in linked)
    return f"istioctl of the other lines: {' '.join(copied)} (testenv/build){links}"


def stage(inputs: Inputs, work: Path) -> list[Layer]:
    deps, istioctl, lines, operator = work / "deps", work / "istioctl", work / "lines", work / "operator"
    install_wheels(sorted(inputs.wheelhouse.glob("*.whl")), deps)
    (istioctl / "usr/local/bin").mkdir(parents=True)
    shutil.copyfile(inputs.istioctl, istioctl / ISTIOCTL.lstrip("/"))
    (istioctl / ISTIOCTL.lstrip("/")).chmod(0o755)
    install_wheels([inputs.project_wheel], operator)
    extra = [Layer(lines, stage_line_istioctls(inputs, lines))] if inputs.istioctl_lines else []
    for tree in (deps, istioctl, *(layer.source for layer in extra), operator):
        normalise_modes(tree)
    lock = "requirements.lock"
    return [
        Layer(inputs.rootfs, "Debian bookworm: python3 ca-certificates tzdata (mmdebstrap, image/packages)"),
        Layer(deps, f"Python dependencies: {lock} ({len(list(inputs.wheelhouse.glob('*.whl')))} wheels)"),
        Layer(istioctl, istioctl_comment(inputs.istioctl)),
        *extra,
        Layer(operator, f"kyma-istio-operator {inputs.project_wheel.name}"),
    ]


class Buildah:
    """buildah with a private store in a temporary directory: no daemon, no shared state.

    The overlay driver where the kernel allows it (about 15 s), else vfs (copies every layer: a minute
    more). Both write a layer's entries in name order, but overlay sorts per directory and vfs by whole
    path, so the digest is reproducible for one driver; the report names the driver used."""

    def __init__(self, work: Path) -> None:
        self._work = work
        self.driver = os.environ.get("KYMA_ISTIO_BUILDAH_DRIVER") or self._probe_driver()

    def _base(self, driver: str) -> list[str]:
        store = self._work / f"storage-{driver}"
        return [
            "buildah",
            "--root",
            str(store),
            "--runroot",
            str(self._work / f"run-{driver}"),
            "--storage-driver",
            driver,
        ]

    def _probe_driver(self) -> str:
        """overlay if a container can be created and mounted with it (inside some sandboxes it cannot)."""
        base = self._base("overlay")
        made = subprocess.run([*base, "from", "scratch"], capture_output=True, text=True, check=False)
        if made.returncode != 0:
            return "vfs"
        container = made.stdout.strip()
        mounted = subprocess.run([*base, "mount", container], capture_output=True, check=False)
        subprocess.run([*base, "rm", container], capture_output=True, check=False)
        return "overlay" if mounted.returncode == 0 else "vfs"

    def __call__(self, *args: str) -> str:
        run = subprocess.run([*self._base(self.driver), *args], capture_output=True, text=True, check=False)
        if run.returncode != 0:
            sys.exit(f"buildah {args[0]} failed: {run.stderr.strip()}")
        return run.stdout.strip()

    def clean(self) -> None:
        """Drop containers and images, so that no mount is left behind and the store can be deleted."""
        for driver in ("overlay", "vfs"):
            for args in (["rm", "--all"], ["rmi", "--all", "--force"]):
                subprocess.run([*self._base(driver), *args], capture_output=True, check=False)
        # vfs layers are read-only copies; make them removable.
        subprocess.run(["chmod", "-R", "u+w", str(self._work)], check=False)


def configure(buildah: Buildah, container: str, inputs: Inputs, version: str) -> None:
    labels = {
        "org.opencontainers.image.title": NAME,
        "org.opencontainers.image.description": "Installs, upgrades and uninstalls Istio from one Istio CR",
        "org.opencontainers.image.version": version,
        "org.opencontainers.image.revision": inputs.revision,
        "org.opencontainers.image.source": inputs.source,
        "org.opencontainers.image.licenses": "Apache-2.0",
    }
    args = ["config", "--os", "linux", "--arch", "amd64", "--user", f"{UID}:{UID}"]
    args += ["--entrypoint", json.dumps(ENTRYPOINT), "--cmd", json.dumps(CMD), "--workingdir", "/tmp"]
    args += ["--volume", "/tmp", "--label", "io.buildah.version-"]
    for key, value in ENV.items():
        args += ["--env", f"{key}={value}"]
    for port in PORTS:
        args += ["--port", port]
    for key, value in labels.items():
        args += ["--label", f"{key}={value}"]
    buildah(*args, container)


def build(buildah: Buildah, layers: list[Layer], inputs: Inputs, version: str) -> str:
    """Commit one image per layer, each on the previous one; configure the last. Returns its name."""
    base, image = "scratch", ""
    for number, layer in enumerate(layers, start=1):
        container = buildah("from", "--pull=never", base)
        buildah("add", "--chown", "0:0", container, str(layer.source), "/")
        buildah("config", "--created-by", layer.created_by, container)
        if number == len(layers):
            configure(buildah, container, inputs, version)
        image = f"localhost/{NAME}-layer{number}"
        buildah("commit", "--quiet", "--timestamp", str(inputs.epoch), container, image)
        base = image
    return image


def write_archive(layout: Path, archive: Path, epoch: int) -> None:
    """The OCI layout as one tar in name order, owned by root, stamped with ``epoch``."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    partial = archive.with_suffix(".partial")
    with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(layout.rglob("*")):
            info = tar.gettarinfo(str(path), arcname=str(path.relative_to(layout)))
            info.mtime, info.uid, info.gid, info.uname, info.gname = epoch, 0, 0, "", ""
            info.mode = 0o755 if path.is_dir() else 0o644
            if path.is_file():
                with path.open("rb") as data:
                    tar.addfile(info, data)
            else:
                tar.addfile(info)
    partial.replace(archive)


def layer_table(layout: Path) -> list[dict[str, object]]:
    """Per layer: the history line, the compressed size in the archive and the unpacked tar size."""
    index = json.loads((layout / "index.json").read_text())
    manifest = json.loads(_blob(layout, index["manifests"][0]["digest"]).read_bytes())
    config = json.loads(_blob(layout, manifest["config"]["digest"]).read_bytes())
    history = [entry for entry in config["history"] if not entry.get("empty_layer")]
    rows: list[dict[str, object]] = []
    for entry, layer in zip(history, manifest["layers"], strict=True):
        rows.append(
            {
                "created_by": entry["created_by"],
                "compressed": layer["size"],
                "unpacked": _unpacked_size(layout, layer["digest"]),
            }
        )
    return rows


def _unpacked_size(layout: Path, digest: str) -> int:
    size = 0
    with gzip.open(_blob(layout, digest)) as stream:
        while chunk := stream.read(1 << 20):
            size += len(chunk)
    return size


def _blob(layout: Path, digest: str) -> Path:
    algorithm, value = digest.split(":")
    return layout / "blobs" / algorithm / value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    inputs = read_inputs(args.inputs)
    version = inputs.project_wheel.name.split("-")[1]
    tag = f"{version}-{inputs.variant}" if inputs.variant else version
    with tempfile.TemporaryDirectory(prefix="kyma-istio-image-") as tmp:
        work = Path(tmp)
        buildah = Buildah(work)
        layout = work / "layout"
        try:
            image = build(buildah, stage(inputs, work), inputs, version)
            buildah("push", "--quiet", image, f"oci:{layout}:{tag}")
        finally:
            buildah.clean()
        archive = args.out / f"{inputs.name}.oci.tar"
        write_archive(layout, archive, inputs.epoch)
        digest = json.loads((layout / "index.json").read_text())["manifests"][0]["digest"]
        layers = layer_table(layout)
    archive_sha = hashlib.sha256(archive.read_bytes()).hexdigest()
    (args.out / f"{inputs.name}.digest").write_text(digest + "\n")
    report = {
        "digest": digest,
        "archive_sha256": archive_sha,
        "tag": tag,
        "storage_driver": buildah.driver,
        "layers": layers,
    }
    (args.out / f"{inputs.name}.layers.json").write_text(json.dumps(report, indent=2) + "\n")
    for number, row in enumerate(layers, start=1):
        print(
            f"[image] layer {number}: {row['compressed']:>11,} B gz {row['unpacked']:>12,} B unpacked:",
            row["created_by"],
            file=sys.stderr,
        )
    print(f"[image] {archive} ({archive.stat().st_size:,} bytes, sha256 {archive_sha})", file=sys.stderr)
    print(digest)


if __name__ == "__main__":
    main()
