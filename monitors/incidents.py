"""The notifier's record (SQLite in the state dir): alerts seen, escalation reached, every delivery."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS incidents (
    id INTEGER PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    starts_at TEXT NOT NULL,
    labels TEXT NOT NULL,
    annotations TEXT NOT NULL,
    policy TEXT,
    opened_at REAL NOT NULL,
    level INTEGER NOT NULL DEFAULT -1,
    acked_at REAL,
    acked_by TEXT,
    ack_reason TEXT,
    resolved_at REAL,
    UNIQUE (fingerprint, starts_at)
);
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    step INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('firing', 'resolved')),
    channel TEXT NOT NULL,
    recipients TEXT NOT NULL,
    created_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at REAL NOT NULL,
    delivered_at REAL,
    last_error TEXT,
    UNIQUE (incident_id, step, kind, channel)
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (delivered_at, next_at);
"""


@dataclass(frozen=True)
class Incident:
    """One firing of one alert (fingerprint and start), as the notifier tracks it."""

    id: int
    fingerprint: str
    starts_at: str
    labels: dict[str, str]
    annotations: dict[str, str]
    policy: str | None
    opened_at: float
    level: int
    acked_at: float | None
    acked_by: str | None
    ack_reason: str | None
    resolved_at: float | None


@dataclass(frozen=True)
class Delivery:
    """One notice to some people through one channel, and how far its delivery got."""

    id: int
    incident_id: int
    step: int
    kind: str
    channel: str
    recipients: tuple[str, ...]
    created_at: float
    attempts: int
    next_at: float
    delivered_at: float | None
    last_error: str | None


def _incident(row: sqlite3.Row) -> Incident:
    data = dict(row)
    data["labels"] = json.loads(data["labels"])
    data["annotations"] = json.loads(data["annotations"])
    return Incident(**data)


def _delivery(row: sqlite3.Row) -> Delivery:
    data = dict(row)
    data["recipients"] = tuple(json.loads(data["recipients"]))
    return Delivery(**data)


