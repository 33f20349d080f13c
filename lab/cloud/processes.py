"""Start the lab cloud's processes, find every one of them (also after a crash), stop and measure them.

Every process `up` starts carries MARKER=<lab folder> in its environment, and so do all
their children (uwsgi workers, mysqld under mysqld_safe, RabbitMQ's epmd). That marker is
how `down` finds what is left even when pid files are gone.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from dcops.core.errors import OperationFailed

MARKER = "DCOPS_LAB_CLOUD"
STOP_TIMEOUT = 15.0


@dataclass(frozen=True)
class Process:
    """One running process of the lab."""

    pid: int
    name: str


def launch(
    argv: Sequence[str], *, root: Path, log: Path, pid_file: Path, env: Mapping[str, str]
) -> int:
    """Start a process detached in its own session, with the lab's marker; return its pid."""
    log.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    pid_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with log.open("ab") as out:
        process = subprocess.Popen(
            list(argv),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=root,
            env=environment(root, env),
        )
    pid_file.write_text(f"{process.pid}\n", encoding="ascii")
    return process.pid


def run(
    argv: Sequence[str], *, root: Path, log: Path, env: Mapping[str, str], timeout: float = 300
) -> None:
    """Run a one-off command (a schema sync) with the marker; its output goes to log."""
    log.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with log.open("ab") as out:
        out.write(f"$ {' '.join(argv)}\n".encode())
        out.flush()
        try:
            done = subprocess.run(
                list(argv),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=root,
                env=environment(root, env),
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise OperationFailed(
                f"`{' '.join(argv[:3])}` did not finish in {timeout:.0f} s; see {log}"
            ) from None
    if done.returncode != 0:
        raise OperationFailed(
            f"`{' '.join(argv[:3])}` failed (exit {done.returncode}); last lines of {log}:\n"
            + tail(log)
        )


def environment(root: Path, env: Mapping[str, str]) -> dict[str, str]:
    """The environment of a lab process: ours without the venv's, the marker, and env."""
    base = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    path = [p for p in base.get("PATH", "").split(":") if "/.venv/" not in p and p]
    base["PATH"] = ":".join(path or ["/usr/sbin", "/usr/bin", "/sbin", "/bin"])
    return {**base, **env, MARKER: str(root)}


def tail(path: Path, lines: int = 8) -> str:
    """The last lines of a log file."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.strip().splitlines()[-lines:])


def marked(root: Path) -> list[Process]:
    """Every live process of this lab: the marker in its environment, or its files on its command line.

    Both, because a process that sets its title (neutron-server) overwrites its environment.
    """
    needle = f"{MARKER}={root}".encode()
    files = f"{root}/".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            ours = needle in (entry / "environ").read_bytes().split(b"\0")
            if not ours and files not in (entry / "cmdline").read_bytes():
                continue
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if stat.rsplit(") ", 1)[1][:1] == "Z":
            continue
        found.append(Process(int(entry.name), stat[stat.find("(") + 1 : stat.rfind(")")]))
    return found


def pid_alive(pid_file: Path, root: Path) -> int | None:
    """The pid in pid_file if that process runs and is this lab's."""
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if any(p.pid == pid for p in marked(root)) else None


def stop_all(root: Path, timeout: float = STOP_TIMEOUT) -> list[Process]:
    """TERM every process of the lab, then KILL what is left; return what was running."""
    found = marked(root)
    for process in found:
        _signal(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and marked(root):
        time.sleep(0.2)
    for process in marked(root):
        _signal(process.pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and marked(root):
        time.sleep(0.1)
    return found


def stop(pid: int, timeout: float = STOP_TIMEOUT) -> None:
    """TERM one process (and its session), then KILL it."""
    _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
        time.sleep(0.1)
    _signal(pid, signal.SIGKILL)


def _signal(pid: int, signum: int) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signum)


def pss_bytes(pids: Sequence[int]) -> int:
    """Proportional set size summed over processes (shared pages split among sharers)."""
    total = 0
    for pid in pids:
        try:
            text = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith("Pss:"):
                total += int(line.split()[1]) * 1024
                break
    return total
