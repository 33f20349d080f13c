"""The lab's shape, derived from the site's hosts: namespaces, management switch and fabric links."""

from __future__ import annotations

import hashlib
import ipaddress
import os
import re
from dataclasses import dataclass
from pathlib import Path

from dcops.core.errors import InputError
from dcops.core.hosts import HostInventory
from dcops.core.site import Site

PREFIX_ENV = "DCOPS_LAB_PREFIX"
_PREFIX = re.compile(r"^[a-z][a-z0-9]{1,11}$")


@dataclass(frozen=True)
class LabHost:
    """One lab host: its namespace, management address and the switch port it hangs on."""

    name: str
    group: str
    namespace: str
    address: str
    prefix_length: int
    switch_port: str


@dataclass(frozen=True)
class LabLink:
    """A fabric cable: a veth pair between two hosts' namespaces."""

    a: str
    a_port: str
    b: str
    b_port: str


@dataclass(frozen=True)
class Topology:
    """Everything `lab up` builds, named under one prefix."""

    prefix: str
    switch: str
    hosts: tuple[LabHost, ...]
    links: tuple[LabLink, ...]

    def host(self, name: str) -> LabHost:
        """The lab host with this name; InputError listing the known ones otherwise."""
        for host in self.hosts:
            if host.name == name:
                return host
        known = ", ".join(h.name for h in self.hosts)
        raise InputError(f"no lab host {name!r}; allowed: {known}")

    @property
    def mgmt(self) -> LabHost:
        """The management node: the controller's way into the lab."""
        return next(h for h in self.hosts if h.group == "mgmt")


def lab_prefix(state: Path) -> str:
    """The name prefix of this site's lab: $DCOPS_LAB_PREFIX or one derived from the state dir."""
    given = os.environ.get(PREFIX_ENV)
    if given:
        if not _PREFIX.match(given):
            raise InputError(
                f"{PREFIX_ENV}={given!r} is not a lab prefix; allowed: a-z then a-z/0-9, 2-12 chars"
            )
        return given
    return "dl" + hashlib.sha256(str(state.resolve()).encode()).hexdigest()[:6]


def topology(site: Site) -> Topology:
    """The lab for the site's hosts; InputError if the site has no usable hosts inventory."""
    inventory = site.hosts
    _require_hosts(inventory)
    prefix = lab_prefix(site.paths.state)
    hosts = tuple(
        LabHost(
            name=h.name,
            group=h.group,
            namespace=f"{prefix}-{h.name}",
            address=h.address,
            prefix_length=_prefix_length(site, h.address),
            switch_port=f"p{i}",
        )
        for i, h in enumerate(inventory.hosts)
    )
    links = tuple(LabLink(x.a, x.a_port, x.b, x.b_port) for x in inventory.fabric_links)
    return Topology(prefix, f"{prefix}-sw", hosts, links)


def _require_hosts(inventory: HostInventory) -> None:
    if not inventory.present or not inventory.hosts:
        raise InputError("the site has no hosts: write inventory/hosts.yml (groups spine, leaf...)")
    if not inventory.group("mgmt"):
        raise InputError(
            "inventory/hosts.yml: group mgmt has no host; the lab needs one as its way in"
        )


def _prefix_length(site: Site, address: str) -> int:
    ip = ipaddress.ip_address(address)
    lengths = [
        pool.network.prefixlen
        for pool in site.config.pools
        if pool.use == "management" and ip in pool.network
    ]
    return max(lengths) if lengths else 24
