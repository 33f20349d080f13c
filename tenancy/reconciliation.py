"""Close tenancy operations a crash left incomplete, from what the store shows was committed.

A command killed after its transaction committed but before its audit result was written (or
one whose journal write failed) leaves an intent without a result. The next transition looks
for such intents of processes that are gone and records their outcome, marked `reconciled`:
success when the store holds the history row that operation wrote, failure when it holds none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from dcops.audit.journal import Journal
from dcops.audit.pending import OpenIntent, close, open_intents
from dcops.core.site import Site
from dcops.tenancy.records import HistoryRecord, RequestRecord
from dcops.tenancy.store import Store, open_store

NOT_COMMITTED = (
    "the command stopped before its change was committed; the tenancy store holds no trace of it"
)


@dataclass(frozen=True)
class Reconciled:
    """One incomplete operation closed: its intent's event id, action, object and outcome."""

    intent_id: int
    action: str
    tenancy: str
    status: str
    evidence: str


def reconcile(site: Site, store: Store | None = None) -> list[Reconciled]:
    """Record the outcome of every incomplete tenancy operation whose process is gone."""
    journal = Journal.of(site)
    done: list[Reconciled] = []
    with journal.locked():
        candidates = [
            intent
            for intent in open_intents(journal)
            if intent.action.startswith("tenancy.") and not intent.running()
        ]
        if not candidates:
            return done
        store = store or open_store(site)
        for intent in candidates:
            evidence = _evidence(store, intent)
            status = "success" if evidence else "failure"
            close(
                journal,
                intent,
                status,
                None if evidence else NOT_COMMITTED,
                evidence or "no history row by this actor after the intent",
            )
            done.append(
                Reconciled(
                    int(intent.event.get("id", -1)),
                    intent.action,
                    intent.object_id,
                    status,
                    evidence or NOT_COMMITTED,
                )
            )
    return done


def _evidence(store: Store, intent: OpenIntent) -> str:
    """The history rows this operation committed, described; empty if it committed none."""
    query = (
        select(HistoryRecord, RequestRecord.name)
        .join(RequestRecord, RequestRecord.id == HistoryRecord.request_id)
        .where(HistoryRecord.actor == intent.user)
        .order_by(HistoryRecord.id)
    )
    named = intent.object_id
    if named.isdigit() and len(named) < 19:  # recorded by ID before object ids were names
        query = query.where(RequestRecord.id == int(named))
    elif named not in ("", "*"):
        query = query.where(RequestRecord.name == named)
    started, ended = intent.started, intent.ended
    found = []
    with store.reading() as session:
        for history, name in session.execute(query):
            at = history.at if history.at.tzinfo else history.at.replace(tzinfo=UTC)
            if at >= started and (ended is None or at < ended):
                found.append(
                    f"history #{history.id}: request #{history.request_id} ({name}) "
                    f"{history.from_state or '-'} -> {history.to_state} at {_iso(at)}"
                )
    return "; ".join(found)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
