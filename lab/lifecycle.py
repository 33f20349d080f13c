"""`lab up`, `lab down` and `lab status`: build, tear down and inspect the whole lab."""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from dcops.core.errors import MissingDependency, OperationFailed
from dcops.core.requirements import PRIVILEGES
from dcops.core.site import Site
from dcops.lab import access, base, hostroot, network
from dcops.lab.inventory import write_inventory
from dcops.lab.system import ip, machine_umask, program, run
from dcops.lab.topology import LabHost, Topology, topology

READY_TIMEOUT = 60.0


@dataclass
class UpReport:
    """What `lab up` did."""

    prefix: str
    hosts: list[str]
    already_up: bool = False
    base_built: bool = False
    cleaned: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass(frozen=True)
class HostStatus:
    """One lab host as it is now."""

    name: str
    group: str
    namespace: str
    address: str
    namespace_exists: bool
    processes: int
    ssh: bool


def lab_dir(site: Site) -> Path:
    """The lab's folder in the state dir."""
    return site.paths.state / "lab"


def ensure_capable() -> None:
    """Refuse clearly unless this process is root and can make network namespaces."""
    if not PRIVILEGES["root"]():
        raise MissingDependency(
            "dcops lab needs root (it makes network namespaces and mounts); run it as root, "
            "e.g. with sudo"
        )
    if not PRIVILEGES["netns"]():
        raise MissingDependency(
            "this machine cannot make network namespaces (unshare --net failed); the lab needs "
            "a kernel with namespaces and a container that allows them"
        )


def up(site: Site) -> UpReport:
    """Build the lab (idempotent: an intact lab is left as it is; leftovers are cleared first)."""
    ensure_capable()
    started = time.monotonic()
    topo = topology(site)
    lab = lab_dir(site)
    report = UpReport(topo.prefix, [h.name for h in topo.hosts])
    if _intact(lab, topo):
        report.already_up = True
        write_inventory(site, lab, topo)
        return report
    report.cleaned = down(site, topo)
    lab.mkdir(parents=True, exist_ok=True)
    key = access.ensure_key(lab / "id_ed25519")
    network.build(topo)
    host_keys = {}
    with machine_umask():
        archive, report.base_built = base.ensure_tarball(site.paths.state)
        base.unpack(archive, lab / "base")
        for host in topo.hosts:
            root = hostroot.mount_root(lab, host, lab / "base")
            host_keys[host.address] = hostroot.prepare(root, host, key)
            hostroot.start(lab, host, root)
    access.write_known_hosts(lab, host_keys)
    access.write_ssh_config(lab, topo, key)
    _wait_ready(lab, topo)
    write_inventory(site, lab, topo)
    _write_state(lab, topo)
    report.seconds = time.monotonic() - started
    return report


def down(site: Site, topo: Topology | None = None) -> list[str]:
    """Remove everything the lab made (processes, namespaces, mounts, files); keep the base cache."""
    topo = topo or topology(site)
    lab = lab_dir(site)
    removed = network.remove(topo.prefix)
    access.close_masters(topo.prefix)
    shutil.rmtree(access.control_dir(topo.prefix), ignore_errors=True)
    removed += [f"mount {p}" for p in hostroot.unmount_all(lab)]
    if lab.exists():
        shutil.rmtree(lab, ignore_errors=True)  # entries may vanish while we walk (a dying host)
        if lab.exists():
            shutil.rmtree(lab)
        removed.append(f"folder {lab}")
    return removed


def rebuild(site: Site, name: str) -> list[str]:
    """Lose one lab host and put a fresh one in its place, as a reinstalled machine.

    Its processes, namespace, mounts and files go (the state it held is lost, as in a fire);
    the new host has the same name and address, a bare root from the base and a new host key.
    The other hosts are left as they are. Returns what was removed.
    """
    ensure_capable()
    topo = topology(site)
    host = topo.host(name)
    lab = lab_dir(site)
    if not (lab / "lab.json").is_file():
        raise OperationFailed("the lab is not up: run `dcops lab up` first")
    removed = []
    if host.namespace in network.namespaces(topo.prefix):
        network.kill_all(host.namespace)
        ip("netns", "delete", host.namespace)
        removed.append(host.namespace)
    access.close_masters(topo.prefix)
    home = hostroot.folder(lab, host)
    removed += [f"mount {p}" for p in hostroot.unmount_all(home)]
    if home.exists():
        shutil.rmtree(home)
        removed.append(f"folder {home}")
    network.build(topo)
    with machine_umask():
        root = hostroot.mount_root(lab, host, lab / "base")
        key = hostroot.prepare(root, host, lab / "id_ed25519")
        hostroot.start(lab, host, root)
    access.replace_known_host(lab, host.address, key)
    _wait_ready(lab, topo, (host,))
    return removed


def status(site: Site) -> list[HostStatus]:
    """Each lab host: namespace present, processes running, ssh answering."""
    topo = topology(site)
    present = set(network.namespaces(topo.prefix))
    mgmt_up = topo.mgmt.namespace in present
    return [
        HostStatus(
            h.name,
            h.group,
            h.namespace,
            h.address,
            h.namespace in present,
            len(network.pids(h.namespace)) if h.namespace in present else 0,
            mgmt_up and _port_open(topo, h.address, 22),
        )
        for h in topo.hosts
    ]


def _intact(lab: Path, topo: Topology) -> bool:
    state = lab / "lab.json"
    if not state.is_file():
        return False
    present = set(network.namespaces(topo.prefix))
    if any(h.namespace not in present or not network.pids(h.namespace) for h in topo.hosts):
        return False
    return all(_port_open(topo, h.address, 22) for h in topo.hosts)


def _port_open(topo: Topology, address: str, port: int) -> bool:
    nc = program("nc", "netcat-openbsd")
    ip = program("ip", "iproute2")
    probe = [ip, "netns", "exec", topo.mgmt.namespace, nc, "-z", "-w", "1", address, str(port)]
    return run(probe, check=False, timeout=10).returncode == 0


def _wait_ready(lab: Path, topo: Topology, hosts: tuple[LabHost, ...] = ()) -> None:
    """Until sshd answers on `hosts` (all of the topology's when none), probed from mgmt."""
    deadline = time.monotonic() + READY_TIMEOUT
    waiting = list(hosts or topo.hosts)
    while waiting and time.monotonic() < deadline:
        waiting = [h for h in waiting if not _port_open(topo, h.address, 22)]
        if waiting:
            time.sleep(0.2)
    if waiting:
        names = ", ".join(h.name for h in waiting)
        log = lab / "hosts" / waiting[0].name / "host.log"
        raise OperationFailed(
            f"lab hosts did not start sshd within {READY_TIMEOUT:.0f} s: {names} (see {log})"
        )


def _write_state(lab: Path, topo: Topology) -> None:
    data = {
        "prefix": topo.prefix,
        "switch": topo.switch,
        "hosts": {
            h.name: {"namespace": h.namespace, "address": h.address, "group": h.group}
            for h in topo.hosts
        },
    }
    (lab / "lab.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
