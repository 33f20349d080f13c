"""What each capability needs on this machine, how to detect it and how to get it."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Kind = Literal["python", "program", "privilege"]

_SBIN = os.pathsep.join(["/usr/local/sbin", "/usr/sbin", "/sbin"])


@dataclass(frozen=True)
class Requirement:
    """One thing a capability needs: a Python module, a program or a privilege."""

    capability: str
    name: str
    kind: Kind
    fix: str
    probe: str = ""
    note: str = ""

    def found(self) -> bool:
        """Whether this machine has it now."""
        target = self.probe or self.name
        if self.kind == "python":
            return importlib.util.find_spec(target) is not None
        if self.kind == "program":
            return find_program(target) is not None
        return PRIVILEGES[target]()


def find_program(name: str) -> str | None:
    """A program on PATH, also looking in the sbin folders that a non-login PATH may lack."""
    return shutil.which(name) or shutil.which(name, path=_SBIN)


def _is_root() -> bool:
    return os.geteuid() == 0


def _can_make_netns() -> bool:
    unshare = find_program("unshare")
    if unshare is None or not _is_root():
        return False
    try:
        done = subprocess.run([unshare, "--net", "--mount", "true"], capture_output=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


PRIVILEGES: dict[str, Callable[[], bool]] = {"root": _is_root, "netns": _can_make_netns}

_PIP = "pip install '.[all]'  (from the dcops checkout, inside its venv)"

REQUIREMENTS: tuple[Requirement, ...] = (
    Requirement("site", "typer", "python", _PIP),
    Requirement("site", "pydantic", "python", _PIP),
    Requirement("site", "yaml", "python", _PIP, note="PyYAML"),
    Requirement(
        "audit",
        "cryptography",
        "python",
        "pip install 'dcops[audit]'  (or: apt-get install -y python3-cryptography)",
        note="Ed25519 signatures on audit checkpoints",
    ),
    Requirement("monitors", "prometheus", "program", "apt-get install -y prometheus"),
    Requirement("monitors", "promtool", "program", "apt-get install -y prometheus"),
    Requirement(
        "monitors",
        "prometheus-alertmanager",
        "program",
        "apt-get install -y prometheus-alertmanager",
    ),
    Requirement("monitors", "amtool", "program", "apt-get install -y prometheus-alertmanager"),
    Requirement("dcim", "prometheus_client", "python", _PIP, note="the exporter"),
    Requirement("dcim", "pymodbus", "python", _PIP, note="simulated Modbus devices"),
    Requirement("dcim", "cryptography", "python", _PIP, note="SNMPv3 AES privacy"),
    Requirement(
        "dcim", "snmpd", "program", "apt-get install -y snmpd", note="simulated SNMP devices"
    ),
    Requirement(
        "dcim",
        "prometheus-snmp-exporter",
        "program",
        "apt-get install -y prometheus-snmp-exporter",
        note="only for the benchmark (bench/dcim_bench.py)",
    ),
    Requirement(
        "stacks",
        "pulumi",
        "python",
        "pip install 'dcops[stacks]'",
        note="Pulumi SDK (plan, provision)",
    ),
    Requirement("stacks", "pulumi_openstack", "python", "pip install 'dcops[stacks]'"),
    Requirement("stacks", "pulumi_kubernetes", "python", "pip install 'dcops[stacks]'"),
    Requirement(
        "stacks",
        "pulumi_policy",
        "python",
        "pip install 'dcops[stacks]'",
        note="CrossGuard policies",
    ),
    Requirement(
        "stacks",
        "pulumi",
        "program",
        "install the Pulumi CLI so that `pulumi` is on PATH (https://www.pulumi.com/docs/install/)",
        note="only dcops provision/destroy/refresh; dcops plan works without it",
    ),
    Requirement("tenancy", "sqlalchemy", "python", "pip install 'dcops[tenancy]'"),
    Requirement(
        "tenancy", "alembic", "python", "pip install 'dcops[tenancy]'", note="store migrations"
    ),
    Requirement(
        "tenancy",
        "psycopg",
        "python",
        "pip install 'dcops[tenancy]'",
        note="only for a PostgreSQL tenancy store",
    ),
    Requirement(
        "tenancy",
        "postgresql",
        "program",
        "apt-get install -y postgresql",
        probe="pg_ctlcluster",
        note="PostgreSQL server, for the tests of the PostgreSQL store",
    ),
    Requirement("configure", "ansible_runner", "python", _PIP, note="ansible-runner"),
    Requirement("configure", "ansible", "python", _PIP, note="ansible-core"),
    Requirement("configure", "paramiko", "python", _PIP, note="collect-configs over SSH"),
    Requirement("configure", "ssh", "program", "apt-get install -y openssh-client"),
    Requirement("configure", "git", "program", "apt-get install -y git", note="config history"),
    Requirement("lab", "root", "privilege", "run dcops lab as root (sudo)"),
    Requirement(
        "lab", "netns", "privilege", "a kernel and container that allow network namespaces"
    ),
    Requirement("lab", "ip", "program", "apt-get install -y iproute2"),
    Requirement("lab", "debootstrap", "program", "apt-get install -y debootstrap"),
    Requirement("lab", "nc", "program", "apt-get install -y netcat-openbsd"),
    Requirement("lab", "ssh-keygen", "program", "apt-get install -y openssh-client"),
    Requirement("lab", "unshare", "program", "apt-get install -y util-linux"),
    Requirement("lab", "snmpget", "program", "apt-get install -y snmp", note="lab SNMP checks"),
)


def check_all(
    requirements: tuple[Requirement, ...] = REQUIREMENTS,
) -> list[tuple[Requirement, bool]]:
    """Each requirement with whether it is found."""
    return [(req, req.found()) for req in requirements]


def requirement_for_module(module: str) -> Requirement | None:
    """The Python requirement that provides a module (by its top-level name), if dcops knows it."""
    top = module.partition(".")[0]
    return next(
        (r for r in REQUIREMENTS if r.kind == "python" and (r.probe or r.name) == top), None
    )
