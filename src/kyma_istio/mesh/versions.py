"""Which Istio version changes the operator performs (spec section 4).

Istio supports in-place upgrades of one minor version at a time and no downgrades, so before installing,
the version recorded in the CR's last-applied annotation (the *current* tag) is compared with the tag of
the line the operator targets (the *target* tag, :mod:`kyma_istio.lines`). Only ``major.minor.patch``
counts: a flavour change such as ``-distroless`` to ``-debug`` is no version change. The refusal messages
are Kyma's, word for word, because users search for them; ``path`` adds what would work instead, naming
the lines of this build that do.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

import semver

from kyma_istio.api import names
from kyma_istio.lines import LINES

_CORE = re.compile(r"^[0-9]+\.[0-9]+(\.[0-9]+)?(?=$|[-+])")
"""Two or three numeric parts, then the end, a flavour or build metadata."""
_MANY_STEPS = 3


class Verdict(enum.StrEnum):
    """What the operator does about the version change."""

    INSTALL = "install"
    """No version recorded: a first install, no rule applies."""
    UPGRADE = "upgrade"
    """A patch upgrade or exactly one minor version up."""
    NO_CHANGE = "no-change"
    """Same ``major.minor.patch``; the flavour may differ."""
    NOT_ALLOWED = "not-allowed"
    """A downgrade, a major change, a jump of more than one minor, or an unreadable current tag."""

    @property
    def allowed(self) -> bool:
        """Whether the operator goes on to install."""
        return self is not Verdict.NOT_ALLOWED


@dataclass(frozen=True)
class VersionDecision:
    """The verdict with the versions it compared, as full semver strings where they parse.

    ``message`` is the rule message (for refusals the text that follows ``Istio version update is not
    allowed: `` in the CR status); ``path`` says what would work instead and is set only for refusals.
    """

    verdict: Verdict
    current: str | None
    target: str
    message: str
    path: str | None = None


def parse_tag(tag: str) -> semver.Version:
    """An Istio image tag as a semantic version; the flavour becomes the pre-release part.

    Accepts a leading ``v`` and a missing patch (``1.22`` is ``1.22.0``), as tags are written by hand in
    places; anything else that is not semver raises ``ValueError`` naming the tag.
    """
    text = tag.strip().removeprefix("v")
    if not text:
        raise ValueError("empty Istio version tag")
    if not _CORE.match(text):
        raise ValueError(f"Istio version tag {tag!r} is not a version like 1.23.2 or 1.23.2-distroless")
    try:
        return semver.Version.parse(text, optional_minor_and_patch=True)
    except ValueError as error:
        raise ValueError(f"Istio version tag {tag!r} is not valid semver: {error}") from error


def decide_upgrade(current_tag: str | None, target_tag: str) -> VersionDecision:
    """Whether going from ``current_tag`` to ``target_tag`` is allowed, and why not.

    ``current_tag`` is ``None`` when the CR has no last-applied annotation (first install); an empty or
    unparseable one is refused, as Kyma does, since the installed version is then unknown. A bad
    ``target_tag`` is a defect of this release and raises ``ValueError``.
    """
    target = parse_tag(target_tag)
    if current_tag is None:
        return VersionDecision(Verdict.INSTALL, None, str(target), f"install Istio {target}")
    try:
        current = parse_tag(current_tag)
    except ValueError as error:
        return _unreadable(current_tag, target, error)
    return _compare(current, target)


def _compare(current: semver.Version, target: semver.Version) -> VersionDecision:
    """Kyma's rules in Kyma's order: same core, downgrade, major change, minor jump, else upgrade."""
    c, t = current.finalize_version(), target.finalize_version()
    if c == t:
        flavour = "" if current == target else f"; the image changes from {current} to {target}"
        return _decision(Verdict.NO_CHANGE, current, target, f"Istio {c} is already installed{flavour}")
    if t < c:
        return _refusal(
            current,
            target,
            f"target Istio version ({target}) is lower than current version ({current}) "
            "- downgrade not supported",
            _downgrade_path(c, t),
        )
    if t.major != c.major:
        return _refusal(
            current,
            target,
            f"target Istio version ({target}) is different than current Istio version ({current}) "
            "- major version upgrade is not supported",
            f"Istio does not support changing its major version in place; stay on a release of this "
            f"operator that ships Istio {c.major}.x",
        )
    if t.minor - c.minor > 1:
        return _refusal(
            current,
            target,
            f"target Istio version ({target}) is higher than current Istio version ({current}) "
            "- the difference between versions exceed one minor version",
            _minor_steps_path(c, t),
        )
    return _decision(Verdict.UPGRADE, current, target, f"upgrade Istio from {current} to {target}")


def _decision(
    verdict: Verdict, current: semver.Version, target: semver.Version, message: str, path: str | None = None
) -> VersionDecision:
    return VersionDecision(verdict, str(current), str(target), message, path)


def _refusal(current: semver.Version, target: semver.Version, message: str, path: str) -> VersionDecision:
    return _decision(Verdict.NOT_ALLOWED, current, target, message, path)


def _unreadable(current_tag: str, target: semver.Version, error: ValueError) -> VersionDecision:
    """An unknown installed version cannot be checked against the rules, so it is refused."""
    why = str(error) if current_tag.strip() else "the last applied configuration holds no IstioTag"
    return VersionDecision(
        Verdict.NOT_ALLOWED,
        current_tag,
        str(target),
        f"current Istio version cannot be determined: {why}",
        f"set IstioTag in the {names.LAST_APPLIED_ANNOTATION} annotation of the Istio CR "
        "to the tag of the Istio that is installed",
    )


def accepting_lines(current: semver.Version) -> list[str]:
    """The lines of this build that may target an installation of ``current``: its own minor (a later
    installed patch is kept, ``Line.keeping``), or the next minor."""
    found = []
    for line in LINES:
        version = semver.Version.parse(line.version)
        same_minor = (version.major, version.minor) == (current.major, current.minor)
        next_minor = version.major == current.major and version.minor == current.minor + 1
        if same_minor or next_minor:
            found.append(line.minor)
    return found


def _installed_and_target(current: semver.Version, target: semver.Version) -> str:
    return f"installed {current.finalize_version()}; target {target.finalize_version()}"


def _downgrade_path(current: semver.Version, target: semver.Version) -> str:
    """Name the lines of this build that accept the installed version, or say that none does."""
    lines = accepting_lines(current)
    head = _installed_and_target(current, target)
    if (current.major, current.minor) == (target.major, target.minor) and lines:
        return (
            f"{head}: an operator on the {current.major}.{current.minor} line keeps the installed "
            f"{current.finalize_version()} as it is (a later patch of its line); only an explicit lower "
            "target is refused"
        )
    if lines:
        return f"{head}: set the operator's Istio line to {' or '.join(lines)} (--istio-line)"
    floor = (
        str(current.finalize_version())
        if current.minor == target.minor
        else f"{current.major}.{current.minor}"
    )
    return (
        f"{head}: no line of this build installs Istio {floor} or later of that minor; keep the operator "
        "that installed it"
    )


def _minor_steps_path(current: semver.Version, target: semver.Version) -> str:
    """The minors to pass through, one at a time, with the line to set first, or the minors this build
    has no line for."""
    steps = [f"{current.major}.{minor}" for minor in range(current.minor + 1, target.minor)]
    head = _installed_and_target(current, target)
    listed = ", then ".join(steps) if len(steps) <= _MANY_STEPS else f"{steps[0]} through {steps[-1]}"
    have = {line.minor for line in LINES}
    missing = [step for step in steps if step not in have]
    if missing:
        shown = ", ".join(missing) if len(missing) <= _MANY_STEPS else f"{missing[0]} through {missing[-1]}"
        return (
            f"{head}: Istio moves one minor at a time ({listed}); this build has no line for {shown}: "
            "upgrade through those with the operator releases that ship them, then come back"
        )
    first = f"set the operator's Istio line to {steps[0]} (--istio-line)"
    final = f"{target.major}.{target.minor}"
    climb = (
        f'; or let the operator climb there one minor at a time (annotation {names.CLIMB_ANNOTATION}: "true" '
        "on the Istio CR, or --allow-climb)"
    )
    if len(steps) == 1:
        return f"{head}: {first} first, then to {final}{climb}"
    return f"{head}: {first}, then one minor at a time ({listed}), then to {final}{climb}"
