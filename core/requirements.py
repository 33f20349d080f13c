"""What each capability needs on this machine, how to detect it and how to get it."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from typing import Literal

from dcops.core import engine

Kind = Literal["python", "program", "privilege", "engine"]

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
        if self.kind == "engine":
            return engine.find(target) is not None
        return PRIVILEGES[target]()

    def detail(self) -> dict[str, str | None]:
        """For the engine: the version and path found, and the SDK version it should match."""
        if self.kind != "engine":
            return {}
        found = engine.locate(self.probe or self.name)
        sdk = _sdk_version(self.name)
        return {
            "version": found.version if found else None,
            "path": str(found.path) if found else None,
            "sdk_version": sdk,
        }


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


def _extra(name: str) -> str:
    """The pip command that installs one of dcops' extras."""
    return f"pip install 'dcops[{name}]'"


def _modules(capability: str, fix: str, notes: dict[str, str]) -> tuple[Requirement, ...]:
    """Python modules of one capability that one command installs, each with its note."""
    return tuple(Requirement(capability, name, "python", fix, note=n) for name, n in notes.items())


def _programs(
    capability: str, packages: dict[str, str], notes: dict[str, str] | None = None
) -> tuple[Requirement, ...]:
    """Programs of one capability, each from its Debian package, with notes by program."""
    notes = notes or {}
    return tuple(
        Requirement(
            capability, name, "program", f"apt-get install -y {package}", note=notes.get(name, "")
        )
        for name, package in packages.items()
    )


REQUIREMENTS: tuple[Requirement, ...] = (
    *_modules("site", _PIP, {"typer": "", "pydantic": "", "yaml": "PyYAML"}),
    Requirement(
        "audit",
        "cryptography",
        "python",
        f"{_extra('audit')}  (or: apt-get install -y python3-cryptography)",
        note="Ed25519 signatures on audit checkpoints",
    ),
    *_programs(
        "monitors",
        {
            "prometheus": "prometheus",
            "promtool": "prometheus",
            "prometheus-alertmanager": "prometheus-alertmanager",
            "amtool": "prometheus-alertmanager",
        },
    ),
    *_modules(
        "dcim",
        _PIP,
        {
            "prometheus_client": "the exporter",
            "pymodbus": "simulated Modbus devices",
            "cryptography": "SNMPv3 AES privacy",
        },
    ),
    *_programs(
        "dcim",
        {"snmpd": "snmpd", "prometheus-snmp-exporter": "prometheus-snmp-exporter"},
        {
            "snmpd": "simulated SNMP devices",
            "prometheus-snmp-exporter": "only for the benchmark (bench/dcim_bench.py)",
        },
    ),
    *_modules(
        "stacks",
        _extra("stacks"),
        {
            "pulumi": "Pulumi SDK (plan, provision)",
            "pulumi_openstack": "",
            "pulumi_kubernetes": "",
            "pulumi_policy": "CrossGuard policies",
        },
    ),
    Requirement(
        "stacks",
        engine.CLI,
        "engine",
        engine.INSTALL_ENGINE,
        note="the Pulumi engine: only dcops provision/destroy/refresh; dcops plan works without it",
    ),
    *(
        Requirement(
            "stacks",
            engine.plugin_program(package),
            "engine",
            engine.INSTALL_ENGINE,
            note=f"resource plugin, matches the pulumi-{package} SDK",
        )
        for package in engine.PLUGINS
    ),
    *_modules(
        "tenancy",
        _extra("tenancy"),
        {
            "sqlalchemy": "",
            "alembic": "store migrations",
            "psycopg": "only for a PostgreSQL tenancy store",
        },
    ),
    Requirement(
        "tenancy",
        "postgresql",
        "program",
        "apt-get install -y postgresql",
        probe="pg_ctlcluster",
        note="PostgreSQL server, for the tests of the PostgreSQL store",
    ),
    *_modules(
        "configure",
        _PIP,
        {
            "ansible_runner": "ansible-runner",
            "ansible": "ansible-core",
            "paramiko": "collect-configs over SSH",
        },
    ),
    *_programs("configure", {"ssh": "openssh-client", "git": "git"}, {"git": "config history"}),
    Requirement("lab", "root", "privilege", "run dcops lab as root (sudo)"),
    Requirement(
        "lab", "netns", "privilege", "a kernel and container that allow network namespaces"
    ),
    *_programs(
        "lab",
        {
            "ip": "iproute2",
            "debootstrap": "debootstrap",
            "nc": "netcat-openbsd",
            "ssh-keygen": "openssh-client",
            "unshare": "util-linux",
            "snmpget": "snmp",
        },
        {"snmpget": "lab SNMP checks"},
    ),
)


def _sdk_version(program: str) -> str | None:
    """The version of the Python SDK a resource plugin must match (pulumi-resource-X ↔ pulumi-X)."""
    if not program.startswith("pulumi-resource-"):
        return None
    try:
        return metadata.version("pulumi-" + program.removeprefix("pulumi-resource-"))
    except metadata.PackageNotFoundError:
        return None


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
