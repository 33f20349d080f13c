"""Retention: move events older than the retention period into a signed archive segment.

The live journal keeps verifying after a prune: the pruned prefix is summed up by its
compact range (the few subtree hashes that cover it) in `<journal>.base.json`, so the tree
heads of every later size, and the proofs of every kept event, stay the same.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from hashlib import sha256
from pathlib import Path
from typing import Any

from dcops.audit.checkpoint import Checkpoint, load_or_create_key, sign
from dcops.audit.history import parse_utc
from dcops.audit.journal import Base, Journal, fsync_folder
from dcops.audit.merkle import leaf_hash
from dcops.audit.proofs import forget_levels
from dcops.core.errors import InputError

MINIMUM_DAYS = 180


@dataclass(frozen=True)
class Pruned:
    """What a prune moved: events first..last into a segment with its checkpoint."""

    first: int
    last: int
    segment: Path
    segment_sha256: str
    checkpoint: Checkpoint

    def as_dict(self) -> dict[str, Any]:
        """Plain data for the prune's audit event and `--output json`."""
        return {
            "first": self.first,
            "last": self.last,
            "events": self.last - self.first + 1,
            "segment": self.segment.name,
            "segment_sha256": self.segment_sha256,
            "checkpoint": self.checkpoint.as_dict(),
        }


def cutoff(retention_days: int, before: datetime | None, now: datetime | None = None) -> datetime:
    """The moment before which events may go: `before`, never later than now minus retention."""
    days = max(retention_days, MINIMUM_DAYS)
    limit = (now or datetime.now(UTC)) - timedelta(days=days)
    if before is None:
        return limit
    if before > limit:
        raise InputError(
            f"--before {before.isoformat()} is inside the retention period: events younger than "
            f"{days} days (after {limit.isoformat(timespec='seconds')}) cannot be pruned"
        )
    return before


def prune(journal: Journal, older_than: datetime) -> Pruned | None:
    """Archive the leading events older than the cutoff; None if there are none."""
    from dcops.audit.verification import Tampered, trusted_key, verify

    with journal.locked():
        check = verify(journal, (), trusted_key(journal, None))
        if not check.ok:  # archiving would bury the evidence: refuse
            raise Tampered(check.as_dict())
        base = journal.base()
        lines = journal.path.read_bytes().splitlines(keepends=True) if journal.path.exists() else []
        count, compact, last = 0, base.compact.copy(), base.last_leaf
        for line in lines:
            moment = parse_utc(str((json.loads(line).get("time") or {}).get("utc", "")))
            if moment is None or moment >= older_than or not line.endswith(b"\n"):
                break
            last = leaf_hash(line[:-1])
            compact.append(last)
            count += 1
        if count == 0:
            return None
        first, final = base.size, base.size + count - 1
        stem = journal.archive / f"segment-{first:012d}-{final:012d}"
        segment = stem.with_suffix(".jsonl")
        data = b"".join(lines[:count])
        checkpoint = sign(
            load_or_create_key(journal.key), journal.origin, final + 1, compact.root()
        )
        _write(segment, data)
        _write(stem.with_suffix(".base.json"), json.dumps(base.as_dict()).encode())
        _write(stem.with_suffix(".checkpoint.json"), checkpoint.line())
        fsync_folder(journal.archive)
        new_base = Base(final + 1, compact, last)
        _replace(journal.path, b"".join(lines[count:]))
        _replace(journal.base_file, json.dumps(new_base.as_dict()).encode())
        journal.forget_cache()
        forget_levels(journal)
        return Pruned(first, final, segment, sha256(data).hexdigest(), checkpoint)


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with path.open("xb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _replace(path: Path, data: bytes) -> None:
    temporary = path.with_suffix(path.suffix + ".tmp")
    with temporary.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    fsync_folder(path.parent)
