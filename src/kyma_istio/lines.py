"""The Istio release lines this build can install: one entry of data per Istio minor.

A *line* is everything that depends on "which Istio": the release and the commit its istioctl is built
from (``testenv/istio-<minor>/go.mod``; a unit test keeps the two in agreement), the image tag, the
Envoy inside it, the Kubernetes versions its istioctl accepts, the Kyma releases that ran it, and what
differs for the merge and the checks on that line. The operator targets one line per process (its
``--istio-line`` setting), handed down with each pass like the CR; nothing else compares Istio versions
to decide a behaviour. Adding Istio 1.30 when its commit can be built is one more entry and a pin.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Final

FLAVOUR: Final = "distroless"
"""Image flavour; a tag is ``<version>-<flavour>``."""


@dataclass(frozen=True)
class Line:
    """One Istio minor as this build installs it."""

    version: str
    """The Istio release of the line, ``1.29.1``."""
    commit: str
    """The release commit istioctl and istiod are built from."""
    envoy: str
    """The Envoy release (or, where not measured, its minor) inside the line's proxy image."""
    min_kubernetes: str
    """The oldest Kubernetes minor the line's istioctl installs on (its ``MinK8SVersion``)."""
    kyma_releases: str
    """The Kyma Istio module releases that installed this minor."""
    end_of_support: str
    """When Istio stopped (or stops) patching the minor: six weeks after the second minor after it (a
    date where it was measured, else the rule)."""
    pdb_needs_autoscale_min: bool = False
    """From 1.28 Istio's charts render the istiod and gateway PodDisruptionBudgets only when the
    ``autoscaleMin`` value is above 1; the merge then carries the HPA minimum into that value."""
    native_sidecar_kubelet: str | None = None
    """From 1.27 istiod injects ``istio-proxy`` as a native sidecar on nodes whose kubelet is at least
    this minor; every reader of a pod's proxy reads both shapes."""
    kept_from: str | None = None
    """Set when ``version`` is a later patch found installed and kept (:meth:`keeping`): the line's own
    release, whose istioctl and charts still install it."""

    @property
    def minor(self) -> str:
        """``1.29``: the line's name."""
        major, minor, _ = self.version.split(".")
        return f"{major}.{minor}"

    @property
    def tag(self) -> str:
        """The image tag of pilot, proxyv2 and install-cni: ``1.29.1-distroless``."""
        return f"{self.version}-{FLAVOUR}"

    @property
    def istioctl(self) -> str:
        """The name of the line's istioctl binary in the tool directory (``testenv/build``)."""
        return f"istioctl-{self.version}"

    @property
    def pilot_discovery(self) -> str:
        """The name of the line's istiod binary in the tool directory."""
        return f"pilot-discovery-{self.version}"

    def keeping(self, installed_tag: str | None) -> Line:
        """This line at the installed release when that is a later patch of the line's minor (Kyma 1.27.2
        runs 1.29.2 where this line is 1.29.1), else the line itself.

        A later patch is kept rather than refused as a downgrade: the line's istioctl installs it with
        the installed images, so a takeover changes no image and restarts nothing. Istio changes its
        install charts little or not at all within a minor (ADR 19 has the measurement), and Kyma itself
        pairs one commit's istioctl with a later patch's images."""
        installed = release_parts(installed_tag)
        own = release_parts(self.version)
        if installed is None or own is None or installed[:2] != own[:2] or installed <= own:
            return self
        version = ".".join(str(part) for part in installed)
        return dataclasses.replace(self, version=version, kept_from=self.kept_from or self.version)


def release_parts(tag: str | None) -> tuple[int, int, int] | None:
    """``(1, 29, 2)`` for ``1.29.2``, ``v1.29.2`` or ``1.29.2-distroless``; ``None`` for anything else."""
    if not tag:
        return None
    parts = tag.strip().removeprefix("v").split("-")[0].split(".")
    if len(parts) != 3 or not all(part.isdigit() for part in parts):
        return None
    return int(parts[0]), int(parts[1]), int(parts[2])


