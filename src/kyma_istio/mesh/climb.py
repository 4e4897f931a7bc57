"""The climb: an installation several minors below the operator's line reaches it one minor at a time.

Istio upgrades in place one minor at a time, and a proxy may run one minor behind its control plane,
never more. So a climb from 1.24.2 to 1.29.1 is five complete upgrades (1.25.3, 1.26.2, 1.27.0, 1.28.3,
1.29.1), each through the normal pass (install, verify, restart every outdated proxy, health-gated), and
the next hop starts only once the last one ended as ``Ready`` would. The climb is opt-in (the operator's
``--allow-climb``, or the CR annotation below, which wins): it restarts every owner once per hop, which a
platform team must choose to accept. Revision (canary) upgrades, which may jump two minors, would halve
the hops; this build upgrades in place only (ADR 20).

Pure decisions only; ``reconcile.pipeline`` runs the hops.
"""

from __future__ import annotations

from dataclasses import dataclass

from kyma_istio.api import names
from kyma_istio.lines import LINES, Line, image_release, release_parts


@dataclass(frozen=True)
class Hop:
    """The hop a pass performs: from the installed release to the next line, on the way to the target."""

    line: Line
    """The line this hop installs (one minor above the installed release)."""
    installed: str
    """The release installed before this hop, ``1.25.3``."""
    started_from: str
    """The release the climb started from (the CR's climb annotation), for the hop's number."""
    target: Line
    """The operator's own line, where the climb ends."""

    @property
    def number(self) -> int:
        """1-based: this hop's place in the climb."""
        return _minor(self.line.version) - _minor(self.started_from)

    @property
    def total(self) -> int:
        """Hops from where the climb started to the target."""
        return _minor(self.target.version) - _minor(self.started_from)

    @property
    def last(self) -> bool:
        """The hop that reaches the target line."""
        return self.line.minor == self.target.minor

    def describe(self) -> str:
        """``climb hop 2 of 5: 1.25.3 -> 1.26.2 (towards 1.29.1)``: what status and Events say."""
        return (
            f"climb hop {self.number} of {self.total}: {self.installed} -> {self.line.version} "
            f"(towards {self.target.version})"
        )


def _minor(version: str) -> int:
    release = release_parts(version)
    if release is None:
        raise ValueError(f"not a release: {version!r}")
    return release[1]


def next_hop(
    installed_tag: str | None,
    target: Line,
    *,
    started_from: str | None = None,
    lines: tuple[Line, ...] = LINES,
) -> Hop | None:
    """The hop towards ``target`` from the ``installed_tag``, or ``None`` when no climb applies.

    A climb applies only upward within one major, two or more minors up, and only when this build has a
    line for every minor in between; anything else (a first install, one minor up, a downgrade, a major
    change, an unreadable tag, a missing line) is left to the version rule, whose message says what to do.
    One minor up is the last hop when a climb is in progress (``started_from`` a minor or more below).
    ``started_from`` is the release the climb began at, from the CR's annotation; one that does not fit
    (missing, unreadable, above the installed minor or of another major) counts the climb from the
    installed release, as if it began now.
    """
    installed = release_parts(installed_tag)
    goal = release_parts(target.version)
    if installed is None or goal is None or installed[0] != goal[0] or goal[1] - installed[1] < 1:
        return None
    start = release_parts(started_from)
    if start is None or start[0] != installed[0] or start[:2] > installed[:2]:
        start = installed
    if goal[1] - installed[1] == 1 and start[:2] == installed[:2]:
        return None  # a plain upgrade, not the last hop of a climb in progress
    by_minor = {(r[0], r[1]): line for line in lines if (r := release_parts(line.version)) is not None}
    needed = [(installed[0], minor) for minor in range(installed[1] + 1, goal[1])]
    if any(minor not in by_minor for minor in needed):
        return None
    return Hop(
        line=by_minor[needed[0]] if needed else target,
        installed=".".join(str(part) for part in installed),
        started_from=".".join(str(part) for part in start),
        target=target,
    )


@dataclass(frozen=True)
class Consent:
    """Whether the climb may run, and, for a bad annotation, why not."""

    allowed: bool
    error: str | None = None


def consent(annotations: dict[str, str] | None, operator_allows: bool) -> Consent:
    """The CR annotation ``true`` or ``false`` wins over the operator's setting; any other value allows
    nothing and says which values the annotation takes."""
    value = (annotations or {}).get(names.CLIMB_ANNOTATION)
    if value is None:
        return Consent(operator_allows)
    if value.strip().lower() in ("true", "false"):
        return Consent(value.strip().lower() == "true")
    return Consent(
        False,
        f'annotation {names.CLIMB_ANNOTATION} is {value!r}; it takes "true" (climb one minor at a time '
        'to the operator\'s line) or "false"',
    )


def proxies_behind(installed_tag: str, proxy_images: dict[str, str]) -> list[str]:
    """The pods (``namespace/name``, from ``{pod: proxy image}``) whose proxy runs a minor below
    ``installed_tag``: a hop now would leave them two minors behind istiod, beyond Istio's supported
    skew, so the climb waits for them. Images without a readable version tag are not counted."""
    installed = release_parts(installed_tag)
    if installed is None:
        return []
    behind = []
    for pod, image in sorted(proxy_images.items()):
        release = image_release(image)
        if release is not None and release[:2] < installed[:2]:
            behind.append(pod)
    return behind


def plan(installed_tag: str | None, target: Line, *, lines: tuple[Line, ...] = LINES) -> list[Hop]:
    """Every hop of the climb from ``installed_tag`` to ``target``, in order; empty when no climb applies
    (``next_hop``). Each hop assumes the one before it ended healthy."""
    hops: list[Hop] = []
    hop = next_hop(installed_tag, target, lines=lines)
    while hop is not None:
        hops.append(hop)
        if hop.last:
            break
        hop = next_hop(hop.line.version, target, started_from=hop.started_from, lines=lines)
    return hops
