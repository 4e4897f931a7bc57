# syntax=docker/dockerfile:1
#
# kyma-istio-operator image: three stages.
#   istioctl - builds istioctl from testenv/istioctl/go.mod + go.sum, the very pins the tests run against,
#              with the flags of testenv/build (a unit test keeps the two in step);
#   python   - builds the operator wheel and installs it with its dependencies into /opt/venv;
#   final    - the slim runtime: the venv and istioctl only, no compiler, no pip run, UID 65532.
#
# Base images are pinned by version tag AND sha256 digest. The digests were taken from public material
# (other projects pinning the same tags); this repository's machine has no registry access to re-resolve
# them, so the release pipeline must confirm them (`docker buildx imagetools inspect <tag>`) and bump them
# together with the tag. See docs/install.md, "Building the image".
#
# Nothing is downloaded at run time: Go modules are fetched and checked against go.sum while building the
# istioctl stage, and Python packages while building the python stage.

ARG GO_IMAGE=golang:1.24.4-bookworm@sha256:ee7ff13d239350cc9b962c1bf371a60f3c32ee00eaaf0d0f0489713a87e51a67
ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm@sha256:081075da77b2b55c23c088251026fb69a7b2bf92471e491ff5fd75c192fd38e5

# ---------------------------------------------------------------------------------------------------------
FROM ${GO_IMAGE} AS istioctl
ENV CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false" GOTOOLCHAIN=local
WORKDIR /src/istioctl
COPY testenv/istioctl/go.mod testenv/istioctl/go.sum ./
RUN go mod download
# Release-build parity with testenv/build: without these flags istioctl reports version "unknown" and
# stamps it into the operator.istio.io/version label of everything it installs.
RUN go build -trimpath -o /out/istioctl -tags vtprotobuf,disable_pgv \
      -ldflags "-s -w -X istio.io/istio/pkg/version.buildVersion=1.23.2 -X istio.io/istio/pkg/version.buildGitRevision=da0b3f29e9f9eef387691bdf5870a6d665c704c9 -X istio.io/istio/pkg/version.buildStatus=Clean -X istio.io/istio/pkg/version.buildTag=1.23.2 -X istio.io/istio/pkg/version.buildHub=docker.io/istio" \
      istio.io/istio/istioctl/cmd/istioctl \
 && /out/istioctl version --remote=false

# ---------------------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS python
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN python -m pip wheel --no-deps --wheel-dir /wheels . \
 && python -m venv /opt/venv \
 && /opt/venv/bin/pip install /wheels/*.whl \
 && /opt/venv/bin/pip uninstall --yes setuptools pip \
 && /opt/venv/bin/python -m compileall -q /opt/venv/lib

# ---------------------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS final
LABEL org.opencontainers.image.title="kyma-istio-operator" \
      org.opencontainers.image.description="Installs, upgrades and uninstalls Istio from one Istio custom resource" \
      org.opencontainers.image.licenses="Apache-2.0"
# HOME and TMPDIR point at /tmp, the only writable path (an emptyDir in the chart), so the root
# filesystem can be mounted read-only.
ENV PATH=/opt/venv/bin:/usr/local/bin:/usr/bin:/bin \
    HOME=/tmp \
    TMPDIR=/tmp \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ISTIOCTL_PATH=/usr/local/bin/istioctl
COPY --from=python /opt/venv /opt/venv
COPY --from=istioctl /out/istioctl /usr/local/bin/istioctl
USER 65532:65532
WORKDIR /tmp
EXPOSE 8080 8081
ENTRYPOINT ["kyma-istio", "run"]
CMD ["--leader-elect", "--metrics-bind-address", ":8080", "--health-probe-bind-address", ":8081"]
