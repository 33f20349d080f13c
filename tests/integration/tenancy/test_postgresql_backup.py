"""dcops' own backup with the tenancy store on PostgreSQL (Debian's server, started by the tests)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text

from dcops.tenancy.store import open_store
from tests.conftest import RunDcops
from tests.integration.tenancy.conftest import SAMPLE, use_store

pytestmark = pytest.mark.integration

DUMP = "state/postgresql/tenancy.dump"


def _checks(done_stdout: str) -> dict[str, dict[str, object]]:
    return {c["check"]: c for c in json.loads(done_stdout)["checks"]}


def test_the_export_holds_a_dump_of_the_store_and_verify_self_reads_it_back(
    dcops: RunDcops, site_dir: Path, postgres_url: str, tmp_path: Path
) -> None:
    site = use_store(site_dir, postgres_url)
    with open_store(site).writing() as db:  # the server is shared by the session's tests
        for table in ("outbox", "allocations", "approvals", "history", "requests"):
            db.execute(text(f"DELETE FROM {table}"))
    assert dcops("tenancy", "request", SAMPLE, user="wanglei").returncode == 0
    export = tmp_path / "export"
    done = dcops("backup", "export", "--to", str(export), "-o", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["dumps"] == [DUMP]
    manifest = json.loads((export / "MANIFEST.json").read_text())
    assert DUMP in manifest["files"] and "127.0.0.1" not in json.dumps(manifest)
    assert oct((export / DUMP).stat().st_mode & 0o777) == "0o600"
    assert (export / DUMP).read_bytes().startswith(b"PGDMP")  # pg_dump's custom format

    verified = dcops("backup", "verify-self", "--from", str(export), "-o", "json", user="sunli")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    check = _checks(verified.stdout)[f"postgresql {DUMP}"]
    assert check["ok"] and "schema 0002" in str(check["detail"])

    whole = (export / DUMP).read_bytes()
    (export / DUMP).write_bytes(whole[: len(whole) // 2])  # a backup cut short
    broken = dcops("backup", "verify-self", "--from", str(export), "-o", "json", user="sunli")
    assert broken.returncode == 1
    checks = _checks(broken.stdout)
    assert not checks[f"postgresql {DUMP}"]["ok"]
    assert "pg_restore" in str(checks[f"postgresql {DUMP}"]["detail"])
    assert not checks["files"]["ok"]


def test_an_unreachable_store_fails_the_export_and_keeps_the_previous_one(
    dcops: RunDcops, site_dir: Path, postgres_url: str, tmp_path: Path
) -> None:
    export = tmp_path / "export"
    use_store(site_dir, postgres_url)
    assert dcops("backup", "export", "--to", str(export)).returncode == 0
    before = (export / "MANIFEST.json").read_text()
    toml = site_dir / "dcops.toml"
    toml.write_text(toml.read_text().replace(postgres_url, postgres_url + "_gone"))
    done = dcops("backup", "export", "--to", str(export))
    assert done.returncode == 1
    assert "could not dump the PostgreSQL tenancy store" in done.stderr
    assert (export / "MANIFEST.json").read_text() == before
    assert not list(tmp_path.glob(".export.partial-*"))
