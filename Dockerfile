# syntax=docker/dockerfile:1
#
# kyma-istio-operator image: three stages.
#   istioctl - builds istioctl from testenv/istio-1.29/go.mod + go.sum, the default (= newest) Istio line,
#              the very pins the tests run against, with the flags of testenv/build's line build (a unit
#              test keeps the two in step);
#   python   - installs requirements.lock (hash-checked wheels, the lock `make image` uses too) and
#              the operator's wheel into /opt/venv;
#   final    - the slim runtime: the venv and istioctl only, no compiler, no pip run, UID 65532.
#
# Base images are pinned by version tag AND sha256 digest. The digests were taken from public material
# (other projects pinning the same tags); this repository's machine has no registry access to re-resolve
# them, so the release pipeline must confirm them (`docker buildx imagetools inspect <tag>`) and bump them
# together with the tag. See docs/install.md, "Building the image".
#
# Nothing is downloaded at run time: Go modules are fetched and checked against go.sum while building the
# istioctl stage, and Python packages (checked against the lock's hashes) while building the python stage.
#
# Without Docker, `make image` builds the image from the same pins (image/build: Debian's python3 from
# mmdebstrap, buildah, reproducible); a unit test keeps entrypoint, user and environment of both in step.

# Go 1.25 or newer: testenv/istio-1.29/go.mod says `go 1.25.0`, and GOTOOLCHAIN=local forbids a download.
ARG GO_IMAGE=golang:1.25.5-bookworm@sha256:d9132cce84391efab786495288756d60e1da215b1f94e87860aeefc3d4c45b6d
ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm@sha256:081075da77b2b55c23c088251026fb69a7b2bf92471e491ff5fd75c192fd38e5

# ---------------------------------------------------------------------------------------------------------
FROM ${GO_IMAGE} AS istioctl
ENV CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false" GOTOOLCHAIN=local
WORKDIR /src/istioctl
COPY testenv/istio-1.29/go.mod testenv/istio-1.29/go.sum ./
RUN go mod download
# Release-build parity with testenv/build (istio_ldflags; the release and commit are the go.mod's
# "// istio-release:" line): without these flags istioctl reports version "unknown" and stamps it into
# the operator.istio.io/version label of everything it installs.
RUN go build -trimpath -o /out/istioctl -tags vtprotobuf,disable_pgv \
      -ldflags "-s -w -X istio.io/istio/pkg/version.buildVersion=1.29.1 -X istio.io/istio/pkg/version.buildGitRevision=6991a379e1fcfbe21e64da2eda5d56624a5547b4 -X istio.io/istio/pkg/version.buildStatus=Clean -X istio.io/istio/pkg/version.buildTag=1.29.1 -X istio.io/istio/pkg/version.buildHub=docker.io/istio" \
      istio.io/istio/istioctl/cmd/istioctl \
 && /out/istioctl version --remote=false

# ---------------------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS python
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY pyproject.toml README.md requirements.lock ./
COPY src ./src
RUN python -m pip wheel --no-deps --wheel-dir /wheels . \
 && python -m venv /opt/venv \
 && /opt/venv/bin/pip install --require-hashes --only-binary=:all: -r requirements.lock \
 && /opt/venv/bin/pip install --no-deps /wheels/*.whl \
 && /opt/venv/bin/pip uninstall --yes setuptools pip \
 && /opt/venv/bin/python -m compileall -q /opt/venv/lib

# ---------------------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS final
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG SOURCE=https://kyma-project.io
LABEL org.opencontainers.image.title="kyma-istio-operator" \
      org.opencontainers.image.description="Installs, upgrades and uninstalls Istio from one Istio CR" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="Apache-2.0"
# HOME and TMPDIR point at /tmp, the only writable path (an emptyDir in the chart), so the root
# filesystem can be mounted read-only.
ENV PATH=/opt/venv/bin:/usr/local/bin:/usr/bin:/bin \
    HOME=/tmp \
    TMPDIR=/tmp \
    LANG=C.UTF-8 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ISTIOCTL_PATH=/usr/local/bin/istioctl
COPY --from=python /opt/venv /opt/venv
COPY --from=istioctl /out/istioctl /usr/local/bin/istioctl
USER 65532:65532
WORKDIR /tmp
EXPOSE 8080 8081
VOLUME /tmp
ENTRYPOINT ["kyma-istio", "run"]
CMD ["--leader-elect", "--metrics-bind-address", ":8080", "--health-probe-bind-address", ":8081"]
