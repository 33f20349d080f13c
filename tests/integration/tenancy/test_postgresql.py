"""The tenancy store on PostgreSQL (Debian's server, started by the tests): migrations and lifecycle."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text

from dcops.tenancy import lifecycle
from dcops.tenancy.store import open_store
from tests.conftest import RunDcops
from tests.integration.tenancy.conftest import SAMPLE, actor_of, use_store


@pytest.mark.integration
def test_lifecycle_on_postgresql(dcops: RunDcops, site_dir: Path, postgres_url: str) -> None:
    site = use_store(site_dir, postgres_url)
    with open_store(site).writing() as db:
        for table in ("outbox", "allocations", "approvals", "history", "requests"):
            db.execute(text(f"DELETE FROM {table}"))
        assert db.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0002"
    assert dcops("tenancy", "request", SAMPLE, user="wanglei").returncode == 0
    [row] = json.loads(dcops("tenancy", "list", "-o", "json").stdout)
    approved = dcops("tenancy", "approve", str(row["id"]), user="chenjing")
    assert approved.returncode == 0, approved.stderr
    assert "allocated 10.20.0.0/24 for network app" in approved.stdout
    lifecycle.mark_provisioned(site, "fgw-production", actor_of(site, "zhangwei"))
    offboard = dcops("tenancy", "offboard", "fgw-production", "--yes")
    assert "provisioned → offboarding" in offboard.stdout
    destroyed = dcops("tenancy", "offboard", "fgw-production", "--destroyed")
    assert "released 10.20.0.0/24" in destroyed.stdout
    assert json.loads(dcops("ipam", "show", "-o", "json").stdout)["allocations"] == []
    shown = json.loads(dcops("tenancy", "show", str(row["id"]), "-o", "json").stdout)
    assert [h["to"] for h in shown["history"]] == [
        "submitted",
        "approved",
        "provisioned",
        "offboarding",
        "offboarded",
    ]
