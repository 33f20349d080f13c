"""Retention: old events go to a signed archive segment; what remains keeps verifying and proving."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dcops.audit.checkpoint import latest, write_checkpoint
from dcops.audit.event import draft
from dcops.audit.journal import Journal, read_base
from dcops.audit.proofs import prove
from dcops.audit.retention import cutoff, prune
from dcops.audit.verification import Tampered, trusted_key, verify
from dcops.core.errors import InputError, OperationFailed

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def add(journal: Journal, days_ago: int, count: int) -> None:
    for n in range(count):
        journal.append(
            draft(
                phase="record",
                action="configure.run",
                target=f"host/h{n}",
                actor={"user": "zhangwei"},
                parameters={},
                correlation=f"c{n}",
                timezone="Asia/Shanghai",
                status="success",
                now=NOW - timedelta(days=days_ago),
            )
        )
    write_checkpoint(journal)


@pytest.fixture
def aged(journal: Journal) -> Journal:
    add(journal, 400, 5)
    add(journal, 300, 6)
    add(journal, 10, 4)
    return journal


def test_the_retention_period_cannot_be_shortened() -> None:
    assert cutoff(30, None, NOW) == NOW - timedelta(days=180)
    assert cutoff(365, None, NOW) == NOW - timedelta(days=365)
    with pytest.raises(InputError, match="inside the retention period"):
        cutoff(180, NOW - timedelta(days=100), NOW)


def test_pruning_twice_keeps_the_journal_verifiable_and_provable(aged: Journal) -> None:
    before = latest(aged)
    assert before is not None and before.size == 15
    first = prune(aged, NOW - timedelta(days=350))
    assert first is not None and (first.first, first.last) == (0, 4)
    second = prune(aged, cutoff(180, None, NOW))
    assert second is not None and (second.first, second.last) == (5, 10)
    assert prune(aged, cutoff(180, None, NOW)) is None
    assert [e["id"] for e in aged.events()] == [11, 12, 13, 14]
    result = verify(aged, (), trusted_key(aged, None))
    assert result.ok, result.findings
    assert result.pruned == 11 and result.size == 15
    assert prove(aged, 12, before).holds()  # a checkpoint from before the prunes still proves
    segment = json.loads(second.segment.with_suffix(".checkpoint.json").read_text())
    assert segment["size"] == 11


def test_a_tampered_archive_segment_or_base_file_is_caught(aged: Journal) -> None:
    done = prune(aged, cutoff(180, None, NOW))
    assert done is not None
    text = done.segment.read_text(encoding="utf-8")
    done.segment.write_text(
        text.replace("host/h3", "host/h9").replace('"h3"', '"h9"'), encoding="utf-8"
    )
    findings = [str(f) for f in verify(aged, (), trusted_key(aged, None)).findings]
    assert any("archive segment-000000000000-000000000010.jsonl" in f for f in findings), findings
    done.segment.write_text(text, encoding="utf-8")
    base = json.loads(aged.base_file.read_text())
    base["range"][0] = "00" * 32
    aged.base_file.write_text(json.dumps(base))
    assert not verify(aged, (), trusted_key(aged, None)).ok


def test_a_journal_that_does_not_verify_is_not_pruned(aged: Journal) -> None:
    text = aged.path.read_text(encoding="utf-8").replace('"h2"', '"h8"', 1)
    aged.path.write_text(text, encoding="utf-8")
    with pytest.raises(Tampered, match="does not verify"):
        prune(aged, cutoff(180, None, NOW))
    assert not aged.archive.exists()


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("range", ["ab" * 32, "not hex"], "range[1]: 'not hex' is not a 64-digit hex SHA-256 hash"),
        ("last", "ab" * 31, f"last: '{'ab' * 31}' is not a 64-digit hex SHA-256 hash"),
        ("size", "many", "invalid literal"),
    ],
)
def test_a_damaged_base_file_is_named_with_the_bad_field(
    tmp_path: Path, field: str, value: object, named: str
) -> None:
    base = tmp_path / "journal.jsonl.base.json"
    data = {"size": 3, "range": ["ab" * 32, "cd" * 32], "last": "ef" * 32}
    data[field] = value
    base.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(OperationFailed) as raised:
        read_base(base)
    assert str(raised.value).startswith(f"audit base file {base} is damaged: ")
    assert named in str(raised.value)
    if field != "size":
        assert f"{base}: {field}" in str(raised.value)
