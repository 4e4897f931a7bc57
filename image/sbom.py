"""The image's CycloneDX SBOM: the locked Python packages (by ``cyclonedx-py``) and istioctl with every Go
module linked into it (from ``go version -m``, the build information the Go linker embeds).

``cyclonedx-py requirements`` documents the lock; it knows nothing of Go, so this module adds istioctl as
an application component whose dependencies are its modules (``pkg:golang`` purls, replacements
followed, go.sum's ``h1:`` hash kept as a property since it is not a file hash), links both into the
root component's dependencies and validates the result against the CycloneDX 1.6 schema. The all-lines
image's other istioctl binaries (``--other-istioctl VERSION=PATH``, each ``istioctl-<version>`` in the
image) are components of their own, bom-ref ``istioctl-<version>``; a module they share is listed once.

Usage: sbom.py --lock requirements.lock --istioctl PATH --istio-version 1.29.1 --out build/x.cdx.json
               [--other-istioctl 1.28.3=PATH ...]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class GoModule:
    path: str
    version: str
    h1: str


@dataclass(frozen=True)
class GoBuild:
    """What ``go version -m`` reports of one binary."""

    go: str
    package: str
    modules: list[GoModule]
    settings: dict[str, str]


def parse_go_version_m(text: str) -> GoBuild:
    """Parse ``go version -m``: ``dep`` lines, each optionally followed by its ``=>`` replacement."""
    lines = text.splitlines()
    go = lines[0].split(":", 1)[1].strip()
    package, modules, settings = "", [], {}
    for line in lines[1:]:
        fields = line.strip().split("\t")
        if fields[0] == "path":
            package = fields[1]
        elif fields[0] == "dep":
            modules.append(GoModule(fields[1], fields[2], fields[3] if len(fields) > 3 else ""))
        elif fields[0] == "=>" and modules:
            modules[-1] = GoModule(fields[1], fields[2], fields[3] if len(fields) > 3 else "")
        elif fields[0] == "build":
            key, _, value = fields[1].partition("=")
            settings[key] = value
    return GoBuild(go=go, package=package, modules=modules, settings=settings)


def go_components(
    build: GoBuild, istio_version: str, *, ref: str = "istioctl"
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """istioctl as an application (bom-ref ``ref``) and its modules as libraries, with CycloneDX bom-refs."""
    modules = [
        {
            "type": "library",
            "bom-ref": f"go:{m.path}@{m.version}",
            "name": m.path,
            "version": m.version,
            "purl": f"pkg:golang/{m.path}@{m.version}",
            "properties": [{"name": "go:sum:h1", "value": m.h1}] if m.h1 else [],
        }
        for m in sorted(build.modules, key=lambda m: m.path)
    ]
    settings = [{"name": f"go:build:{key}", "value": value} for key, value in sorted(build.settings.items())]
    go_mod = f"testenv/istio-{istio_version.rpartition('.')[0]}/go.mod"  # the release line's pins
    istioctl = {
        "type": "application",
        "bom-ref": ref,
        "name": "istioctl",
        "version": istio_version,
        "description": f"{build.package}, built by testenv/build from {go_mod} ({build.go})",
        "purl": f"pkg:golang/istio.io/istio@{istio_version}#istioctl/cmd/istioctl",
        "properties": [{"name": "go:version", "value": build.go}, *settings],
    }
    return istioctl, modules


def python_bom(lock: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "python.cdx.json"
        subprocess.run(
            [
                *(str(Path(sys.executable).parent / "cyclonedx-py"), "requirements", str(lock)),
                *("--pyproject", str(ROOT / "pyproject.toml"), "--output-reproducible", "--sv", "1.6"),
                *("-o", str(out)),
            ],
            check=True,
            capture_output=True,
        )
        bom: dict[str, Any] = json.loads(out.read_text())
    return bom


Binary = tuple[dict[str, Any], list[dict[str, Any]]]
"""An istioctl component and its modules, as :func:`go_components` returns them."""


def merge(
    bom: dict[str, Any],
    istioctl: dict[str, Any],
    modules: list[dict[str, Any]],
    others: list[Binary] | None = None,
) -> dict[str, Any]:
    """``bom`` with istioctl (and ``others``, the other lines' istioctl binaries) and their modules added,
    each module once, and the root depending on everything it ships."""
    binaries = [(istioctl, modules), *(others or [])]
    shared = {m["bom-ref"]: m for _, mods in binaries for m in mods}
    every_module = sorted(shared.values(), key=lambda m: (m["name"], m["version"]))
    root = bom["metadata"]["component"]["bom-ref"]
    python_refs = [c["bom-ref"] for c in bom["components"]]
    dependencies = [d for d in bom["dependencies"] if d["ref"] != root]
    dependencies += [
        {"ref": root, "dependsOn": sorted([*python_refs, *(binary["bom-ref"] for binary, _ in binaries)])},
        *({"ref": binary["bom-ref"], "dependsOn": [m["bom-ref"] for m in mods]} for binary, mods in binaries),
        *({"ref": m["bom-ref"]} for m in every_module),
    ]
    components = [*bom["components"], *(binary for binary, _ in binaries), *every_module]
    return {**bom, "components": components, "dependencies": dependencies}


def binary_components(path: Path, istio_version: str, ref: str = "istioctl") -> Binary:
    """The components of one istioctl binary, read with ``go version -m``."""
    go_info = subprocess.run(
        ["go", "version", "-m", str(path)], capture_output=True, text=True, check=True
    ).stdout
    return go_components(parse_go_version_m(go_info), istio_version, ref=ref)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lock", type=Path, required=True)
    parser.add_argument("--istioctl", type=Path, required=True)
    parser.add_argument("--istio-version", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument(
        "--other-istioctl",
        action="append",
        default=[],
        metavar="VERSION=PATH",
        help="another line's istioctl in the image (as istioctl-VERSION); repeatable",
    )
    args = parser.parse_args()
    istioctl, modules = binary_components(args.istioctl, args.istio_version)
    others = []
    for pair in args.other_istioctl:
        version, _, path = pair.partition("=")
        others.append(binary_components(Path(path), version, ref=f"istioctl-{version}"))
    python = python_bom(args.lock)
    bom = merge(python, istioctl, modules, others)
    text = json.dumps(bom, indent=2, sort_keys=True) + "\n"
    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    if error is not None:
        sys.exit(f"the SBOM does not validate against CycloneDX 1.6: {error}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    count, binaries = len(python["components"]), 1 + len(others)
    what = "istioctl" if binaries == 1 else f"the istioctl of {binaries} lines"
    go_modules = len(bom["components"]) - count - binaries
    print(f"[image] SBOM: {count} Python packages, {what} and {go_modules} Go modules", file=sys.stderr)


if __name__ == "__main__":
    main()
