"""A process that dies in the middle of a transition leaves the store as it was before it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from dcops.core.loader import load_site
from dcops.tenancy import lifecycle
from dcops.tenancy.records import AllocationRecord, ApprovalRecord, HistoryRecord, RequestRecord
from dcops.tenancy.store import open_store
from tests.integration.tenancy.conftest import actor_of, submit_many

# Runs in its own process: approve request 1, dying (no cleanup at all) at the given step.
_APPROVER = """
import os, sys
from dcops.core.identity import Actor
from dcops.core.loader import load_site
from dcops.tenancy import lifecycle

class DieAt:
    def __init__(self, step):
        self.step = step

    def reached(self, step):
        if step == self.step:
            os._exit(9)

site = load_site(sys.argv[1])
actor = Actor("chenjing", "陈静", "test", frozenset({"approver"}))
lifecycle.approve(site, "1", actor, steps=DieAt(sys.argv[2]))
"""


def _counts(site_dir: Path) -> dict[str, object]:
    site = load_site(site_dir)
    with open_store(site).reading() as db:
        record = db.get(RequestRecord, 1)
        assert record is not None
        return {
            "state": record.state,
            "approvals": db.scalar(select(func.count()).select_from(ApprovalRecord)),
            "allocations": db.scalar(select(func.count()).select_from(AllocationRecord)),
            "history": db.scalar(select(func.count()).select_from(HistoryRecord)),
        }


@pytest.mark.integration
@pytest.mark.parametrize("step", ["locked", "allocated", "recorded"])
def test_a_crash_mid_approval_changes_nothing(site_dir: Path, tmp_path: Path, step: str) -> None:
    site = load_site(site_dir)
    submit_many(site, 1)
    before = _counts(site_dir)
    script = tmp_path / "approver.py"
    script.write_text(_APPROVER, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script), str(site_dir), step], capture_output=True, timeout=60
    )
    assert done.returncode == 9, done.stderr
    assert (
        _counts(site_dir)
        == before
        == {
            "state": "submitted",
            "approvals": 0,
            "allocations": 0,
            "history": 1,
        }
    )
    # the store is usable at once: the lock died with the process
    approved = lifecycle.approve(site, "1", actor_of(site, "chenjing"))
    assert approved.to_state == "approved" and len(approved.allocations) == 2


def _operations(site_dir: Path) -> list[dict[str, object]]:
    from dcops.audit.history import operations
    from dcops.audit.journal import Journal

    return [op.as_dict() for op in operations(Journal.of(load_site(site_dir)).events())]


def _crash_approval(site_dir: Path, tmp_path: Path, step: str) -> None:
    script = tmp_path / "approver.py"
    script.write_text(_APPROVER, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script), str(site_dir), step], capture_output=True, timeout=60
    )
    assert done.returncode == 9, done.stderr


@pytest.mark.integration
def test_killed_after_commit_the_next_command_records_the_approval_as_reconciled(
    site_dir: Path, tmp_path: Path
) -> None:
    site = load_site(site_dir)
    submit_many(site, 2)
    _crash_approval(site_dir, tmp_path, "committed")
    assert _counts(site_dir)["state"] == "approved"  # the change stands...
    approval = [op for op in _operations(site_dir) if op["action"] == "tenancy.approve"]
    assert [op["status"] for op in approval] == ["incomplete"]  # ...but the journal lacks its end
    lifecycle.approve(site, "2", actor_of(site, "chenjing"))  # the next command reconciles
    approvals = [op for op in _operations(site_dir) if op["action"] == "tenancy.approve"]
    assert [op["status"] for op in approvals] == ["success", "success"]
    details = approvals[0]["details"]
    assert isinstance(details, dict) and "approved" in str(details["reconciled"])
    from dcops.audit.journal import Journal

    closing = [e for e in Journal.of(site).events() if e["result"].get("reconciled")]
    assert len(closing) == 1 and closing[0]["correlation"] == approvals[0]["correlation"]


@pytest.mark.integration
def test_killed_before_commit_the_next_command_records_a_failure(
    site_dir: Path, tmp_path: Path
) -> None:
    site = load_site(site_dir)
    submit_many(site, 1)
    _crash_approval(site_dir, tmp_path, "recorded")
    lifecycle.approve(site, "1", actor_of(site, "chenjing"))
    approvals = [op for op in _operations(site_dir) if op["action"] == "tenancy.approve"]
    assert [op["status"] for op in approvals] == ["failure", "success"]
    assert "before its change was committed" in str(approvals[0]["error"])


@pytest.mark.integration
def test_an_unusable_signing_key_refuses_the_approval_before_it_commits(
    site_dir: Path, dcops: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    site = load_site(site_dir)
    submit_many(site, 1)
    from dcops.audit.journal import Journal

    key = Journal.of(site).key
    key.write_text("-----BEGIN PRIVATE KEY-----\nbroken\n-----END PRIVATE KEY-----\n")
    key.chmod(0o600)
    before = _counts(site_dir)
    done = dcops("tenancy", "approve", "1", user="chenjing")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "signing key" in done.stderr
    assert _counts(site_dir) == before
