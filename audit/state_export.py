"""A consistent copy of dcops' own records for the backups: stores, journal, keys, Pulumi state, site."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from dcops.audit.journal import Journal
from dcops.audit.postgres_dump import DUMP, dump_store, is_postgresql
from dcops.core.errors import InputError, OperationFailed
from dcops.core.site import Site

FORMAT = 1
MANIFEST = "MANIFEST.json"
SQLITE_MAGIC = b"SQLite format 3\x00"
# Parts of the state dir that are rebuilt, re-run or re-made rather than restored.
SKIPPED_TOP = frozenset({"lab", "lab-cache", "lab-cloud", "configure", "crashes", "backup"})
SKIPPED_SUFFIXES = ("-wal", "-shm", "-journal", ".lock", ".pid", ".part")
SKIPPED_FOLDERS = ("journal.jsonl.levels", "prometheus-data", "alertmanager-data")
SITE_FILES = ("dcops.toml", "inventory")


@dataclass
class ExportReport:
    """What an export wrote: where, how many files and bytes, which databases, how long."""

    folder: Path
    files: int = 0
    bytes: int = 0
    databases: list[str] = field(default_factory=list)
    dumps: list[str] = field(default_factory=list)
    journal_bytes: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, object]:
        """The report as JSON-ready data."""
        return {
            "folder": str(self.folder),
            "files": self.files,
            "bytes": self.bytes,
            "databases": self.databases,
            "dumps": self.dumps,
            "journal_bytes": self.journal_bytes,
            "seconds": round(self.seconds, 3),
        }


def export_state(site: Site, target: Path) -> ExportReport:
    """Write site/, state/, witness/ and MANIFEST.json into target, replacing it whole.

    The journal's lock is held for the whole copy, so no audited change starts meanwhile and
    the copied stores never hold a change whose intent the copied journal lacks.
    """
    target = target.resolve()
    state = site.paths.state.resolve()
    if target == state or target.is_relative_to(state) or state.is_relative_to(target):
        raise InputError(
            f"--to {target}: the export must lie outside the state dir {state} and not hold it"
        )
    started = time.monotonic()
    work = target.parent / f".{target.name}.partial-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    try:
        work.parent.mkdir(parents=True, exist_ok=True)
        work.mkdir(mode=0o700)
    except OSError as exc:
        raise OperationFailed(f"cannot create the export folder {work}: {exc}") from exc
    report = ExportReport(target)
    journal = Journal.of(site)
    try:
        with journal.locked():
            _copy_state(state, work / "state", report)
            _dump_postgresql(site, work / "state", report)
            if journal.witness is not None and journal.witness.is_file():
                _copy_file(journal.witness, work / "witness" / journal.witness.name, report)
        for name in SITE_FILES:
            _copy_tree(site.paths.root / name, work / "site" / name, report)
        if journal.path.is_file():
            report.journal_bytes = journal.path.stat().st_size
        _write_manifest(site, work, report)
        _swap(work, target)
    except OSError as exc:
        raise OperationFailed(f"cannot export dcops' state to {target}: {exc}") from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report.seconds = time.monotonic() - started
    return report


def _skipped(relative: Path) -> bool:
    parts = relative.parts
    if parts and parts[0] in SKIPPED_TOP:
        return True
    if any(part in SKIPPED_FOLDERS for part in parts):
        return True
    return relative.name.endswith(SKIPPED_SUFFIXES)


def _copy_state(state: Path, target: Path, report: ExportReport) -> None:
    if not state.is_dir():
        return
    for path in sorted(state.rglob("*")):
        relative = path.relative_to(state)
        if _skipped(relative) or path.is_symlink() or not path.is_file():
            continue
        destination = target / relative
        if _is_sqlite(path):
            _copy_database(path, destination, report)
            report.databases.append(str(Path("state") / relative))
        else:
            _copy_file(path, destination, report)


def _dump_postgresql(site: Site, target: Path, report: ExportReport) -> None:
    """A PostgreSQL tenancy store lives outside the state dir: pg_dump it beside the copy."""
    url = site.config.backends.tenancy_store
    if not is_postgresql(url):
        return
    assert url is not None
    dump_store(url, target / DUMP)
    report.dumps.append(str(Path("state") / DUMP))
    _count(target / DUMP, report)


def _copy_tree(source: Path, target: Path, report: ExportReport) -> None:
    if source.is_file():
        _copy_file(source, target, report)
        return
    if not source.is_dir():
        return
    for path in sorted(source.rglob("*")):
        if path.is_file() and not path.is_symlink():
            _copy_file(path, target / path.relative_to(source), report)


def _is_sqlite(path: Path) -> bool:
    with path.open("rb") as head:
        return head.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC


def _copy_database(path: Path, destination: Path, report: ExportReport) -> None:
    """SQLite's online backup: a consistent copy even while a writer is at work (WAL included)."""
    destination.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    copy = sqlite3.connect(destination)
    try:
        source.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file in the backup
    except sqlite3.Error as exc:
        raise OperationFailed(f"cannot back up the database {path}: {exc}") from exc
    finally:
        copy.close()
        source.close()
    destination.chmod(0o600)
    _count(destination, report)


def _copy_file(path: Path, destination: Path, report: ExportReport) -> None:
    destination.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    shutil.copy2(path, destination)
    destination.chmod(0o600)
    _count(destination, report)


def _count(path: Path, report: ExportReport) -> None:
    report.files += 1
    report.bytes += path.stat().st_size


def digest(path: Path) -> str:
    """The SHA-256 of a file, read in blocks."""
    sha = hashlib.sha256()
    with path.open("rb") as data:
        for block in iter(lambda: data.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def _write_manifest(site: Site, work: Path, report: ExportReport) -> None:
    files = {
        str(path.relative_to(work)): digest(path)
        for path in sorted(work.rglob("*"))
        if path.is_file()
    }
    manifest = {
        "format": FORMAT,
        "site": site.name,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "journal": site.config.audit.journal,
        "key": site.config.audit.key,
        "databases": report.databases,
        "dumps": report.dumps,
        "files": files,
    }
    path = work / MANIFEST
    path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    path.chmod(0o600)


def _swap(work: Path, target: Path) -> None:
    """Put the finished export in place of the previous one, never leaving a half of either."""
    old = target.parent / f".{target.name}.old-{os.getpid()}"
    if target.exists():
        target.rename(old)
    work.rename(target)
    shutil.rmtree(old, ignore_errors=True)
