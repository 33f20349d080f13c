"""How the controller reaches lab hosts: a lab key, host keys, an ssh config through the mgmt node."""

from __future__ import annotations

import shlex
from pathlib import Path

from dcops.lab.system import program, run
from dcops.lab.topology import Topology


def control_dir(prefix: str) -> Path:
    """ssh ControlPersist sockets: short path (unix sockets allow ~100 bytes), one per lab."""
    return Path("/tmp") / f"{prefix}-cp"


def ensure_key(path: Path) -> Path:
    """An ed25519 key without passphrase at path, created if missing."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        keygen = program("ssh-keygen", "openssh-client")
        run([keygen, "-q", "-t", "ed25519", "-N", "", "-C", "dcops-lab", "-f", str(path)])
    return path


def proxy_command(topo: Topology) -> list[str]:
    """The command that carries an ssh connection from the management node's namespace."""
    return [
        program("ip", "iproute2"),
        "netns",
        "exec",
        topo.mgmt.namespace,
        program("nc", "netcat-openbsd"),
    ]


def write_ssh_config(lab: Path, topo: Topology, key: Path) -> Path:
    """ssh_config for the lab: root with the lab key, checked host keys, via the mgmt node."""
    proxy = " ".join(shlex.quote(p) for p in proxy_command(topo))
    lines = [
        "Host *",
        "  User root",
        f"  IdentityFile {key}",
        "  IdentitiesOnly yes",
        f"  UserKnownHostsFile {lab / 'known_hosts'}",
        "  StrictHostKeyChecking yes",
        f"  ProxyCommand {proxy} %h %p",
        "  ConnectTimeout 10",
        "  ServerAliveInterval 10",
        "  ServerAliveCountMax 3",
        "  LogLevel ERROR",
        "",
    ]
    path = lab / "ssh_config"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def write_known_hosts(lab: Path, entries: dict[str, str]) -> None:
    """known_hosts with each lab host's address and its public host key."""
    lines = [f"{address} {key.strip()}" for address, key in sorted(entries.items())]
    (lab / "known_hosts").write_text("\n".join(lines) + "\n", encoding="utf-8")


def replace_known_host(lab: Path, address: str, key: str) -> None:
    """Put a rebuilt host's new public key in known_hosts in place of its old one."""
    path = lab / "known_hosts"
    kept = [line for line in path.read_text(encoding="utf-8").splitlines()
            if line.split(" ", 1)[0] != address]  # fmt: skip
    path.write_text("\n".join(sorted([*kept, f"{address} {key.strip()}"])) + "\n", encoding="utf-8")


def ssh_command(lab: Path, address: str, command: list[str]) -> list[str]:
    """An ssh command line that runs command on a lab host."""
    ssh = program("ssh", "openssh-client")
    return [ssh, "-F", str(lab / "ssh_config"), address, *command]


def close_masters(prefix: str) -> None:
    """End ControlPersist masters left by Ansible, so the next run does not hang on them."""
    folder = control_dir(prefix)
    if not folder.is_dir():
        return
    ssh = program("ssh", "openssh-client")
    for socket in folder.iterdir():
        run([ssh, "-o", f"ControlPath={socket}", "-O", "exit", "lab"], check=False, timeout=10)
