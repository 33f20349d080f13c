"""The room's hosts: inventory/hosts.yml (an Ansible YAML inventory) and its group/host vars."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from dcops.core.documents import Document, read_yaml
from dcops.core.errors import Problem
from dcops.core.strict import Strict

if TYPE_CHECKING:
    from dcops.core.site import AddressPool

HOSTS_FILE = "inventory/hosts.yml"
GROUPS = ("spine", "leaf", "servers", "backup", "mgmt")
FABRIC_GROUPS = ("spine", "leaf")
_PORT = re.compile(r"^[a-z][a-z0-9-]{0,14}$")
_HOST = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


def _ipv4(value: str) -> str:
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an IPv4 address; allowed: a.b.c.d") from None
    return value


def _cidr(value: str) -> str:
    try:
        ipaddress.IPv4Network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not an IPv4 network ({exc}); allowed: a.b.c.d/n") from None
    return value


def _host_name(value: str) -> str:
    if not _HOST.match(value):
        raise ValueError(
            f"{value!r} is not a host name; allowed: lowercase a-z, 0-9 and '-', at most 63 characters"
        )
    return value


def _port_name(value: str) -> str:
    if not _PORT.match(value):
        raise ValueError(
            f"{value!r} is not an interface name; allowed: a-z, 0-9 and '-', starting "
            "with a letter, at most 15 characters"
        )
    return value


IPv4 = Annotated[str, AfterValidator(_ipv4)]
IPv4Cidr = Annotated[str, AfterValidator(_cidr)]
PortName = Annotated[str, AfterValidator(_port_name)]
Name = Annotated[str, AfterValidator(_host_name)]


class HostEntry(Strict):
    """One host line of hosts.yml: its management address and, for switches, BGP identity."""

    ansible_host: IPv4
    ansible_port: int = Field(default=22, ge=1, le=65535)
    ansible_user: str | None = None
    loopback: IPv4 | None = None
    bgp_asn: int | None = Field(default=None, ge=1, le=4294967294)
    rack: str | None = None


class HostGroup(Strict):
    """A group of hosts.yml with its members."""

    hosts: dict[Name, HostEntry]
    vars: dict[str, Any] = {}


class AllGroup(Strict):
    """The `all` group: the role groups as children."""

    children: dict[str, HostGroup]
    vars: dict[str, Any] = {}


class HostsFile(Strict):
    """inventory/hosts.yml."""

    all: AllGroup


class FirewallRule(Strict):
    """One allowance of the firewall policy: protocol, ports and named sources."""

    name: str = Field(min_length=1)
    proto: Literal["tcp", "udp", "icmp"]
    ports: list[Annotated[int, Field(ge=1, le=65535)]] = []
    sources: list[str] = Field(alias="from", min_length=1)


class FabricLink(Strict):
    """A point-to-point fabric link from a leaf port to a spine port."""

    a: Name
    a_port: PortName
    a_ip: IPv4
    b: Name
    b_port: PortName
    b_ip: IPv4


class SnmpUser(Strict):
    """An SNMPv3 user (authPriv, SHA and AES)."""

    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,32}$")
    auth_password: str = Field(min_length=8)
    priv_password: str = Field(min_length=8)


class Retention(Strict):
    """How many daily, weekly and monthly snapshots restic keeps."""

    daily: int = Field(ge=0)
    weekly: int = Field(ge=0)
    monthly: int = Field(ge=0)


class Hook(Strict):
    """A command run before each backup, such as a database dump."""

    name: str = Field(min_length=1)
    command: str = Field(min_length=1)


class Vars(BaseModel):
    """The variables dcops reads from group_vars/ and host_vars/; others pass to Ansible as is."""

    model_config = ConfigDict(extra="allow", frozen=True)

    time_sources: list[str] | None = Field(default=None, min_length=1)
    resolvers: list[IPv4] | None = None
    firewall_sources: dict[str, list[IPv4Cidr]] | None = None
    firewall_rules_base: list[FirewallRule] | None = None
    firewall_rules_group: list[FirewallRule] | None = None
    firewall_rules_host: list[FirewallRule] | None = None
    snmp_users: list[SnmpUser] | None = None
    fabric_links: list[FabricLink] | None = None
    backup_host: str | None = None
    backup_paths: list[str] | None = Field(default=None, min_length=1)
    backup_retention: Retention | None = None
    backup_hooks: list[Hook] | None = None


@dataclass(frozen=True)
class Host:
    """A host of the room: name, role group, management address and fabric identity."""

    name: str
    group: str
    address: str
    port: int = 22
    loopback: str | None = None
    asn: int | None = None
    rack: str | None = None


@dataclass(frozen=True)
class HostInventory:
    """The hosts and fabric of the room as dcops understands them."""

    hosts: tuple[Host, ...] = ()
    fabric_links: tuple[FabricLink, ...] = ()
    present: bool = False

    def host(self, name: str) -> Host | None:
        """The host with this name, if any."""
        return next((h for h in self.hosts if h.name == name), None)

    def group(self, group: str) -> list[Host]:
        """The hosts of one role group."""
        return [h for h in self.hosts if h.group == group]


@dataclass
class _VarsFile:
    doc: Document
    scope: str
    model: Vars


def load_hosts(
    inventory: Path, pools: Iterable[AddressPool], racks: set[str] | None
) -> tuple[HostInventory, list[Problem]]:
    """Read and check hosts.yml and its vars files; every problem names file, line and field."""
    path = inventory / "hosts.yml"
    if not path.exists():
        return HostInventory(), []
    doc = read_yaml(path, HOSTS_FILE)
    problems = list(doc.problems)
    if problems:
        return HostInventory(), problems
    try:
        parsed = HostsFile.model_validate(doc.data)
    except ValidationError as exc:
        from dcops.core.loader import problems_from_validation

        return HostInventory(), problems_from_validation(exc, doc, HostsFile)
    hosts, host_problems = _hosts(parsed, doc, list(pools), racks)
    problems += host_problems
    vars_files = _vars_files(inventory, {h.name for h in hosts}, problems)
    links = _fabric_links(vars_files, hosts, list(pools), problems)
    problems += _rule_sources(vars_files)
    problems += _backup_hosts(vars_files, hosts)
    return HostInventory(tuple(hosts), tuple(links), True), problems


def _hosts(
    parsed: HostsFile, doc: Document, pools: list[AddressPool], racks: set[str] | None
) -> tuple[list[Host], list[Problem]]:
    problems: list[Problem] = []
    hosts: list[Host] = []
    seen: dict[str, str] = {}
    addresses: dict[str, str] = {}
    for group, members in parsed.all.children.items():
        if group not in GROUPS:
            problems.append(
                doc.problem(
                    ("all", "children", group),
                    f"unknown group {group!r}; allowed: {', '.join(GROUPS)}",
                )
            )
            continue
        for name, entry in members.hosts.items():
            loc = ("all", "children", group, "hosts", name)
            if name in seen:
                problems.append(
                    doc.problem(
                        loc, f"host {name!r} is already in group {seen[name]!r}; one group a host"
                    )
                )
                continue
            seen[name] = group
            problems += _host_checks(doc, loc, group, entry, pools, racks, addresses, name)
            hosts.append(
                Host(
                    name,
                    group,
                    entry.ansible_host,
                    entry.ansible_port,
                    entry.loopback,
                    entry.bgp_asn,
                    entry.rack,
                )
            )
    return hosts, problems


def _host_checks(
    doc: Document,
    loc: tuple[str, ...],
    group: str,
    entry: HostEntry,
    pools: list[AddressPool],
    racks: set[str] | None,
    addresses: dict[str, str],
    name: str,
) -> list[Problem]:
    problems = []
    fields = [("ansible_host", entry.ansible_host, "management")]
    if entry.loopback:
        fields.append(("loopback", entry.loopback, "fabric"))
    for field, value, use in fields:
        if value in addresses:
            problems.append(
                doc.problem(
                    (*loc, field), f"address {value} is already used by {addresses[value]!r}"
                )
            )
        addresses[value] = name
        if not _in_pools(value, pools, use):
            problems.append(
                doc.problem((*loc, field), f"{value} is outside every {use} pool of dcops.toml")
            )
    if group in FABRIC_GROUPS:
        for field in ("loopback", "bgp_asn"):
            if getattr(entry, field) is None:
                problems.append(doc.problem((*loc, field), f"required for a {group} switch"))
    if racks is not None and entry.rack is not None and entry.rack not in racks:
        problems.append(
            doc.problem((*loc, "rack"), f"unknown rack {entry.rack!r}; see inventory/rooms.yml")
        )
    return problems


def _in_pools(address: str, pools: list[AddressPool], use: str) -> bool:
    ip = ipaddress.ip_address(address)
    return any(pool.use == use and ip in pool.network for pool in pools)


def _vars_files(inventory: Path, host_names: set[str], problems: list[Problem]) -> list[_VarsFile]:
    files: list[_VarsFile] = []
    for kind, allowed in (("group_vars", {"all", *GROUPS}), ("host_vars", host_names)):
        folder = inventory / kind
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            scope = path.name.split(".")[0] if path.is_file() else path.name
            source = f"inventory/{kind}/{path.name}"
            if path.suffix not in (".yml", ".yaml", "") or path.name.startswith("."):
                continue
            if scope not in allowed:
                what = "group" if kind == "group_vars" else "host"
                known = ", ".join(sorted(allowed))
                problems.append(
                    Problem(source, "", f"unknown {what} {scope!r}; allowed: {known}", None)
                )
                continue
            parts = sorted(path.glob("*.y*ml")) if path.is_dir() else [path]
            for part in parts:
                label = source if part == path else f"{source}/{part.name}"
                loaded = _vars_file(part, label, scope, problems)
                if loaded:
                    files.append(loaded)
    return files


def _vars_file(path: Path, source: str, scope: str, problems: list[Problem]) -> _VarsFile | None:
    doc = read_yaml(path, source)
    problems.extend(doc.problems)
    if doc.problems:
        return None
    data = doc.data if doc.data is not None else {}
    if not isinstance(data, dict):
        problems.append(Problem(source, "", "expected a mapping of variable names to values", 1))
        return None
    try:
        return _VarsFile(doc, scope, Vars.model_validate(data))
    except ValidationError as exc:
        from dcops.core.loader import problems_from_validation

        problems.extend(problems_from_validation(exc, doc, Vars))
        return None


def _fabric_links(
    files: list[_VarsFile], hosts: list[Host], pools: list[AddressPool], problems: list[Problem]
) -> list[FabricLink]:
    by_name = {h.name: h for h in hosts}
    links: list[FabricLink] = []
    for vf in files:
        if vf.model.fabric_links is None:
            continue
        used: set[tuple[str, str]] = set()
        for i, link in enumerate(vf.model.fabric_links):
            loc: tuple[str | int, ...] = ("fabric_links", i)
            for end, group in (("a", "leaf"), ("b", "spine")):
                name = getattr(link, end)
                host = by_name.get(name)
                if host is None or host.group != group:
                    problems.append(
                        vf.doc.problem((*loc, end), f"{name!r} is not a {group} of hosts.yml")
                    )
                port = (name, getattr(link, f"{end}_port"))
                if port in used:
                    problems.append(
                        vf.doc.problem(
                            (*loc, f"{end}_port"), f"port {port[1]} of {name} used twice"
                        )
                    )
                used.add(port)
                if not _in_pools(getattr(link, f"{end}_ip"), pools, "fabric"):
                    problems.append(
                        vf.doc.problem(
                            (*loc, f"{end}_ip"), "outside every fabric pool of dcops.toml"
                        )
                    )
            links.append(link)
    return links


def _rule_sources(files: list[_VarsFile]) -> list[Problem]:
    known: set[str] = set()
    for vf in files:
        known |= set(vf.model.firewall_sources or {})
    problems = []
    for vf in files:
        for field in ("firewall_rules_base", "firewall_rules_group", "firewall_rules_host"):
            for i, rule in enumerate(getattr(vf.model, field) or []):
                for j, source in enumerate(rule.sources):
                    if source not in known:
                        allowed = ", ".join(sorted(known)) or "none defined in firewall_sources"
                        problems.append(
                            vf.doc.problem(
                                (field, i, "from", j),
                                f"unknown source {source!r}; allowed: {allowed}",
                            )
                        )
    return problems


def _backup_hosts(files: list[_VarsFile], hosts: list[Host]) -> list[Problem]:
    backup = sorted(h.name for h in hosts if h.group == "backup")
    return [
        vf.doc.problem(
            ("backup_host",),
            f"{vf.model.backup_host!r} is not in group backup; allowed: {', '.join(backup)}",
        )
        for vf in files
        if vf.model.backup_host is not None and vf.model.backup_host not in backup
    ]
