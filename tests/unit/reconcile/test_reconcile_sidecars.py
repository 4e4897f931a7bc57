"""What an up-to-date sidecar looks like after a pass (spec 6.2), from the installed IstioOperator."""

import pytest

from kyma_istio.api.v1alpha2 import IstioSpec
from kyma_istio.mesh.lastapplied import LastApplied
from kyma_istio.mesh.merge import merge
from kyma_istio.mesh.profile import CloudProvider, Flavour, Profile
from kyma_istio.reconcile.sidecars import expectation_for
from kyma_istio.reconcile.steps import Installed
from kyma_istio.restart.predicates.expectation import ProxyResources

# --- expectation_for ------------------------------------------------------------------------------

PRODUCTION_RESOURCES = ProxyResources(
    cpu_request="10m", memory_request="192Mi", cpu_limit="1000m", memory_limit="1024Mi"
)


def step_for(spec: IstioSpec, last: IstioSpec | None = None) -> Installed:
    applied = None if last is None else LastApplied(spec=last, istio_tag="1.23.2-distroless")
    iop = merge(spec, profile=Profile.PRODUCTION)
    return Installed({}, spec, applied, iop, "", CloudProvider.OTHER, Flavour.UNKNOWN)


def compat(value: bool | None) -> IstioSpec:
    return IstioSpec() if value is None else IstioSpec(compatibility_mode=value)


def test_the_default_expectation_is_the_pinned_proxy_with_production_resources() -> None:
    expectation = expectation_for(step_for(IstioSpec()))

    assert expectation.image == "docker.io/istio/proxyv2:1.23.2-distroless"
    assert expectation.resources == PRODUCTION_RESOURCES
    assert not expectation.compatibility_changed
    assert not expectation.compatibility_mode


def test_proxy_resources_of_the_cr_are_expected() -> None:
    spec = IstioSpec.model_validate(
        {
            "components": {
                "proxy": {"k8s": {"resources": {"limits": {"cpu": "500m"}, "requests": {"memory": "64Mi"}}}}
            }
        }
    )

    resources = expectation_for(step_for(spec)).resources

    assert resources == ProxyResources(
        cpu_request="10m", memory_request="64Mi", cpu_limit="500m", memory_limit="1024Mi"
    )


def test_a_first_install_with_compatibility_mode_is_no_compatibility_change() -> None:
    expectation = expectation_for(step_for(compat(True)))

    assert not expectation.compatibility_changed
    assert expectation.compatibility_mode


@pytest.mark.parametrize(("now", "before"), [(True, None), (True, False), (False, True), (None, True)])
def test_a_compatibility_mode_different_from_the_last_applied_is_a_change(
    now: bool | None, before: bool | None
) -> None:
    expectation = expectation_for(step_for(compat(now), compat(before)))

    assert expectation.compatibility_changed
    assert expectation.compatibility_mode is bool(now)


@pytest.mark.parametrize(
    ("now", "before"), [(True, True), (False, False), (None, None), (False, None), (None, False)]
)
def test_the_same_compatibility_mode_as_last_applied_is_no_change(
    now: bool | None, before: bool | None
) -> None:
    assert not expectation_for(step_for(compat(now), compat(before))).compatibility_changed