class IncidentStore:
    """Incidents and deliveries; every change one transaction, one writer at a time."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)
        path.chmod(0o600)

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def open_incident(
        self,
        fingerprint: str,
        starts_at: str,
        labels: dict[str, str],
        annotations: dict[str, str],
        policy: str | None,
        now: float,
    ) -> Incident | None:
        """Record a firing alert; None if it was already known (a repeat or a second sender)."""
        with self._tx() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO incidents"
                " (fingerprint, starts_at, labels, annotations, policy, opened_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    fingerprint,
                    starts_at,
                    json.dumps(labels, sort_keys=True),
                    json.dumps(annotations, sort_keys=True, ensure_ascii=False),
                    policy,
                    now,
                ),
            )
            if cursor.rowcount == 0:
                return None
            row = db.execute("SELECT * FROM incidents WHERE id = ?", (cursor.lastrowid,)).fetchone()
        return _incident(row)

    def incident(self, fingerprint: str, starts_at: str) -> Incident | None:
        """The incident of one firing, if known."""
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM incidents WHERE fingerprint = ? AND starts_at = ?",
                (fingerprint, starts_at),
            ).fetchone()
        return _incident(row) if row else None

    def get(self, incident_id: int) -> Incident:
        """One incident by id."""
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM incidents WHERE id = ?", (incident_id,)
            ).fetchone()
        return _incident(row)

    def open_incidents(self) -> list[Incident]:
        """Incidents not yet resolved, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM incidents WHERE resolved_at IS NULL ORDER BY id"
            ).fetchall()
        return [_incident(r) for r in rows]

    def all_incidents(self) -> list[Incident]:
        """Every incident, oldest first."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM incidents ORDER BY id").fetchall()
        return [_incident(r) for r in rows]

    def resolve(self, incident_id: int, now: float) -> bool:
        """Mark resolved; False if it already was."""
        with self._tx() as db:
            cursor = db.execute(
                "UPDATE incidents SET resolved_at = ? WHERE id = ? AND resolved_at IS NULL",
                (now, incident_id),
            )
        return cursor.rowcount == 1

    def acknowledge(self, incident_id: int, by: str, reason: str, now: float) -> bool:
        """Mark acknowledged (escalation stops); False if it already was."""
        with self._tx() as db:
            cursor = db.execute(
                "UPDATE incidents SET acked_at = ?, acked_by = ?, ack_reason = ?"
                " WHERE id = ? AND acked_at IS NULL",
                (now, by, reason, incident_id),
            )
        return cursor.rowcount == 1

    def escalate(
        self, incident_id: int, step: int, sends: list[tuple[str, list[str]]], now: float
    ) -> bool:
        """Raise the level to `step` and queue its deliveries, once; False if already there."""
        with self._tx() as db:
            cursor = db.execute(
                "UPDATE incidents SET level = ? WHERE id = ? AND level < ?"
                " AND acked_at IS NULL AND resolved_at IS NULL",
                (step, incident_id, step),
            )
            if cursor.rowcount == 0:
                return False
            self._queue(db, incident_id, step, "firing", sends, now)
        return True

    def queue_resolved(
        self, incident_id: int, sends: list[tuple[str, list[str]]], now: float
    ) -> None:
        """Queue the resolved notices (once per channel)."""
        with self._tx() as db:
            self._queue(db, incident_id, -1, "resolved", sends, now)

    @staticmethod
    def _queue(
        db: sqlite3.Connection,
        incident_id: int,
        step: int,
        kind: str,
        sends: list[tuple[str, list[str]]],
        now: float,
    ) -> None:
        db.executemany(
            "INSERT OR IGNORE INTO deliveries"
            " (incident_id, step, kind, channel, recipients, created_at, next_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(incident_id, step, kind, ch, json.dumps(users), now, now) for ch, users in sends],
        )

    def deliveries(self, incident_id: int | None = None) -> list[Delivery]:
        """Deliveries (of one incident), oldest first."""
        query, args = "SELECT * FROM deliveries", tuple[int, ...]()
        if incident_id is not None:
            query, args = "SELECT * FROM deliveries WHERE incident_id = ?", (incident_id,)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY id", args).fetchall()
        return [_delivery(r) for r in rows]

    def latest_deliveries(self, limit: int, pending: bool = False) -> tuple[list[Delivery], int]:
        """The newest `limit` deliveries (only undelivered ones if pending), and how many in all."""
        where = " WHERE delivered_at IS NULL" if pending else ""
        with self._lock:
            total = self._db.execute("SELECT count(*) FROM deliveries" + where).fetchone()[0]
            rows = self._db.execute(
                f"SELECT * FROM deliveries{where} ORDER BY id DESC LIMIT ?", (limit,)
            ).fetchall()
        return [_delivery(r) for r in rows], int(total)

    def incidents_by_id(self, ids: Iterable[int]) -> dict[int, Incident]:
        """The incidents with these ids, by id."""
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM incidents WHERE id IN (SELECT value FROM json_each(?))",
                (json.dumps(sorted(set(ids))),),
            ).fetchall()
        return {i.id: i for i in map(_incident, rows)}

    def due(self, now: float) -> list[Delivery]:
        """Undelivered deliveries whose time has come, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM deliveries WHERE delivered_at IS NULL AND next_at <= ? ORDER BY id",
                (now,),
            ).fetchall()
        return [_delivery(r) for r in rows]

    def delivered(self, delivery_id: int, now: float) -> None:
        """Mark delivered."""
        with self._tx() as db:
            db.execute(
                "UPDATE deliveries SET delivered_at = ?, attempts = attempts + 1, last_error = NULL"
                " WHERE id = ?",
                (now, delivery_id),
            )

    def failed(self, delivery_id: int, error: str, next_at: float) -> None:
        """Count a failed attempt and when to try again."""
        with self._tx() as db:
            db.execute(
                "UPDATE deliveries SET attempts = attempts + 1, last_error = ?, next_at = ?"
                " WHERE id = ?",
                (error, next_at, delivery_id),
            )
