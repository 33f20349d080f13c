"""One lab host's root filesystem (an overlay on the base) and its sshd, started in its namespaces."""

from __future__ import annotations

import subprocess
from pathlib import Path

from dcops.lab.system import program, run
from dcops.lab.topology import LabHost

# Runs inside the host's fresh mount, PID, UTS and IPC namespaces, then becomes the host's sshd.
_BOOT = r"""
set -e
R="$1"; H="$2"
mount -t proc proc "$R/proc"
mount -t sysfs sysfs "$R/sys"
mount -t tmpfs -o mode=0755,size=16m tmpfs "$R/dev"
for d in null zero full random urandom tty; do : > "$R/dev/$d"; mount --bind "/dev/$d" "$R/dev/$d"; done
mkdir -p "$R/dev/pts" "$R/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$R/dev/pts"
ln -sf pts/ptmx "$R/dev/ptmx"
mount -t tmpfs -o mode=0755,size=64m tmpfs "$R/run"
mkdir -p "$R/run/sshd" "$R/run/lock"
mount -t tmpfs -o mode=1777,size=256m tmpfs "$R/tmp"
hostname "$H"
exec chroot "$R" /usr/sbin/sshd -D -e
"""

_SSHD = """# Lab host: no PAM (no logind here), root by key only.
UsePAM no
PermitRootLogin prohibit-password
PasswordAuthentication no
HostKey /etc/ssh/ssh_host_ed25519_key
"""


def folder(lab: Path, host: LabHost) -> Path:
    """The host's folder in the lab dir: upper, work and root of its overlay, and its log."""
    return lab / "hosts" / host.name


def mounted(path: Path) -> bool:
    """Whether something is mounted exactly at path."""
    target = str(path)
    with open("/proc/self/mountinfo", encoding="utf-8") as mounts:
        return any(line.split()[4] == target for line in mounts)


def mounts_under(path: Path) -> list[Path]:
    """Mount points at or below path, deepest first."""
    prefix = str(path)
    with open("/proc/self/mountinfo", encoding="utf-8") as mounts:
        points = [line.split()[4] for line in mounts]
    inside = [p for p in points if p == prefix or p.startswith(prefix + "/")]
    return [Path(p) for p in sorted(set(inside), key=len, reverse=True)]


def mount_root(lab: Path, host: LabHost, base: Path) -> Path:
    """Mount the host's overlay (base below, the host's own changes above) and return its root."""
    home = folder(lab, host)
    upper, work, root = home / "upper", home / "work", home / "root"
    for path in (upper, work, root):
        path.mkdir(parents=True, exist_ok=True)
    if not mounted(root):
        options = f"lowerdir={base},upperdir={upper},workdir={work}"
        run([program("mount", "mount"), "-t", "overlay", "overlay", "-o", options, str(root)])
    return root


def prepare(root: Path, host: LabHost, lab_key: Path) -> str:
    """Give the host fresh host keys, the lab key and the sshd settings; return its public key."""
    ssh_dir = root / "etc" / "ssh"
    host_key = ssh_dir / "ssh_host_ed25519_key"
    if not host_key.exists():
        keygen = program("ssh-keygen", "openssh-client")
        run([keygen, "-q", "-t", "ed25519", "-N", "", "-C", host.name, "-f", str(host_key)])
    (ssh_dir / "sshd_config.d").mkdir(exist_ok=True)
    (ssh_dir / "sshd_config.d" / "dcops-lab.conf").write_text(_SSHD, encoding="utf-8")
    authorized = root / "root" / ".ssh" / "authorized_keys"
    authorized.parent.mkdir(mode=0o700, exist_ok=True)
    authorized.write_text(lab_key.with_suffix(".pub").read_text(encoding="utf-8"))
    authorized.chmod(0o600)
    (root / "etc" / "hostname").write_text(host.name + "\n", encoding="utf-8")
    return host_key.with_suffix(".pub").read_text(encoding="utf-8")


def start(lab: Path, host: LabHost, root: Path) -> None:
    """Start the host: its own mount/PID/UTS/IPC namespaces inside its network namespace."""
    log = (folder(lab, host) / "host.log").open("ab")
    subprocess.Popen(
        [
            program("ip", "iproute2"),
            "netns",
            "exec",
            host.namespace,
            program("unshare", "util-linux"),
            "--mount",
            "--pid",
            "--uts",
            "--ipc",
            "--fork",
            "--kill-child",
            "sh",
            "-c",
            _BOOT,
            "boot",
            str(root),
            host.name,
        ],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    log.close()


def unmount_all(lab: Path) -> list[Path]:
    """Unmount every overlay (and anything else) left mounted under the lab dir."""
    umount = program("umount", "mount")
    done = []
    for point in mounts_under(lab):
        if run([umount, str(point)], check=False).returncode != 0:
            run([umount, "-l", str(point)], check=False)
        done.append(point)
    return done
