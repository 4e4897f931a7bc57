"""Pinned values that do not depend on the Istio line: the image registries.

Everything that depends on "which Istio" (version, tag, commit, Envoy) is a line of
:mod:`kyma_istio.lines`, handed down with each pass.
"""

from typing import Final

DEFAULT_HUB: Final = "docker.io/istio"
"""Image registry of Istio's public images; overridable for private or mirrored registries."""

KYMA_HUB: Final = "europe-docker.pkg.dev/kyma-project/prod/external/istio"
"""The registry the Kyma reference operator uses (documented for users who mirror from it)."""
