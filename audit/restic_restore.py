"""Restore the newest snapshot of dcops' state export from restic into a scratch folder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from dcops.core.errors import MissingDependency, OperationFailed

WRAPPER = "/usr/local/sbin/dcops-restic"  # written by the backup_client role
TIMEOUT = 3600


def restic_command(given: str | None) -> list[str]:
    """The restic to run: the given program, else the backup role's wrapper, else restic."""
    for candidate in (given, shutil.which("dcops-restic"), WRAPPER, shutil.which("restic")):
        if candidate and os.access(candidate, os.X_OK):
            return [candidate]
    if given:
        raise MissingDependency(f"--restic {given}: not an executable program")
    raise MissingDependency(
        "restic is not installed (Debian package restic), and the backup role's wrapper "
        f"{WRAPPER} is missing: run `dcops configure backup` or install restic"
    )


def restore_latest(restic: list[str], path: str, scratch: Path) -> str:
    """Restore the newest snapshot holding path into scratch; return the snapshot's short id."""
    listing = _run([*restic, "snapshots", "--json", "--path", path], "list the snapshots")
    try:
        snapshots = json.loads(listing or "[]")
    except ValueError as exc:
        raise OperationFailed(f"restic snapshots printed no JSON: {exc}") from exc
    if not snapshots:
        raise OperationFailed(
            f"没有快照 / no restic snapshot holds {path}: run `dcops backup export` and a backup first"
        )
    newest = max(snapshots, key=lambda s: str(s.get("time", "")))
    snapshot = str(newest.get("id", ""))
    _run(
        [*restic, "restore", snapshot, "--target", str(scratch), "--include", path],
        f"restore snapshot {snapshot[:8]}",
    )
    return str(newest.get("short_id", snapshot[:8]))


def _run(command: list[str], what: str) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    except subprocess.TimeoutExpired as exc:
        raise OperationFailed(f"restic could not {what} within {TIMEOUT} s") from exc
    if done.returncode != 0:
        reason = " ".join(done.stderr.strip().splitlines()[-3:])[:400]
        raise OperationFailed(f"restic could not {what} (exit {done.returncode}): {reason}")
    return done.stdout