def image_release(image: str) -> tuple[int, int, int] | None:
    """The release of an image reference's tag (``registry:5000/istio/proxyv2:1.29.1-distroless@sha256:..``
    -> ``(1, 29, 1)``); ``None`` for a reference without a tag or whose tag is no release."""
    reference = image.split("@", 1)[0]
    name, sep, tag = reference.rpartition(":")
    if not sep or not name or "/" in tag:
        return None  # no tag: the ":" belonged to a registry's port
    return release_parts(tag)


LINES: Final[tuple[Line, ...]] = (
    Line(
        version="1.23.2",
        commit="da0b3f29e9f9eef387691bdf5870a6d665c704c9",
        envoy="1.31.2",
        min_kubernetes="1.26",
        kyma_releases="1.9-1.10",
        end_of_support="2025-04-16",
    ),
    Line(
        version="1.24.2",
        commit="7754674f65d38523e49b692cbb95a5bb1e2a93b8",
        envoy="1.32.x",
        min_kubernetes="1.28",
        kyma_releases="1.11-1.16",
        end_of_support="6 weeks after Istio 1.26.0",
    ),
    Line(
        version="1.25.3",
        commit="a62d39695c065f03d64aeb7837afe545c572323e",
        envoy="1.33.x",
        min_kubernetes="1.29",
        kyma_releases="1.17-1.18",
        end_of_support="6 weeks after Istio 1.27.0",
    ),
    Line(
        version="1.26.2",
        commit="455f269485eacc3c4a6cdb4993db5438589d3e2d",
        envoy="1.34.x",
        min_kubernetes="1.29",
        kyma_releases="1.19-1.20",
        end_of_support="6 weeks after Istio 1.28.0",
    ),
    Line(
        version="1.27.0",
        commit="7359d8be2504f2b191f7d94156af08e6590d2d1c",
        envoy="1.35.x",
        min_kubernetes="1.29",
        kyma_releases="1.21-1.24",
        end_of_support="6 weeks after Istio 1.29.0",
        native_sidecar_kubelet="1.33",
    ),
    Line(
        version="1.28.3",
        commit="4c1f845d839e9086ee85ad9337f2647492322eb4",
        envoy="1.36.x",
        min_kubernetes="1.30",
        kyma_releases="1.25-1.26",
        end_of_support="6 weeks after Istio 1.30.0",
        pdb_needs_autoscale_min=True,
        native_sidecar_kubelet="1.33",
    ),
    Line(
        version="1.29.1",
        commit="6991a379e1fcfbe21e64da2eda5d56624a5547b4",
        envoy="1.37.x",
        min_kubernetes="1.30",
        kyma_releases="1.27",
        end_of_support="6 weeks after Istio 1.31.0",
        pdb_needs_autoscale_min=True,
        native_sidecar_kubelet="1.33",
    ),
)
"""Every line this build supports, oldest first."""

NEWEST: Final = LINES[-1]

DEFAULT: Final = NEWEST
"""The line a process targets unless told otherwise (``--istio-line``): always the newest, the only one
Istio still patches longest. ``testenv/build`` and the image rely on this: the default line's binaries
are the plain ``istioctl`` and ``pilot-discovery``."""


def line(name: str) -> Line:
    """The line called ``1.29`` (or given by any release of it, ``1.29.1``); ``ValueError`` listing the
    lines this build has."""
    wanted = ".".join(name.strip().removeprefix("v").split("-")[0].split(".")[:2])
    for candidate in LINES:
        if candidate.minor == wanted:
            return candidate
    known = ", ".join(candidate.minor for candidate in LINES)
    raise ValueError(f"Istio line {name!r} is not one this build installs (known: {known})")


def at(tag: str) -> Line:
    """The rules of the line an installed ``tag`` belongs to, at that tag's version: the line of its
    minor, else the newest older line (a release this build has no line for is read by the rules of the
    line before it). ``ValueError`` when ``tag`` is no version."""
    release = release_parts(tag)
    if release is None:
        raise ValueError(f"Istio version tag {tag!r} is not a version like 1.23.2")
    older = [c for c in LINES if (release_parts(c.version) or (0, 0, 0))[:2] <= release[:2]]
    closest = older[-1] if older else LINES[0]
    return dataclasses.replace(closest, version=".".join(str(part) for part in release))
