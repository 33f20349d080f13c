"""The lab's base root filesystem: debootstrap once, keep it as a tarball, unpack per lab."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path

from dcops.core.errors import InputError, OperationFailed
from dcops.lab.system import program, run

CACHE_ENV = "DCOPS_LAB_CACHE"
MIRROR_ENV = "DCOPS_LAB_MIRROR"
SUITE = "bookworm"
PACKAGES = (
    "openssh-server",
    "openssh-sftp-server",
    "python3",
    "nftables",
    "iproute2",
    "iputils-ping",
    "restic",
    "frr",
    "snmpd",
    "chrony",
    "cron",
    "procps",
    "sqlite3",
    "python3-apt",
    # the dcops_server role runs Debian's Prometheus and Alertmanager on the management host
    "prometheus",
    "prometheus-alertmanager",
)
BUILD_TIMEOUT = 900


def cache_dir(state: Path) -> Path:
    """Where base tarballs are kept: $DCOPS_LAB_CACHE or the state dir's lab-cache/."""
    given = os.environ.get(CACHE_ENV)
    return Path(given) if given else state / "lab-cache"


def tarball(state: Path) -> Path:
    """The cached tarball for the current suite and package list."""
    key = hashlib.sha256(" ".join((SUITE, *PACKAGES)).encode()).hexdigest()[:10]
    return cache_dir(state) / f"base-{SUITE}-{key}.tar"


def ensure_tarball(state: Path) -> tuple[Path, bool]:
    """The base tarball, built with debootstrap when missing; True if it was just built."""
    target = tarball(state)
    if target.is_file():
        return target, False
    target.parent.mkdir(parents=True, exist_ok=True)
    work = target.parent / f"build-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    try:
        _debootstrap(work / "root")
        for key in (work / "root" / "etc" / "ssh").glob("ssh_host_*"):
            key.unlink()
        partial = target.with_suffix(".tar.part")
        run([program("tar", "tar"), "-C", str(work / "root"), "-cf", str(partial), "."])
        partial.rename(target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target, True


def _debootstrap(root: Path) -> None:
    debootstrap = program("debootstrap", "debootstrap")
    root.mkdir(parents=True)
    run(
        [
            debootstrap,
            "--variant=minbase",
            f"--include={','.join(PACKAGES)}",
            SUITE,
            str(root),
            mirror(),
        ],
        timeout=BUILD_TIMEOUT,
    )


def mirror(sources: Path = Path("/etc/apt")) -> str:
    """The Debian mirror this machine's apt uses (or $DCOPS_LAB_MIRROR)."""
    given = os.environ.get(MIRROR_ENV)
    if given:
        return given
    for uri in _apt_uris(sources):
        if "security" not in uri:
            return uri
    raise InputError(
        f"no Debian mirror found in {sources}/sources.list(.d); set {MIRROR_ENV} to one"
    )


def _apt_uris(sources: Path) -> list[str]:
    uris: list[str] = []
    files = [sources / "sources.list", *sorted((sources / "sources.list.d").glob("*"))]
    for path in files:
        if not path.is_file() or path.suffix not in (".list", ".sources"):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        uris += re.findall(r"^URIs:\s*(\S+)", text, flags=re.MULTILINE)
        uris += re.findall(r"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)", text, flags=re.MULTILINE)
    return uris


def unpack(archive: Path, target: Path) -> None:
    """Unpack the base into target (the read-only lower layer of every host)."""
    if (target / "usr" / "sbin" / "sshd").exists():
        return
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    done = run([program("tar", "tar"), "-C", str(target), "-xf", str(archive)], check=False)
    if done.returncode != 0:
        shutil.rmtree(target, ignore_errors=True)
        raise OperationFailed(f"cannot unpack the lab base {archive}: {done.stderr.strip()}")
