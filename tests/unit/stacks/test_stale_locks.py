"""A lock left by a pulumi CLI that is gone is removed; a live or foreign lock never is."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from dcops.stacks.stale_locks import clear_stale_locks


def dead_pid() -> int:
    """The pid of a process that has ended (and been waited for)."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return int(done.stdout)


def lock(state: Path, stack: str, pid: int, host: str | None = None, name: str = "a") -> Path:
    folder = state / ".pulumi" / "locks" / "organization" / "dcops" / stack
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    holder = {"pid": pid, "username": "root", "hostname": host or socket.gethostname(),
              "timestamp": "2026-12-02T12:14:01Z"}  # fmt: skip
    path.write_text(json.dumps(holder))
    return path


def test_the_lock_of_a_process_that_is_gone_is_removed_and_said(tmp_path: Path) -> None:
    pid = dead_pid()
    path = lock(tmp_path, "zwfw-staging", pid)
    notes = clear_stale_locks(f"file://{tmp_path}", "zwfw-staging")
    assert not path.exists()
    assert notes == [
        "已清除失效的锁 / removed a stale lock on stack zwfw-staging: pid "
        f"{pid} (root, since 2026-12-02T12:14:01Z) is no longer running"
    ]


def test_a_running_holder_keeps_its_lock(tmp_path: Path) -> None:
    path = lock(tmp_path, "zwfw-staging", os.getpid())
    assert clear_stale_locks(f"file://{tmp_path}", "zwfw-staging") == []
    assert path.exists()


def test_a_lock_taken_on_another_host_is_never_judged_here(tmp_path: Path) -> None:
    path = lock(tmp_path, "zwfw-staging", dead_pid(), host="ops-2.example.gov.cn")
    assert clear_stale_locks(f"file://{tmp_path}", "zwfw-staging") == []
    assert path.exists()


def test_only_the_named_stacks_locks_are_looked_at(tmp_path: Path) -> None:
    other = lock(tmp_path, "fgw-staging", dead_pid())
    assert clear_stale_locks(f"file://{tmp_path}", "zwfw-staging") == []
    assert other.exists()


def test_an_unreadable_lock_is_left_for_a_person(tmp_path: Path) -> None:
    path = lock(tmp_path, "zwfw-staging", dead_pid())
    path.write_text("{not json")
    assert clear_stale_locks(f"file://{tmp_path}", "zwfw-staging") == []
    assert path.exists()


def test_other_backends_are_not_touched(tmp_path: Path) -> None:
    lock(tmp_path, "zwfw-staging", dead_pid())
    assert clear_stale_locks("s3://state-bucket/dcops", "zwfw-staging") == []
