"""The network-namespace guard of the local control plane.

The fake cluster hands out Service and Pod IPs (10.x) that belong to nothing, and kube-apiserver dials
them when it calls webhooks such as istiod's. Inside a namespace that has only ``lo``, such dials fail at
once; on a host network they would leave the machine. So the cluster refuses to start elsewhere unless
asked to.

Interfaces are listed with ``if_nameindex`` (netlink in the caller's namespace), not ``/sys/class/net``:
sysfs shows the namespace of whoever mounted it, so after ``unshare -n`` it still lists the host's links.
"""

import errno
import os
import socket
from typing import Final

ENTER_HINT: Final = "unshare --net --fork -- bash -c 'ip link set lo up && <command>'"
"""The shell form that runs a command in a fresh namespace with only loopback up."""


class HostNetworkError(RuntimeError):
    """The caller is not in a private network namespace (or its loopback is down)."""


def interface_names() -> list[str]:
    """Names of the network interfaces visible in the caller's network namespace."""
    return [name for _, name in socket.if_nameindex()]


def in_private_netns() -> bool:
    """True when loopback is the only interface, as right after ``unshare -n``."""
    return interface_names() == ["lo"]


def loopback_is_up() -> bool:
    """True when 127.0.0.1 can be bound; after ``unshare -n`` it cannot until ``lo`` is set up."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", 0))
        except OSError as error:
            if error.errno in (errno.EADDRNOTAVAIL, errno.ENETUNREACH):
                return False
            raise
    return True


def current_netns() -> str:
    """An identifier of the caller's network namespace, e.g. ``net:[4026532301]``."""
    return os.readlink("/proc/self/ns/net")


def ensure_private_netns(*, allow_host_network: bool) -> None:
    """Refuse to go on outside a private namespace, unless the caller opted in knowingly."""
    if not allow_host_network and not in_private_netns():
        raise HostNetworkError(
            "the local control plane runs only in a private network namespace (found interfaces: "
            f"{', '.join(interface_names())}); start it with `{ENTER_HINT}` "
            "or pass allow_host_network / --allow-host-network"
        )
    if not loopback_is_up():
        raise HostNetworkError("loopback is down in this network namespace; run `ip link set lo up` first")
