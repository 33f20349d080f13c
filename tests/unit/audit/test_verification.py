"""Every way of tampering with the journal or its checkpoints is caught and the first bad event named."""

from __future__ import annotations

import hashlib
import itertools
import json
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dcops.audit.checkpoint import (
    load_or_create_key,
    read_checkpoints,
    sign,
    write_checkpoint,
)
from dcops.audit.event import draft
from dcops.audit.journal import Journal
from dcops.audit.recorder import audited
from dcops.audit.verification import Tampered, Verification, trusted_key, verify
from dcops.core.identity import Actor
from dcops.core.site import Site

OPERATIONS = 4  # 8 events, checkpoints at sizes 2, 4, 6 and 8


@pytest.fixture
def filled(site: Site, actor: Actor, journal: Journal) -> Journal:
    for n in range(OPERATIONS):
        with audited(
            site, actor, action="tenancy.approve", target=f"tenancy/t{n}", parameters={"n": n}
        ) as op:
            op.attach(diff=f"+ approved t{n}")
    return journal


def check(journal: Journal, *external: Path) -> Verification:
    return verify(journal, external, trusted_key(journal, None))


def lines(journal: Journal) -> list[bytes]:
    return journal.path.read_bytes().splitlines(keepends=True)


def rewrite(journal: Journal, new: list[bytes]) -> None:
    journal.path.write_bytes(b"".join(new))


def edit(line: bytes, **changes: object) -> bytes:
    event = json.loads(line)
    event.update(changes)
    return (
        json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        + b"\n"
    )


def test_an_untouched_journal_verifies(filled: Journal) -> None:
    result = check(filled)
    assert result.ok, result.findings
    assert result.size == 8 and result.latest is not None and result.latest.size == 8
    assert [c.checkpoint.size for c in result.checkpoints] == [2, 4, 6, 8]
    assert result.unsigned == 0


def test_a_modified_event_is_named(filled: Journal) -> None:
    events = lines(filled)
    events[3] = edit(events[3], action="tenancy.reject")
    rewrite(filled, events)
    result = check(filled)
    assert not result.ok
    assert result.first_bad is not None and result.first_bad.event == 3
    assert "event 3 (journal line 4): altered" in str(result.first_bad)


def test_a_modified_last_event_is_caught_by_the_checkpoint(filled: Journal) -> None:
    events = lines(filled)
    events[7] = edit(events[7], diff="+ nothing to see")
    rewrite(filled, events)
    first = check(filled).first_bad
    assert first is not None and first.event == 7
    assert "does not match the checkpoint of size 8" in first.message


def test_a_deleted_event_is_named(filled: Journal) -> None:
    events = lines(filled)
    del events[3]
    rewrite(filled, events)
    first = check(filled).first_bad
    assert first is not None and first.event == 3 and "deleted" in first.message


def test_an_inserted_event_is_named(filled: Journal) -> None:
    events = lines(filled)
    events.insert(3, events[2])
    rewrite(filled, events)
    first = check(filled).first_bad
    assert first is not None and first.event == 3 and "inserted" in first.message


def test_reordered_events_are_named(filled: Journal) -> None:
    events = lines(filled)
    events[4], events[5] = events[5], events[4]
    rewrite(filled, events)
    first = check(filled).first_bad
    assert first is not None and first.event == 4


def test_a_truncated_journal_is_caught(filled: Journal) -> None:
    rewrite(filled, lines(filled)[:5])
    result = check(filled)
    assert result.first_bad is not None and result.first_bad.event == 5
    assert "truncated" in result.first_bad.message


def test_a_journal_cut_mid_line_is_caught(filled: Journal) -> None:
    data = filled.path.read_bytes()
    filled.path.write_bytes(data[:-40])
    first = check(filled).first_bad
    assert first is not None and first.event == 7 and "cut short" in first.message


def checkpoint_lines(journal: Journal) -> list[bytes]:
    return journal.checkpoints.read_bytes().splitlines(keepends=True)


def test_a_forged_checkpoint_is_caught(filled: Journal) -> None:
    cps = checkpoint_lines(filled)
    forged = json.loads(cps[1])
    forged["root"] = "ab" * 32
    cps[1] = json.dumps(forged).encode() + b"\n"
    filled.checkpoints.write_bytes(b"".join(cps))
    result = check(filled)
    assert not result.ok
    assert any("checkpoints.jsonl:2" in str(f) and "forged" in str(f) for f in result.findings)


