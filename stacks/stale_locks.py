"""Locks of the file backend whose pulumi CLI is gone (Ctrl-C at a bad moment, a crash, kill -9).

The engine takes a lock file per update, refresh or destroy and removes it when it ends; a CLI
that ends without its deferred clean-up leaves the file, and every later run of that stack is
refused until someone deletes it by hand. A lock is stale when it was taken on this host by a
process that no longer runs; locks of other hosts (a backend folder on shared storage) and of
running processes are left alone.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

from dcops.stacks.backend import PROJECT


def clear_stale_locks(backend_url: str, stack: str) -> list[str]:
    """Remove the stack's stale lock files; one note per lock removed (nothing for other backends)."""
    if not backend_url.startswith("file://"):
        return []
    locks = Path(backend_url.removeprefix("file://")) / ".pulumi" / "locks"
    # Project-scoped stacks lock under <org>/<project>/<stack>; older backends <project>/<stack>.
    found = [*locks.glob(f"*/{PROJECT}/{stack}/*.json"), *locks.glob(f"{PROJECT}/{stack}/*.json")]
    return [note for path in found if (note := _clear(path, stack))]


def _clear(path: Path, stack: str) -> str | None:
    try:
        holder = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    pid = holder.get("pid") if isinstance(holder, dict) else None
    if not isinstance(pid, int) or holder.get("hostname") != socket.gethostname() or _running(pid):
        return None
    path.unlink(missing_ok=True)
    return (
        f"已清除失效的锁 / removed a stale lock on stack {stack}: pid {pid} "
        f"({holder.get('username', '?')}, since {holder.get('timestamp', '?')}) is no longer running"
    )


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: running
        return True
    return True
