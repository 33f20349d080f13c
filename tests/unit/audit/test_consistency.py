"""Kept checkpoints against a journal's newest one: proofs made by the server, checked elsewhere."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dcops.audit.checkpoint import (
    checkpoint_now,
    latest,
    load_or_create_key,
    load_public_key,
    public_key_from_pem,
    public_pem,
    sign,
)
from dcops.audit.consistency import check_against_head, links_to_head
from dcops.audit.journal import Journal
from dcops.audit.recorder import audited
from dcops.audit.verification import Kept, verify
from dcops.core.errors import InputError
from dcops.core.identity import Actor
from dcops.core.site import Site


def record(site: Site, actor: Actor, count: int) -> None:
    for n in range(count):
        with audited(site, actor, action="configure.run", target=f"host/leaf{n}"):
            pass


def answer(journal: Journal, kept: list[Kept]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """What the server sends back: its newest checkpoint and the proofs, through JSON."""
    head = checkpoint_now(journal)
    links = links_to_head(journal, head, kept)
    return json.loads(json.dumps(head.as_dict())), json.loads(json.dumps(links))


@pytest.fixture
def kept(site: Site, actor: Actor, journal: Journal) -> Kept:
    """Two checkpoints an auditor kept (after 3 and 5 operations); then 4 more operations."""
    record(site, actor, 3)
    first = checkpoint_now(journal)
    record(site, actor, 2)
    second = checkpoint_now(journal)
    record(site, actor, 4)
    return Kept("kept.json", [first, second])


def test_a_journal_that_grew_is_consistent_with_every_kept_checkpoint(
    journal: Journal, kept: Kept
) -> None:
    head, links = answer(journal, [kept])
    assert head["size"] == 18 and [link["size"] for link in links] == [6, 10]
    key = load_public_key(journal.public_key)
    found = check_against_head([kept], head, links, key)
    assert found.findings == [] and found.warnings == []
    assert len(found.held) == 2 and "kept checkpoint kept.json#1 (size 6" in found.held[0]
    assert all("(size 18) is consistent with it" in line for line in found.held)


def test_every_altered_proof_hash_is_caught_here(journal: Journal, kept: Kept) -> None:
    head, links = answer(journal, [kept])
    key = load_public_key(journal.public_key)
    for which, link in enumerate(links):
        for position in range(len(link["proof"])):
            bad = [dict(x, proof=list(x["proof"])) for x in links]
            digits = bad[which]["proof"][position]
            bad[which]["proof"][position] = ("0" if digits[0] != "0" else "1") + digits[1:]
            found = check_against_head([kept], head, bad, key)
            assert len(found.findings) == 1, (which, position)
            assert "is not consistent with it" in found.findings[0]


def test_a_head_of_another_history_is_caught_even_with_its_own_proofs(
    site: Site, actor: Actor, journal: Journal, kept: Kept, tmp_path: Path
) -> None:
    # The server rewrote the history after the kept checkpoints and signed it with the real key.
    private = load_or_create_key(journal.key)
    head, links = answer(journal, [kept])
    forged = sign(private, head["origin"], head["size"], bytes(32), head["prev"])
    found = check_against_head([kept], forged.as_dict(), links, load_public_key(journal.public_key))
    assert len(found.findings) == 2
    assert all(
        "the journal the server signs is not the history you kept" in f for f in found.findings
    )


def test_a_head_signed_with_another_key_or_forged_is_a_finding(
    journal: Journal, kept: Kept, tmp_path: Path
) -> None:
    head, links = answer(journal, [kept])
    other = load_or_create_key(tmp_path / "other.key")
    found = check_against_head([kept], head, links, other.public_key())
    assert len(found.findings) == 3  # the head and both kept checkpoints
    assert found.findings[0].startswith(
        "the server's newest checkpoint (size 18): signed by another key"
    )
    forged = dict(head, time="2020-01-01T00:00:00Z")
    found = check_against_head([kept], forged, links, load_public_key(journal.public_key))
    assert found.findings == [
        "the server's newest checkpoint (size 18): forged: its signature does not verify"
    ]


def test_a_head_smaller_than_a_kept_checkpoint_means_events_were_removed(
    journal: Journal, kept: Kept
) -> None:
    head, _ = answer(journal, [kept])
    private = load_or_create_key(journal.key)
    small = sign(private, head["origin"], 8, bytes(32), head["prev"])
    links = [{"source": "kept.json#1", "size": 6, "proof": None, "note": ""},
             {"source": "kept.json#2", "size": 10, "proof": None, "note": ""}]  # fmt: skip
    found = check_against_head([kept], small.as_dict(), links, None)
    assert found.findings == [
        "kept checkpoint kept.json#2 (size 10, "
        + kept.checkpoints[1].time
        + "): the server's newest checkpoint signs only 8 events: events your checkpoint "
        "signed were removed"
    ]
    assert len(found.warnings) == 1 and "not checked here" in found.warnings[0]


def test_no_head_or_a_short_answer_is_not_taken_for_a_proof(journal: Journal, kept: Kept) -> None:
    found = check_against_head([kept], None, [], None)
    assert found.findings and "the server has no signed checkpoint" in found.findings[0]
    head, links = answer(journal, [kept])
    with pytest.raises(InputError, match="no consistency proof for each kept checkpoint"):
        check_against_head([kept], head, links[:1], None)


def test_the_servers_verification_takes_kept_checkpoints_in_memory(
    journal: Journal, kept: Kept, tmp_path: Path
) -> None:
    key = public_key_from_pem(public_pem(load_public_key(journal.public_key)).encode(), "key")
    assert verify(journal, [kept], key).ok
    different = sign(load_or_create_key(journal.key), "x", 6, bytes(32))
    result = verify(journal, [Kept("mine.json", [different])], key)
    assert not result.ok
    assert "checkpoint mine.json#1 (size 6" in str(result.findings[0])
    assert "root differs" in str(result.findings[0])
    latest_one = latest(journal)
    assert latest_one is not None and latest_one.size == 18
    with pytest.raises(InputError, match="field key is not a PEM public key"):
        public_key_from_pem(b"not a key", "field key")
