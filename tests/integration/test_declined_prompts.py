"""Answering no at a confirmation prompt ends the command with exit 1 and changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import RunDcops
from tests.integration.test_audit_commands import AUDITOR, old_events, record


def test_declining_a_prune_keeps_every_event(dcops: RunDcops, site_dir: Path) -> None:
    old_events(site_dir, 400, 3)
    record(dcops, "host/leaf1")
    declined = dcops("audit", "prune", user=AUDITOR, input="n\n")
    assert declined.returncode == 1, declined.stderr
    assert "audit prune: declined at the prompt" in declined.stderr
    assert "Archive audit events older than" in declined.stdout
    assert not (site_dir / ".dcops" / "audit" / "archive").exists()
    verified = json.loads(dcops("audit", "verify", "-o", "json", user=AUDITOR).stdout)
    assert verified["ok"] and verified["pruned"] == 0, verified


def test_declining_a_configure_run_starts_no_playbook(dcops: RunDcops, site_dir: Path) -> None:
    declined = dcops("configure", "network", input="n\n")
    assert declined.returncode == 1, declined.stderr
    assert "configure network: declined at the prompt" in declined.stderr
    assert "run network.yml on the" in declined.stdout
    assert not (site_dir / ".dcops" / "configure" / "runs").exists()
    log = json.loads(dcops("audit", "log", "-o", "json").stdout)
    assert [op["action"] for op in log if op["action"].startswith("configure")] == []


def test_a_closed_stdin_is_not_a_yes(dcops: RunDcops, site_dir: Path) -> None:
    closed = dcops("configure", "backup", input="")
    assert closed.returncode == 1, closed.stderr
    assert "no answer (input is not a terminal)" in closed.stderr and "--yes" in closed.stderr
    assert not (site_dir / ".dcops" / "configure" / "runs").exists()
