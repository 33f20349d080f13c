"""Network namespaces and veth cables of the lab; nothing is added to the machine's own namespace."""

from __future__ import annotations

import contextlib
import os
import signal
import time

from dcops.lab.system import ip
from dcops.lab.topology import Topology

BRIDGE = "br0"


def namespaces(prefix: str) -> list[str]:
    """The network namespaces on this machine that belong to the lab with this prefix."""
    listed = ip("netns", "list", check=False).stdout.splitlines()
    names = [line.split()[0] for line in listed if line.strip()]
    return sorted(n for n in names if n.startswith(f"{prefix}-"))


def build(topo: Topology) -> None:
    """Create the switch, one namespace per host, the management cabling and the fabric cables."""
    existing = set(namespaces(topo.prefix))
    for ns in (topo.switch, *(h.namespace for h in topo.hosts)):
        if ns not in existing:
            ip("netns", "add", ns)
        ip("-n", ns, "link", "set", "lo", "up")
    sw = topo.switch
    if ip("-n", sw, "link", "show", BRIDGE, check=False).returncode != 0:
        ip("-n", sw, "link", "add", BRIDGE, "type", "bridge")
    ip("-n", sw, "link", "set", BRIDGE, "up")
    for host in topo.hosts:
        if ip("-n", host.namespace, "link", "show", "eth0", check=False).returncode != 0:
            ip(
                "-n", sw, "link", "add", host.switch_port, "type", "veth",
                "peer", "name", "eth0", "netns", host.namespace,
            )  # fmt: skip
        ip("-n", sw, "link", "set", host.switch_port, "master", BRIDGE, "up")
        address = f"{host.address}/{host.prefix_length}"
        ip("-n", host.namespace, "addr", "replace", address, "dev", "eth0")
        ip("-n", host.namespace, "link", "set", "eth0", "up")
    for link in topo.links:
        a, b = topo.host(link.a).namespace, topo.host(link.b).namespace
        if ip("-n", a, "link", "show", link.a_port, check=False).returncode != 0:
            ip(
                "-n", a, "link", "add", link.a_port, "type", "veth",
                "peer", "name", link.b_port, "netns", b,
            )  # fmt: skip
        ip("-n", a, "link", "set", link.a_port, "up")
        ip("-n", b, "link", "set", link.b_port, "up")


def pids(namespace: str) -> list[int]:
    """Processes living in a namespace."""
    out = ip("netns", "pids", namespace, check=False).stdout.split()
    return [int(p) for p in out if p.isdigit()]


def kill_all(namespace: str, wait: float = 5.0) -> None:
    """SIGKILL every process of a namespace and wait until they are gone."""
    deadline = time.monotonic() + wait
    while (alive := pids(namespace)) and time.monotonic() < deadline:
        for pid in alive:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)


def remove(prefix: str) -> list[str]:
    """Kill the processes of every namespace of the lab and delete the namespaces."""
    removed = []
    for ns in namespaces(prefix):
        kill_all(ns)
        ip("netns", "delete", ns, check=False)
        removed.append(ns)
    return removed
