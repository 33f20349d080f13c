"""Device config backup: pull running configs over SSH, scrub secrets, keep them in git."""

from __future__ import annotations

import re
import subprocess
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dcops.core.errors import InputError, MissingDependency, OperationFailed
from dcops.core.site import Site
from dcops.lab.system import program

SHOW_RUNNING = 'vtysh -c "show running-config"'
DEVICE_GROUPS = ("spine", "leaf")
CONNECT_TIMEOUT = 15.0
SCRUBBED = "<removed>"

# (pattern, replacement): the secret part of each line is replaced, the rest kept for the diff.
_SECRETS = (
    (re.compile(r"^(\s*neighbor \S+ password )\S+.*$"), rf"\g<1>{SCRUBBED}"),
    (re.compile(r"^(\s*(?:enable )?(?:password|secret) )\S+.*$"), rf"\g<1>{SCRUBBED}"),
    (re.compile(r"^(\s*.*authentication-key )\S+.*$"), rf"\g<1>{SCRUBBED}"),
    (re.compile(r"^(\s*.*message-digest-key \d+ md5 )\S+.*$"), rf"\g<1>{SCRUBBED}"),
    (re.compile(r"^(\s*snmp-server community )\S+(.*)$"), rf"\g<1>{SCRUBBED}\g<2>"),
    (re.compile(r"^(\s*key-string )\S+.*$"), rf"\g<1>{SCRUBBED}"),
)
# Lines that change on every read and say nothing about the configuration.
_VOLATILE = re.compile(r"^(Building configuration\.\.\.|Current configuration:.*)$")


@dataclass
class DeviceResult:
    """One device's collection: new, changed, unchanged or failed, with line counts."""

    host: str
    status: str
    added: int = 0
    removed: int = 0
    error: str | None = None


@dataclass
class CollectReport:
    """A collection run: per-device results, the commit made and the diff against the last one."""

    repository: Path
    devices: list[DeviceResult] = field(default_factory=list)
    commit: str | None = None
    diff: str = ""

    @property
    def changed(self) -> int:
        """How many devices are new or changed."""
        return sum(d.status in ("new", "changed") for d in self.devices)

    @property
    def failed(self) -> bool:
        """Whether any device could not be read."""
        return any(d.status == "failed" for d in self.devices)

    def as_dict(self) -> dict[str, Any]:
        """The report as plain data."""
        return {
            "repository": str(self.repository),
            "devices": [asdict(d) for d in self.devices],
            "commit": self.commit,
            "changed": self.changed,
            "diff": self.diff,
        }


def scrub(text: str) -> str:
    """The config with secret values replaced and volatile lines dropped."""
    lines = []
    for line in text.splitlines():
        if _VOLATILE.match(line):
            continue
        for pattern, replacement in _SECRETS:
            line = pattern.sub(replacement, line)
        lines.append(line.rstrip())
    return "\n".join(lines).strip() + "\n"


@dataclass(frozen=True)
class _Target:
    host: str
    address: str
    port: int
    username: str
    key: Path | None
    known_hosts: Path | None
    proxy: list[str] | None


def collect(site: Site, *, lab: bool, actor: str) -> CollectReport:
    """Collect every switch's running config, commit changes, and report the diff."""
    targets = _targets(site, lab)
    repo = site.paths.state_path("configs")
    _ensure_repo(repo)
    report = CollectReport(repo)
    for target in targets:
        try:
            text = scrub(_fetch(target))
        except OperationFailed as exc:
            report.devices.append(DeviceResult(target.host, "failed", error=str(exc)))
            continue
        report.devices.append(_store(repo, target.host, text))
    if report.changed:
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        changed = [f"{d.host}.conf" for d in report.devices if d.status == "changed"]
        if changed:
            report.diff = _git(repo, "diff", "--cached", "--no-color", "--", *changed)
        _git(repo, "commit", "-q", "-m", f"collect-configs {stamp} by {actor}")
        report.commit = _git(repo, "rev-parse", "--short", "HEAD").strip()
    return report


def _targets(site: Site, lab: bool) -> list[_Target]:
    devices = [h for h in site.hosts.hosts if h.group in DEVICE_GROUPS]
    if not devices:
        raise InputError("inventory/hosts.yml lists no spine or leaf switches to collect from")
    if not lab:
        home = Path.home() / ".ssh"
        return [
            _Target(h.name, h.address, h.port, "root", None, home / "known_hosts", None)
            for h in devices
        ]
    from dcops.lab.access import proxy_command
    from dcops.lab.lifecycle import lab_dir
    from dcops.lab.topology import topology

    lab_path = lab_dir(site)
    if not (lab_path / "lab.json").is_file():
        raise InputError("the lab is not up: run `dcops lab up` first (or drop --lab)")
    proxy = proxy_command(topology(site))
    return [
        _Target(
            h.name,
            h.address,
            h.port,
            "root",
            lab_path / "id_ed25519",
            lab_path / "known_hosts",
            [*proxy, h.address, str(h.port)],
        )
        for h in devices
    ]


def _fetch(target: _Target) -> str:
    try:
        import paramiko
    except ImportError:
        raise MissingDependency(
            "paramiko is not installed; install it with: pip install '.[configure]'"
        ) from None
    client = paramiko.SSHClient()
    if target.known_hosts and target.known_hosts.is_file():
        client.load_host_keys(str(target.known_hosts))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    sock = paramiko.ProxyCommand(subprocess.list2cmdline(target.proxy)) if target.proxy else None
    try:
        client.connect(
            target.address,
            port=target.port,
            username=target.username,
            key_filename=str(target.key) if target.key else None,
            sock=sock,
            timeout=CONNECT_TIMEOUT,
            banner_timeout=CONNECT_TIMEOUT,
            auth_timeout=CONNECT_TIMEOUT,
            allow_agent=target.key is None,
            look_for_keys=target.key is None,
        )
        _, stdout, stderr = client.exec_command(SHOW_RUNNING, timeout=CONNECT_TIMEOUT)
        text: str = stdout.read().decode("utf-8", errors="replace")
        status = stdout.channel.recv_exit_status()
        if status != 0:
            error = stderr.read().decode("utf-8", errors="replace").strip()
            raise OperationFailed(f"{target.host}: {SHOW_RUNNING} exited {status}: {error}")
        return text
    except (paramiko.SSHException, OSError) as exc:
        raise OperationFailed(f"{target.host} ({target.address}): {exc}") from None
    finally:
        client.close()


def _store(repo: Path, host: str, text: str) -> DeviceResult:
    path = repo / f"{host}.conf"
    old = path.read_text(encoding="utf-8") if path.exists() else None
    path.write_text(text, encoding="utf-8")
    _git(repo, "add", path.name)
    if old is None:
        return DeviceResult(host, "new", added=len(text.splitlines()))
    if old == text:
        return DeviceResult(host, "unchanged")
    numstat = _git(repo, "diff", "--cached", "--numstat", "--", path.name).split()
    added, removed = (int(numstat[0]), int(numstat[1])) if len(numstat) >= 2 else (0, 0)
    return DeviceResult(host, "changed", added, removed)


def _ensure_repo(repo: Path) -> None:
    if (repo / ".git").is_dir():
        return
    repo.mkdir(parents=True, exist_ok=True)
    _git(repo, "init", "-q")
    _git(repo, "config", "user.name", "dcops collect-configs")
    _git(repo, "config", "user.email", "dcops@localhost")


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        [program("git", "git"), "-C", str(repo), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if done.returncode != 0:
        raise OperationFailed(f"git {' '.join(args)} in {repo} failed: {done.stderr.strip()}")
    return done.stdout
