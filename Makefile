# Every target creates .venv on first use; nothing is installed outside it except the Go-built tools,
# which go to ~/.cache/kyma-istio/testenv (see testenv/build).
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Tests run inside a fresh network namespace with only loopback up (see README, "Network safety").
NETNS := unshare --net --fork -- bash -c 'ip link set lo up && exec "$$0" "$$@"'

.PHONY: help demo test unit integration lint testenv crd docs chart dashboard rbac lock audit clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

# The runtime dependencies are installed at the versions of requirements.lock (what `make audit` checks).
$(STAMP): pyproject.toml requirements.lock
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -c requirements.lock -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

testenv: ## build (or reuse) etcd, kube-*, kwok, istioctl and helm from the pinned Go modules
	testenv/build

demo: $(STAMP) testenv ## the main job: local control plane + operator + sample CR until Ready
	$(NETNS) $(VENV)/bin/kyma-istio demo

lint: $(STAMP) ## ruff, mypy --strict and the import layers
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

unit: $(STAMP) ## fast unit tests (no I/O)
	$(NETNS) $(VENV)/bin/pytest tests/unit -q

integration: $(STAMP) testenv ## integration tests against the local control plane
	$(NETNS) $(VENV)/bin/pytest tests/integration -q -m integration

test: $(STAMP) lint testenv ## everything CI runs: lint, unit and integration tests
	$(NETNS) $(VENV)/bin/pytest tests -q

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

lock: $(STAMP) ## re-resolve requirements.lock: the pinned runtime dependencies of pyproject.toml
	$(VENV)/bin/pip-compile --quiet --strip-extras --no-emit-index-url --no-emit-find-links \
	  --output-file requirements.lock pyproject.toml

audit: $(STAMP) ## pip-audit requirements.lock against PyPI's advisories (needs PyPI)
	.ci/audit

clean: ## remove the virtualenv and caches (not the Go tool cache)
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
