"""When the ingress gateway is restarted (spec 6.1): only when numTrustedProxies differs from the last
applied value, both being optional."""

from typing import Any

import pytest

from kyma_istio.api.v1alpha2 import IstioSpec
from kyma_istio.mesh.change import trusted_proxies_changed
from kyma_istio.mesh.lastapplied import LastApplied


def spec(raw: dict[str, Any]) -> IstioSpec:
    return IstioSpec.model_validate(raw)


def trusted(value: int | None) -> IstioSpec:
    return spec({} if value is None else {"config": {"numTrustedProxies": value}})


def needed(now: IstioSpec, last: IstioSpec | None) -> bool:
    applied = None if last is None else LastApplied(spec=last, istio_tag="1.23.2-distroless")
    return trusted_proxies_changed(now, applied)


def test_a_changed_value_restarts_the_gateway() -> None:
    assert needed(trusted(2), trusted(1))


def test_setting_a_previously_unset_value_restarts_the_gateway() -> None:
    assert needed(trusted(1), trusted(None))


def test_unsetting_a_previously_set_value_restarts_the_gateway() -> None:
    assert needed(trusted(None), trusted(1))


def test_zero_differs_from_unset() -> None:
    assert needed(trusted(0), trusted(None))
    assert needed(trusted(None), trusted(0))


@pytest.mark.parametrize("value", [None, 0, 1, 5])
def test_the_same_value_does_not_restart_the_gateway(value: int | None) -> None:
    assert not needed(trusted(value), trusted(value))


def test_a_first_install_with_the_field_set_restarts_the_gateway() -> None:
    assert needed(trusted(1), None)


def test_a_first_install_without_the_field_does_not_restart_the_gateway() -> None:
    assert not needed(trusted(None), None)


def test_a_config_without_the_field_counts_as_unset() -> None:
    with_empty_config = spec({"config": {"gatewayExternalTrafficPolicy": "Local"}})

    assert not needed(with_empty_config, trusted(None))
    assert not needed(trusted(None), with_empty_config)


def test_other_config_changes_do_not_restart_the_gateway() -> None:
    before = spec({"config": {"numTrustedProxies": 1, "gatewayExternalTrafficPolicy": "Cluster"}})
    after = spec(
        {
            "config": {"numTrustedProxies": 1, "gatewayExternalTrafficPolicy": "Local"},
            "compatibilityMode": True,
        }
    )

    assert not needed(after, before)