def test_a_checkpoint_signed_by_another_key_is_caught(filled: Journal, tmp_path: Path) -> None:
    other = load_or_create_key(tmp_path / "other.key")
    state = filled.scan()
    last = checkpoint_lines(filled)[-1].rstrip(b"\n")
    import hashlib

    impostor = sign(
        other, filled.origin, state.size, state.compact.root(), hashlib.sha256(last).hexdigest()
    )
    with filled.checkpoints.open("ab") as handle:
        handle.write(impostor.line() + b"\n")
    result = check(filled)
    assert any("signed by another key" in str(f) for f in result.findings)


def test_a_checkpoint_larger_than_the_log_is_caught(filled: Journal) -> None:
    key = load_or_create_key(filled.key)
    import hashlib

    last = checkpoint_lines(filled)[-1].rstrip(b"\n")
    beyond = sign(key, filled.origin, 20, bytes(32), hashlib.sha256(last).hexdigest())
    with filled.checkpoints.open("ab") as handle:
        handle.write(beyond.line() + b"\n")
    result = check(filled)
    assert any("signed 20 events but the journal holds 8" in str(f) for f in result.findings)
    assert result.first_bad is not None and result.first_bad.event == 8


def test_a_removed_checkpoint_breaks_the_chain(filled: Journal) -> None:
    cps = checkpoint_lines(filled)
    del cps[1]
    filled.checkpoints.write_bytes(b"".join(cps))
    result = check(filled)
    assert any("does not chain" in str(f) for f in result.findings)


def test_a_checkpoint_of_a_diverged_copy_is_caught(
    filled: Journal, site: Site, actor: Actor, tmp_path: Path
) -> None:
    kept = tmp_path / "kept.json"
    kept.write_bytes(checkpoint_lines(filled)[-1])
    fork_dir = tmp_path / "fork"
    shutil.copytree(filled.folder, fork_dir)
    fork = Journal(fork_dir / filled.path.name, fork_dir / filled.key.name, filled.origin)
    events = lines(fork)
    events[7] = edit(events[7], diff="+ another story")
    rewrite(fork, events)
    fork.forget_cache()
    split_view = write_checkpoint(fork)  # same key, different history
    other = tmp_path / "split.json"
    other.write_bytes(split_view.line())
    with audited(site, actor, action="tenancy.approve", target="tenancy/t9"):
        pass
    assert check(filled, kept).ok
    result = check(filled, other)
    assert not result.ok
    assert any(str(other) in str(f) and "root differs" in str(f) for f in result.findings)


def test_external_checkpoints_are_read_from_what_audit_checkpoint_prints(
    filled: Journal, tmp_path: Path
) -> None:
    (latest,) = list(read_checkpoints(filled.checkpoints))[-1:]
    kept = tmp_path / "kept.json"
    kept.write_text(json.dumps(latest.as_dict(), indent=2))
    assert check(filled, kept).ok


def build(folder: Path, operations: int) -> Journal:
    """A journal of `operations` intent/result pairs, each followed by a checkpoint."""
    journal = Journal(folder / "journal.jsonl", origin="dcops/test")
    actor = {"user": "zhangwei", "name": "张伟", "host": "h", "roles": ["ops"]}
    for n in range(operations):
        for phase, status in (("intent", "pending"), ("result", "success")):
            journal.append(
                draft(
                    phase=phase,
                    action="configure.run",
                    target=f"host/leaf{n}",
                    actor=actor,
                    parameters={"n": n},
                    correlation=f"c{n}",
                    timezone="UTC",
                    status=status,
                )
            )
        write_checkpoint(journal)
    return journal


MUTATIONS = ("modify", "delete", "duplicate", "swap", "truncate")


