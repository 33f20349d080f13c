"""Whether a restored export of dcops' state is whole: files, site, stores, journal, Pulumi state."""

from __future__ import annotations

import gzip
import json
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from dcops.audit.journal import Journal
from dcops.audit.postgres_dump import read_dump
from dcops.audit.state_export import FORMAT, MANIFEST, digest
from dcops.audit.verification import trusted_key, verify
from dcops.core.errors import DcopsError

MAX_MANIFEST_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Check:
    """One check of a restored copy: its name, whether it passed, and what was found."""

    name: str
    ok: bool
    detail: str

    def as_dict(self) -> dict[str, object]:
        """The check as JSON-ready data."""
        return {"check": self.name, "ok": self.ok, "detail": self.detail}


def check_export(folder: Path) -> list[Check]:
    """Every check of an export folder; a broken part fails its check and the others still run."""
    manifest, problem = _manifest(folder)
    if manifest is None:
        return [Check("manifest", False, problem)]
    checks = [_files(folder, manifest), _site(folder)]
    databases = manifest.get("databases")
    if isinstance(databases, list):
        checks += [_database(folder, name) for name in databases]
    dumps = manifest.get("dumps")
    if isinstance(dumps, list):
        checks += [_dump(folder, name) for name in dumps]
    checks.append(_journal(folder, manifest))
    checks.append(_pulumi(folder / "state" / "pulumi"))
    checks.append(_configs(folder / "state" / "configs"))
    return checks


def _manifest(folder: Path) -> tuple[dict[str, object] | None, str]:
    path = folder / MANIFEST
    if not path.is_file():
        return None, f"{path} is missing: this is not a dcops state export"
    if path.stat().st_size > MAX_MANIFEST_BYTES:
        return None, f"{path} is larger than {MAX_MANIFEST_BYTES} bytes"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        return None, f"{path} is not JSON: {exc}"
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return None, f"{path}: format is not {FORMAT}; allowed: an export of this dcops version"
    if not isinstance(data.get("files"), dict):
        return None, f"{path}: no files listed"
    return data, ""


def _files(folder: Path, manifest: dict[str, object]) -> Check:
    listed = manifest["files"]
    assert isinstance(listed, dict)
    missing, changed = [], []
    for name, expected in sorted(listed.items()):
        path = folder / name
        if ".." in Path(name).parts or not path.is_file():
            missing.append(name)
        elif digest(path) != expected:
            changed.append(name)
    if missing or changed:
        detail = "; ".join(
            part
            for part in (
                f"missing: {', '.join(missing[:5])}" if missing else "",
                f"checksum differs: {', '.join(changed[:5])}" if changed else "",
            )
            if part
        )
        return Check("files", False, detail)
    return Check("files", True, f"{len(listed)} files match the manifest")


def _site(folder: Path) -> Check:
    from dcops.core.loader import load_site

    try:
        site = load_site(folder / "site" / "dcops.toml")
    except DcopsError as exc:
        return Check("site", False, str(exc).splitlines()[0])
    return Check("site", True, f"site {site.name}: dcops.toml and inventory/ load")


def _database(folder: Path, name: object) -> Check:
    path = folder / str(name)
    label = f"database {name}"
    if not path.is_file():
        return Check(label, False, "missing")
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = connection.execute("PRAGMA integrity_check").fetchall()
            tables = [r[0] for r in connection.execute("SELECT name FROM sqlite_master")]
            head = ""
            if "alembic_version" in tables:
                found = connection.execute("SELECT version_num FROM alembic_version").fetchone()
                head = f", schema {found[0] if found else 'none'}"
        finally:
            connection.close()
    except sqlite3.DatabaseError as exc:
        return Check(label, False, f"not readable: {exc}")
    verdict = [str(r[0]) for r in rows]
    if verdict != ["ok"]:
        return Check(label, False, f"integrity_check: {'; '.join(verdict[:3])}")
    return Check(label, True, f"integrity_check ok, {len(tables)} tables{head}")


def _dump(folder: Path, name: object) -> Check:
    path = folder / str(name)
    label = f"postgresql {name}"
    if ".." in Path(str(name)).parts or not path.is_file():
        return Check(label, False, "missing")
    try:
        summary = read_dump(path)
    except DcopsError as exc:
        return Check(label, False, str(exc).splitlines()[0])
    return Check(
        label,
        True,
        f"pg_restore reads it whole, {summary.tables} tables with data, schema {summary.revision}",
    )


def _journal(folder: Path, manifest: dict[str, object]) -> Check:
    state = folder / "state"
    path = state / str(manifest.get("journal", "audit/journal.jsonl"))
    if not path.is_file():
        return Check("audit journal", False, f"{path.relative_to(folder)} is missing")
    witnesses = sorted((folder / "witness").glob("*")) if (folder / "witness").is_dir() else []
    journal = Journal(
        path,
        state / str(manifest.get("key", "audit/signing.key")),
        origin=f"dcops/{manifest.get('site', '')}",
        witness=witnesses[0] if witnesses else None,
    )
    try:
        result = verify(journal, key=trusted_key(journal, None))
    except DcopsError as exc:
        return Check("audit journal", False, str(exc).splitlines()[0])
    if not result.ok:
        first = result.first_bad
        return Check("audit journal", False, str(first) if first else "does not verify")
    against = "the witness" if witnesses else "its checkpoints (no witness in the backup)"
    return Check(
        "audit journal",
        True,
        f"{result.size} events, chain and Merkle root verify against {against}",
    )


def _pulumi(folder: Path) -> Check:
    stacks = sorted(
        p for p in folder.rglob("*") if p.is_file() and p.parent.parent.name == "stacks"
    )
    stacks = [p for p in stacks if p.name.endswith((".json", ".json.gz"))]
    if not stacks:
        return Check("pulumi state", True, "no stacks (nothing provisioned)")
    for path in stacks:
        try:
            raw = path.read_bytes()
            data = json.loads(gzip.decompress(raw) if path.suffix == ".gz" else raw)
        except (OSError, ValueError) as exc:
            return Check("pulumi state", False, f"{path.name}: not readable: {exc}")
        if not isinstance(data, dict) or "checkpoint" not in data:
            return Check("pulumi state", False, f"{path.name}: no checkpoint in it")
    return Check("pulumi state", True, f"{len(stacks)} stack checkpoints readable")


def _configs(folder: Path) -> Check:
    if not (folder / ".git").is_dir():
        return Check("device configs", True, "no repository (configs never collected)")
    done = subprocess.run(
        [
            "git",
            "-c",
            f"safe.directory={folder}",
            "-C",
            str(folder),
            "fsck",
            "--no-progress",
            "--no-dangling",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        return Check("device configs", False, f"git fsck: {done.stderr.strip()[:200]}")
    return Check("device configs", True, "git fsck ok")
