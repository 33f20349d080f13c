"""Concurrent approvals in separate processes never allocate overlapping or duplicate blocks."""

from __future__ import annotations

import ipaddress
import itertools
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from dcops.core.loader import load_site
from dcops.core.site import Site
from dcops.tenancy.records import AllocationRecord, RequestRecord
from dcops.tenancy.store import open_store
from tests.conftest import DCOPS, dcops_env
from tests.integration.tenancy.conftest import submit_many, use_store

PROCESSES = 6


def _approve_all_at_once(site_dir: Path, ids: list[int]) -> None:
    running = [
        subprocess.Popen(
            [str(DCOPS), "tenancy", "approve", str(i)],
            cwd=site_dir,
            env=dcops_env("chenjing"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in ids
    ]
    for process in running:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, out + err


def _check_disjoint(site: Site, expected_requests: int) -> None:
    with open_store(site).reading() as db:
        blocks = [
            (b.tenancy, b.network, b.cidr)
            for b in db.scalars(
                select(AllocationRecord).where(AllocationRecord.released_at.is_(None))
            )
        ]
        states = db.scalars(select(RequestRecord.state)).all()
    assert states == ["approved"] * expected_requests
    assert len(blocks) == 2 * expected_requests
    networks = sorted(
        (ipaddress.ip_network(cidr) for _, _, cidr in blocks), key=lambda n: int(n.network_address)
    )
    for left, right in itertools.pairwise(networks):
        assert not left.overlaps(right), f"{left} overlaps {right}"
    assert all(n.subnet_of(ipaddress.ip_network("10.20.0.0/16")) for n in networks)  # type: ignore[arg-type]
    assert len({(tenancy, network) for tenancy, network, _ in blocks}) == len(blocks)


def _rounds(site_dir: Path, site: Site, rounds: int) -> None:
    for round_number in range(rounds):
        ids = submit_many(site, PROCESSES, prefix=f"r{round_number}x")
        _approve_all_at_once(site_dir, ids)
        _check_disjoint(site, PROCESSES * (round_number + 1))


@pytest.mark.integration
def test_concurrent_approvals_on_sqlite_never_overlap(site_dir: Path) -> None:
    _rounds(site_dir, load_site(site_dir), rounds=5)


@pytest.mark.integration
def test_concurrent_approvals_on_postgresql_never_overlap(
    site_dir: Path, postgres_url: str
) -> None:
    site = use_store(site_dir, postgres_url)
    from sqlalchemy import text

    with open_store(site).writing() as db:  # a clean database for this test
        for table in ("outbox", "allocations", "approvals", "history", "requests"):
            db.execute(text(f"DELETE FROM {table}"))
    _rounds(site_dir, site, rounds=2)
