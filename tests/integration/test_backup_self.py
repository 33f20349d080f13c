"""dcops' own state through a real restic repository: export, back up, restore into a scratch
folder and prove it whole; a tampered journal, a corrupted store and a damaged repository are
each reported (exit 1), bad input is refused (exit 2)."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.conftest import RunDcops

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        shutil.which("restic") is None,
        reason="restic is not installed (Debian package restic; scripts/apt-packages.txt)",
    ),
]


@pytest.fixture
def repository(tmp_path: Path) -> dict[str, str]:
    """A fresh local restic repository and the environment that reaches it."""
    password = tmp_path / "restic-password"
    password.write_text("lab-restic-pass\n")
    env = {"RESTIC_REPOSITORY": str(tmp_path / "repo"), "RESTIC_PASSWORD_FILE": str(password),
           "RESTIC_CACHE_DIR": str(tmp_path / "cache")}  # fmt: skip
    done = subprocess.run(["restic", "init"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return env


def _restic(env: dict[str, str], *args: str) -> None:
    done = subprocess.run(["restic", *args], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr


def _some_state(dcops: RunDcops, site: Path) -> None:
    """A submitted and approved request (store and journal), and a device-config repository."""
    submitted = dcops("tenancy", "request", "inventory/requests/fgw-production.yml", user="wanglei")
    assert submitted.returncode == 0, submitted.stderr
    approved = dcops("tenancy", "approve", "fgw-production", user="chenjing")
    assert approved.returncode == 0, approved.stderr
    configs = site / ".dcops" / "configs"
    configs.mkdir()
    (configs / "leaf-1.conf").write_text("hostname leaf-1\n")
    for command in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "collect"]):
        subprocess.run(
            ["git", "-c", "user.name=dcops", "-c", "user.email=dcops@example", *command],
            cwd=configs, check=True, capture_output=True,
        )  # fmt: skip


def _backup(dcops: RunDcops, env: dict[str, str], export: Path) -> None:
    done = dcops("backup", "export", "--to", str(export), "-o", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["databases"] == ["state/tenancy.db"] and report["journal_bytes"] > 0
    _restic(env, "backup", "--quiet", "--tag", "dcops", str(export))


def test_a_restored_backup_is_proved_whole(
    dcops: RunDcops, site_dir: Path, repository: dict[str, str], tmp_path: Path
) -> None:
    _some_state(dcops, site_dir)
    export = tmp_path / "export"
    _backup(dcops, repository, export)
    done = dcops("backup", "verify-self", "--path", str(export), "--restic", "restic",
                 "-o", "json", env=repository)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    checks = {c["check"]: c for c in report["checks"]}
    assert report["ok"] and report["snapshot"]
    assert checks["database state/tenancy.db"]["detail"].startswith("integrity_check ok")
    assert "schema 0002" in checks["database state/tenancy.db"]["detail"]
    assert "verify against the witness" in checks["audit journal"]["detail"]
    assert checks["device configs"]["detail"] == "git fsck ok"
    assert "signing.key" in " ".join(json.loads((export / "MANIFEST.json").read_text())["files"])
    assert not (site_dir / ".dcops" / "backup").exists()  # nothing restored into the state dir
    table = dcops("backup", "verify-self", "--path", str(export), "--restic", "restic",
                  env=repository)  # fmt: skip
    assert "备份完整 / ok, 6 checks passed" in table.stdout
    assert max(len(line) for line in table.stdout.splitlines()) <= 100


def test_a_backup_of_a_tampered_journal_is_reported(
    dcops: RunDcops, site_dir: Path, repository: dict[str, str], tmp_path: Path
) -> None:
    _some_state(dcops, site_dir)
    journal = site_dir / ".dcops" / "audit" / "journal.jsonl"
    journal.write_text(journal.read_text().replace("fgw-production", "fgw-productioX", 1))
    export = tmp_path / "export"
    _backup(dcops, repository, export)
    done = dcops("backup", "verify-self", "--path", str(export), "--restic", "restic",
                 env=repository)  # fmt: skip
    assert done.returncode == 1
    assert "│ audit journal" in done.stdout and "FAILED" in done.stdout
    assert "altered" in done.stdout
    assert "备份不完整 / FAILED, 1 of 6 checks failed" in done.stdout


def test_a_corrupted_store_and_a_changed_file_in_a_restored_copy_are_reported(
    dcops: RunDcops, site_dir: Path, tmp_path: Path
) -> None:
    _some_state(dcops, site_dir)
    export = tmp_path / "export"
    assert dcops("backup", "export", "--to", str(export)).returncode == 0
    store = export / "state" / "tenancy.db"
    with sqlite3.connect(store) as connection:
        page = connection.execute("PRAGMA page_size").fetchone()[0]
        root = connection.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'requests'"
        ).fetchone()[0]
    data = bytearray(store.read_bytes())
    data[(root - 1) * page : (root - 1) * page + 8] = b"\x0d" + b"\xff" * 7  # a broken b-tree page
    store.write_bytes(bytes(data))
    done = dcops("backup", "verify-self", "--from", str(export), "-o", "json")
    assert done.returncode == 1
    failed = {c["check"]: c["detail"] for c in json.loads(done.stdout)["checks"] if not c["ok"]}
    assert failed == {
        "files": "checksum differs: state/tenancy.db",
        "database state/tenancy.db": "not readable: database disk image is malformed",
    }


def test_a_damaged_repository_is_reported(
    dcops: RunDcops, site_dir: Path, repository: dict[str, str], tmp_path: Path
) -> None:
    _some_state(dcops, site_dir)
    _backup(dcops, repository, tmp_path / "export")
    for pack in (Path(repository["RESTIC_REPOSITORY"]) / "data").rglob("*"):
        if pack.is_file():
            data = bytearray(pack.read_bytes())
            data[len(data) // 2] ^= 0xFF
            pack.write_bytes(bytes(data))
    done = dcops("backup", "verify-self", "--path", str(tmp_path / "export"),
                 "--restic", "restic", env=repository)  # fmt: skip
    assert done.returncode == 1
    assert "restic could not restore snapshot" in done.stderr


def test_no_snapshot_bad_input_and_roles_are_refused(
    dcops: RunDcops, site_dir: Path, repository: dict[str, str], tmp_path: Path
) -> None:
    empty = dcops("backup", "verify-self", "--path", "/nowhere", "--restic", "restic",
                  env=repository)  # fmt: skip
    assert empty.returncode == 1 and "no restic snapshot holds /nowhere" in empty.stderr
    missing = dcops("backup", "verify-self", "--from", str(tmp_path / "absent"))
    assert missing.returncode == 2 and "not a folder" in missing.stderr
    not_export = dcops("backup", "verify-self", "--from", str(tmp_path))
    assert not_export.returncode == 1 and "not a dcops state export" in not_export.stdout
    inside = dcops("backup", "export", "--to", str(site_dir / ".dcops" / "x"))
    assert inside.returncode == 2 and "outside the state dir" in inside.stderr
    facility = dcops("backup", "export", "--to", str(tmp_path / "e"), user="zhaomin")
    assert facility.returncode == 2 and "needs the ops or backup role" in facility.stderr
    assert not (tmp_path / "e").exists()
    # the service account's role "backup" runs the scheduled export, and only that
    service = dcops("backup", "export", "--to", str(tmp_path / "s"), user="dcops")
    assert service.returncode == 0 and (tmp_path / "s" / "MANIFEST.json").is_file()
    check = dcops("backup", "verify-self", "--from", str(tmp_path / "s"), user="dcops")
    assert check.returncode == 2 and "needs the ops or auditor role" in check.stderr


def test_the_scratch_folder_lies_outside_the_state_dir_and_goes_away(
    dcops: RunDcops, site_dir: Path, repository: dict[str, str], tmp_path: Path
) -> None:
    _some_state(dcops, site_dir)
    export = tmp_path / "export"
    _backup(dcops, repository, export)
    before = sorted(p.relative_to(site_dir) for p in (site_dir / ".dcops").rglob("*"))
    scratch = tmp_path / "restore"
    args = ("backup", "verify-self", "--path", str(export), "--restic", "restic")
    done = dcops(*args, "--scratch", str(scratch), env=repository)
    assert done.returncode == 0, done.stdout + done.stderr
    assert not scratch.exists()  # removed after the check
    after = sorted(p.relative_to(site_dir) for p in (site_dir / ".dcops").rglob("*"))
    assert [p for p in after if p not in before and "journal" not in p.name] == []
    kept = dcops(*args, "--scratch", str(scratch), "--keep", env=repository)
    assert kept.returncode == 0 and f"scratch folder kept: {scratch}" in kept.stderr
    assert oct(scratch.stat().st_mode & 0o777) == "0o700"
    restored = scratch / str(export).lstrip("/") / "state" / "tenancy.db"
    assert restored.is_file()  # the restored export is there to be copied back
    again = dcops(*args, "--scratch", str(scratch), env=repository)
    assert again.returncode == 2 and "already exists" in again.stderr
    inside = dcops(*args, "--scratch", str(site_dir / ".dcops" / "r"), env=repository)
    assert inside.returncode == 2 and "inside the state dir" in inside.stderr
    assert not (site_dir / ".dcops" / "r").exists()
