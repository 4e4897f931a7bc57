"""The network-namespace guard: only loopback counts as private, and the refusal says what to do."""

import pytest

from kyma_istio.devenv import netns


def _interfaces(monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
    monkeypatch.setattr(netns.socket, "if_nameindex", lambda: list(enumerate(names, start=1)))


def test_a_namespace_with_only_loopback_is_private(monkeypatch: pytest.MonkeyPatch) -> None:
    _interfaces(monkeypatch, "lo")

    assert netns.in_private_netns()


def test_a_namespace_with_any_other_interface_is_not_private(monkeypatch: pytest.MonkeyPatch) -> None:
    _interfaces(monkeypatch, "lo", "eth0")

    assert not netns.in_private_netns()


def test_the_host_network_is_refused_with_the_command_that_fixes_it(monkeypatch: pytest.MonkeyPatch) -> None:
    _interfaces(monkeypatch, "lo", "eth0")

    with pytest.raises(netns.HostNetworkError, match=r"eth0.*unshare --net"):
        netns.ensure_private_netns(allow_host_network=False)


def test_the_host_network_is_accepted_when_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    _interfaces(monkeypatch, "lo", "eth0")
    monkeypatch.setattr(netns, "loopback_is_up", lambda: True)

    netns.ensure_private_netns(allow_host_network=True)


def test_a_private_namespace_with_loopback_down_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    _interfaces(monkeypatch, "lo")
    monkeypatch.setattr(netns, "loopback_is_up", lambda: False)

    with pytest.raises(netns.HostNetworkError, match="ip link set lo up"):
        netns.ensure_private_netns(allow_host_network=False)