@settings(max_examples=30, deadline=None)
@given(operations=st.integers(1, 6), data=st.data())
def test_any_single_mutation_is_caught_and_located(operations: int, data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as folder:
        journal = build(Path(folder), operations)
        events = lines(journal)
        n = len(events)
        kind = data.draw(st.sampled_from(MUTATIONS))
        i = data.draw(st.integers(0, n - 2 if kind == "swap" else n - 1))
        expected = {i}
        if kind == "modify":
            events[i] = edit(events[i], action="configure.none")
        elif kind == "delete":
            del events[i]
        elif kind == "duplicate":
            events.insert(i, events[i])
            expected = {i, i + 1}
        elif kind == "swap":
            events[i], events[i + 1] = events[i + 1], events[i]
        else:
            events = events[:i]
        rewrite(journal, events)
        result = check(journal)
        assert not result.ok, (kind, i)
        assert result.first_bad is not None and result.first_bad.event in expected, (
            kind,
            i,
            str(result.first_bad),
        )


def test_every_signature_can_be_checked_on_its_own(filled: Journal) -> None:
    result = verify(filled, (), trusted_key(filled, None), every_signature=True)
    assert result.ok and len(result.checkpoints) == OPERATIONS


def test_the_json_report_of_an_intact_journal(filled: Journal) -> None:
    result = check(filled)
    report = result.as_dict()
    latest = report.pop("latest_checkpoint")
    witness = report.pop("witness")
    assert witness["path"].endswith("checkpoints.jsonl") and witness["size"] == 8
    assert report == {
        "ok": True,
        "events": 8,
        "tree_size": 8,
        "pruned": 0,
        "root": result.root.hex(),
        "first_bad_event": None,
        "first_bad": None,
        "findings": [],
        "unsigned_events": 0,
        "checkpoints_checked": 4,
        "checkpoints_failed": [],
        "warnings": [],
    }
    assert latest["size"] == 8 and latest["root"] == result.root.hex()
    assert latest["origin"] == filled.origin and latest["signature"]


def test_the_json_report_names_the_altered_event_and_the_failed_checkpoint(
    filled: Journal,
) -> None:
    events = lines(filled)
    events[3] = edit(events[3], action="tenancy.reject")
    rewrite(filled, events)
    result = check(filled)
    report = result.as_dict()
    assert report["ok"] is False and report["first_bad_event"] == 3
    assert any(f.startswith("event 3 (journal line 4): altered") for f in report["findings"])
    failed = report["checkpoints_failed"]
    assert [(c["source"], c["size"], c["ok"]) for c in failed] == [
        ("checkpoints.jsonl:2", 4, False),
        ("checkpoints.jsonl:3", 6, False),
        ("checkpoints.jsonl:4", 8, False),
    ]
    assert all("root differs" in c["note"] and len(c["root"]) == 64 and c["time"] for c in failed)
    assert report["latest_checkpoint"]["size"] == 2
    assert report["tree_size"] == report["events"] == 8
    assert report["unsigned_events"] == 6
    error = Tampered(result.as_dict())
    assert error.details() == report["findings"]
    assert "first bad: event 3 (journal line 4)" in str(error)


def findings_of(result: Verification, line: int) -> list[str]:
    return [str(f) for f in result.findings if f"checkpoints.jsonl:{line} " in str(f)]


def test_a_checkpoint_whose_link_was_rewritten_is_named_forged_not_missing(filled: Journal) -> None:
    cps = checkpoint_lines(filled)
    altered = json.loads(cps[1])
    altered["prev"] = "cd" * 32
    cps[1] = json.dumps(altered).encode() + b"\n"
    filled.checkpoints.write_bytes(b"".join(cps))
    result = check(filled)
    assert findings_of(result, 2) == [
        f"checkpoint checkpoints.jsonl:2 (size 4, {altered['time']}): "
        "forged: its signature does not verify"
    ]


def test_a_forged_first_checkpoint_is_named_by_the_one_after_it(filled: Journal) -> None:
    cps = checkpoint_lines(filled)
    forged = json.loads(cps[0])
    forged["root"] = "ab" * 32
    cps[0] = json.dumps(forged).encode() + b"\n"
    filled.checkpoints.write_bytes(b"".join(cps))
    result = check(filled)
    assert findings_of(result, 1) == [
        f"checkpoint checkpoints.jsonl:1 (size 2, {forged['time']}): "
        "forged: its signature does not verify"
    ]
    assert findings_of(result, 2) == []


def test_a_removed_first_checkpoint_breaks_the_chain_at_the_new_first(filled: Journal) -> None:
    cps = checkpoint_lines(filled)
    filled.checkpoints.write_bytes(b"".join(cps[1:]))
    [finding] = findings_of(check(filled), 1)
    assert "(size 4," in finding and "does not chain to the checkpoint before it" in finding


def test_each_checkpoint_records_the_hash_of_the_one_before(filled: Journal) -> None:
    chain = list(read_checkpoints(filled.checkpoints))
    assert len(chain) == OPERATIONS
    for before, after in itertools.pairwise(chain):
        assert after.prev == before.chain_hash()
    raw = checkpoint_lines(filled)
    assert chain[1].prev == hashlib.sha256(raw[0].rstrip(b"\n")).hexdigest()
