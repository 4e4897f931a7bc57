"""The one place for pinned versions.

Everything that depends on "which Istio does this release ship" reads it from here: the default
IstioOperator tag, the version rules, the expected sidecar image and the ``version`` command. The Go
tools that build ``istioctl`` are pinned in ``testenv/istioctl/go.mod`` at the commit of the same release;
a unit test keeps the two in agreement.
"""

from typing import Final

ISTIO_VERSION: Final = "1.23.2"
"""Istio release installed by this operator."""

ENVOY_VERSION: Final = "1.31.2"
"""Envoy release inside that Istio's proxy image."""

ISTIO_FLAVOUR: Final = "distroless"
"""Image flavour; the tag is ``<version>-<flavour>``."""

ISTIO_TAG: Final = f"{ISTIO_VERSION}-{ISTIO_FLAVOUR}"
"""Image tag used for pilot, proxyv2 and install-cni."""

ISTIO_COMMIT: Final = "da0b3f29e9f9eef387691bdf5870a6d665c704c9"
"""Commit of the Istio release tag; istioctl is built from it."""

DEFAULT_HUB: Final = "docker.io/istio"
"""Image registry of Istio's public images; overridable for private or mirrored registries."""

KYMA_HUB: Final = "europe-docker.pkg.dev/kyma-project/prod/external/istio"
"""The registry the Kyma reference operator uses (documented for users who mirror from it)."""
