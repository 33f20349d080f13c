"""The PostgreSQL tenancy store in dcops' state export: pg_dump writes it, pg_restore reads it back."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from dcops.core.errors import InputError, MissingDependency, OperationFailed
from dcops.core.requirements import find_program

DUMP = "postgresql/tenancy.dump"  # inside the export's state/
TIMEOUT = 3600


@dataclass(frozen=True)
class DumpSummary:
    """What a read-back dump holds: its tables with data and the schema revision."""

    tables: int
    revision: str


def is_postgresql(url: str | None) -> bool:
    """Whether a tenancy_store URL names PostgreSQL."""
    return bool(url) and urlsplit(url or "").scheme.split("+", 1)[0] in ("postgresql", "postgres")


def libpq_target(url: str) -> tuple[str, dict[str, str]]:
    """The libpq URI for pg_dump, and the environment that carries the password (never argv)."""
    parts = urlsplit(url)
    if not is_postgresql(url) or not parts.path.strip("/"):
        raise InputError(
            "backends.tenancy_store: not a PostgreSQL URL with a database name; "
            "allowed: postgresql+psycopg://USER@HOST:PORT/DATABASE"
        )
    env: dict[str, str] = {}
    netloc = parts.netloc
    if parts.password is not None:
        env["PGPASSWORD"] = unquote(parts.password)
        host = netloc.rpartition("@")[2]
        netloc = f"{parts.username}@{host}" if parts.username else host
    return urlunsplit(("postgresql", netloc, parts.path, parts.query, "")), env


def dump_store(url: str, target: Path) -> None:
    """pg_dump the store in its custom format (one consistent snapshot) into target, mode 0600."""
    program = _program("pg_dump")
    uri, env = libpq_target(url)
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(target, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600))
    _run(
        [program, "--format=custom", "--no-password", f"--file={target}", f"--dbname={uri}"],
        "dump the PostgreSQL tenancy store",
        env,
    )


def read_dump(path: Path) -> DumpSummary:
    """Read a dump back whole with pg_restore; OperationFailed if any part of it is unreadable."""
    program = _program("pg_restore")
    listing = _run([program, "--list", str(path)], f"list {path.name}", {})
    tables = sum(1 for line in listing.splitlines() if " TABLE DATA " in line)
    _run([program, "--file=/dev/null", str(path)], f"read {path.name} through", {})
    data = _run(
        [program, "--data-only", "--table=alembic_version", "--file=-", str(path)],
        f"read the schema revision from {path.name}",
        {},
    )
    return DumpSummary(tables, _revision(data))


def _revision(sql: str) -> str:
    lines = sql.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("COPY ") and "alembic_version" in line and i + 1 < len(lines):
            return "none" if lines[i + 1] == "\\." else lines[i + 1].strip()
    return "none"


def _program(name: str) -> str:
    found = find_program(name)
    if found is None:
        raise MissingDependency(
            f"{name} is not installed: the tenancy store is PostgreSQL; "
            "install Debian's postgresql-client (of the server's major version or newer)"
        )
    return found


def _run(command: list[str], what: str, env: dict[str, str]) -> str:
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
            env={**os.environ, **env},
        )
    except subprocess.TimeoutExpired as exc:
        raise OperationFailed(f"could not {what} within {TIMEOUT} s") from exc
    if done.returncode != 0:
        reason = " ".join(done.stderr.strip().splitlines()[-3:])[:400]
        raise OperationFailed(f"could not {what} (exit {done.returncode}): {reason}")
    return done.stdout
