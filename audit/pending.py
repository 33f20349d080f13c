"""Operations a crash left incomplete: intents without a result, found incrementally and closed.

A command that dies between its change and its result event leaves an intent alone in the
journal. The area that owns the change looks at its own store and closes such an intent with
a result marked `reconciled`, once the process that wrote it is gone.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from dcops.audit.event import draft
from dcops.audit.journal import Journal

CACHE = "open-intents.json"
STALE = timedelta(
    days=1
)  # an intent from another host, or without a process, counts as dead after this


@dataclass(frozen=True)
class OpenIntent:
    """An intent without a result, and when the same actor next acted on the same object."""

    event: dict[str, Any]
    until: str | None = None  # the UTC time of that actor's next intent on the object

    @property
    def correlation(self) -> str:
        """The operation's correlation id."""
        return str(self.event.get("correlation", ""))

    @property
    def action(self) -> str:
        """The action, e.g. tenancy.approve."""
        return str(self.event.get("action", ""))

    @property
    def object_id(self) -> str:
        """The object's id (the part after the slash)."""
        return str((self.event.get("object") or {}).get("id", ""))

    @property
    def user(self) -> str:
        """Who acted."""
        return str((self.event.get("actor") or {}).get("user", ""))

    @property
    def started(self) -> datetime:
        """When the intent was recorded (UTC)."""
        return _utc(str((self.event.get("time") or {}).get("utc", "")))

    @property
    def ended(self) -> datetime | None:
        """When the same actor next acted on the same object, if they did."""
        return _utc(self.until) if self.until else None

    def running(self, now: datetime | None = None) -> bool:
        """Whether the process that wrote the intent may still be at work."""
        process = (self.event.get("details") or {}).get("process") or {}
        pid, host = process.get("pid"), process.get("host")
        if not isinstance(pid, int) or host != socket.gethostname():
            return (now or datetime.now(UTC)) - self.started < STALE
        if pid == os.getpid():
            return True
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return process.get("start") in (None, process_start(pid))


def process_start(pid: int) -> int | None:
    """When a process started (clock ticks since boot), so a reused pid is told apart."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
        return int(fields[19])
    except (OSError, IndexError, ValueError):
        return None


def _utc(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def open_intents(journal: Journal) -> list[OpenIntent]:
    """Intents without a result; reads only what was appended since the last call (hold the lock)."""
    cache = journal.folder / CACHE
    length = journal.path.stat().st_size if journal.path.exists() else 0
    base = journal.base().size
    start, found = 0, {}
    try:
        data = json.loads(cache.read_text(encoding="utf-8"))
        if data["base"] == base and 0 <= data["bytes"] <= length:
            start = int(data["bytes"])
            found = {k: (dict(v["event"]), v.get("until")) for k, v in data["open"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        start, found = 0, {}
    offset = start
    for line in _lines_from(journal, start, length):
        offset += len(line)
        if b'"phase":"intent"' not in line and b'"phase":"result"' not in line:
            continue
        try:
            event = json.loads(line)
        except ValueError:
            continue  # verify names a damaged line; it holds no operation to close
        _track(found, event)
    if offset != start or not cache.exists():
        state = {
            "base": base,
            "bytes": offset,
            "open": {k: {"event": e, "until": u} for k, (e, u) in found.items()},
        }
        temporary = cache.with_suffix(".tmp")
        temporary.write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")
        os.replace(temporary, cache)
    return [OpenIntent(event, until) for event, until in found.values()]


def _lines_from(journal: Journal, start: int, length: int) -> Iterator[bytes]:
    """Complete lines of the journal from byte start."""
    if start >= length:
        return
    with journal.path.open("rb") as handle:
        handle.seek(start)
        for line in handle:
            if not line.endswith(b"\n"):
                return
            yield line


def _track(found: dict[str, tuple[dict[str, Any], str | None]], event: dict[str, Any]) -> None:
    correlation = str(event.get("correlation", ""))
    if event.get("phase") == "result":
        found.pop(correlation, None)
        return
    who = (event.get("actor") or {}).get("user")
    what = event.get("object")
    moment = (event.get("time") or {}).get("utc")
    for key, (other, until) in found.items():
        if (
            until is None
            and (other.get("actor") or {}).get("user") == who
            and other.get("object") == what
        ):
            found[key] = (other, moment)
    found[correlation] = (event, None)


def close(
    journal: Journal, intent: OpenIntent, status: str, error: str | None, evidence: str
) -> dict[str, Any]:
    """Append the result of an incomplete operation, marked reconciled, with the evidence found."""
    event = intent.event
    obj = event.get("object") or {}
    target = f"{obj.get('type', '')}/{obj.get('id', '')}" if obj.get("id") else obj.get("type", "")
    result = draft(
        phase="result",
        action=intent.action,
        target=str(target),
        actor=event.get("actor") or {},
        parameters=event.get("parameters") or {},
        correlation=intent.correlation,
        timezone=str((event.get("time") or {}).get("timezone", "UTC")),
        status="success" if status == "success" else "failure",
        error=error,
        details={
            "reconciled": evidence,
            "reconciled_by": {"pid": os.getpid(), "host": socket.gethostname()},
        },
    )
    result["result"]["reconciled"] = True
    return journal.append(result)
