# Every target creates .venv on first use; nothing is installed outside it except the Go-built tools,
# which go to ~/.cache/kyma-istio/testenv (see testenv/build).
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Tests run inside a fresh network namespace with only loopback up (see README, "Network safety"). Root
# creates it directly; any other user inside a user namespace of their own (unshare -r), which needs no
# privilege where user namespaces are enabled (README, "Prerequisites").
NETNS := unshare $(if $(filter 0,$(shell id -u)),,-r) --net --fork -- bash -c 'ip link set lo up && exec "$$0" "$$@"'

.PHONY: help demo test unit integration lint testenv ladder crd docs chart dashboard rbac lock audit clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

# The runtime dependencies are installed at the versions of requirements.lock (what `make audit` checks).
$(STAMP): pyproject.toml requirements.lock
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	# The lock's pins without its hashes: pip checks hashes of every requirement once any constraint has one,
	# and the editable project has none. The image build installs the hashed files (image/build).
	grep -oE '^[A-Za-z0-9_.-]+==[^ ]+' requirements.lock > $(VENV)/constraints.txt
	$(VENV)/bin/pip install -q -c $(VENV)/constraints.txt -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

testenv: ## build (or reuse) etcd, kube-*, kwok, helm, promtool and the Istio lines 1.23 and the newest two (the newest, the default, also as istioctl and pilot-discovery) from the pinned Go modules
	testenv/build

demo: $(STAMP) testenv ## the main job: local control plane + operator + sample CR until Ready
	$(NETNS) $(VENV)/bin/kyma-istio demo

lint: $(STAMP) ## ruff, mypy --strict and the import layers
	$(VENV)/bin/ruff check src tests benchmarks image
	$(VENV)/bin/ruff format --check src tests benchmarks image
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy --strict image/assemble.py image/sbom.py
	$(VENV)/bin/lint-imports

unit: $(STAMP) ## fast unit tests (no I/O)
	$(NETNS) $(VENV)/bin/pytest tests/unit -q

integration: $(STAMP) testenv ## integration tests against the local control plane
	$(NETNS) $(VENV)/bin/pytest tests/integration -q -m integration

test: $(STAMP) lint testenv image-for-tests ## everything CI runs: lint, image, unit tests (unprivileged when root), integration
	$(NETNS) .ci/unit-unprivileged
	$(NETNS) $(VENV)/bin/pytest tests/integration -q

ladder: $(STAMP) ## every Istio line (testenv/build --lines): golden renders, install, injection and takeover at each line's release, and a climb
	testenv/build all --lines
	$(VENV)/bin/pytest tests/unit/lines -q
	KYMA_ISTIO_LADDER=1 $(NETNS) $(VENV)/bin/pytest tests/integration/test_upgrade.py -q -p no:randomly -k "at_its_lines_release or climb"

crd: $(STAMP) ## regenerate deploy/crds from the API model
	$(VENV)/bin/kyma-istio crd > deploy/crds/operator.kyma-project.io_istios.yaml

chart: testenv ## helm lint and render the operator chart
	$$(testenv/build --print-bin-dir)/helm lint --strict --kube-version 1.34.2 deploy/chart
	$$(testenv/build --print-bin-dir)/helm template kyma-istio deploy/chart --namespace kyma-system --kube-version 1.34.2 >/dev/null

dashboard: $(STAMP) ## regenerate the chart's Grafana dashboard from kyma_istio.ops.dashboard
	$(PY) -m kyma_istio.ops.dashboard > deploy/chart/files/dashboards/kyma-istio-operator.json

docs: $(STAMP) ## regenerate docs/reference from the API model
	$(VENV)/bin/kyma-istio reference > docs/reference/istio-cr.md

rbac: $(STAMP) testenv ## regenerate Istio's inventory (istioctl), the chart's RBAC files and docs/security.md's table
	$(PY) -m kyma_istio.operator.rbac --inventory
	$(PY) -m kyma_istio.operator.rbac

lock: $(STAMP) ## re-resolve requirements.lock: the pinned runtime dependencies of pyproject.toml, with hashes
	$(VENV)/bin/pip-compile --quiet --strip-extras --no-emit-index-url --no-emit-find-links --generate-hashes \
	  --output-file requirements.lock pyproject.toml

audit: $(STAMP) ## pip-audit requirements.lock against PyPI's advisories (needs PyPI)
	.ci/audit

clean: ## remove the virtualenv and caches (not the Go tool cache)
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# --- The operator image, without a Docker daemon (image/build, docs/install.md) ---------------------------
.PHONY: image image-all-lines image-for-tests

image: $(STAMP) ## the operator image: build/kyma-istio-operator.oci.tar (+ .digest, SBOM), mmdebstrap + buildah
	image/build

# Not part of make test: the climb's image, about 250 MB where the default is 77 MB (docs/install.md).
image-all-lines: $(STAMP) ## the image for the climb, with every Istio line's istioctl-<version>: build/kyma-istio-operator-all-lines.oci.tar
	IMAGE_LINES=all image/build

# As root (CI) the image is always built (image/build installs buildah & co.); elsewhere only when the
# tools are there, and tests/integration/test_image.py skips, saying why.
image-for-tests: $(STAMP)
	@if [ "$$(id -u)" = 0 ] || command -v buildah umoci skopeo mmdebstrap >/dev/null; then image/build; \
	else echo "[image] not built: needs root or buildah, umoci, skopeo and mmdebstrap (the image tests skip)"; fi
