"""Cutting the tail of the journal (with or without its checkpoints) is caught by the witness."""

from __future__ import annotations

from pathlib import Path

import pytest

from dcops.audit.journal import Journal
from dcops.audit.recorder import audited
from dcops.audit.verification import Verification, trusted_key, verify
from dcops.audit.witness import latest_line
from dcops.core.errors import InputError
from dcops.core.identity import Actor
from dcops.core.site import Site


def record(site: Site, actor: Actor, journal: Journal, count: int) -> None:
    for n in range(count):
        with audited(
            site, actor, action="tenancy.approve", target=f"tenancy/t{n}", journal=journal
        ):
            pass


def check(journal: Journal) -> Verification:
    return verify(journal, (), trusted_key(journal, None))


def cut_tail(journal: Journal, events: int, checkpoints: int) -> None:
    """What an intruder with write access to the state dir does: keep a verifying prefix."""
    kept = journal.path.read_bytes().splitlines(keepends=True)[:events]
    journal.path.write_bytes(b"".join(kept))
    signed = journal.checkpoints.read_bytes().splitlines(keepends=True)[:checkpoints]
    journal.checkpoints.write_bytes(b"".join(signed))


def without_witness(site: Site) -> Journal:
    plain = Journal.of(site)
    return Journal(plain.path, plain.key, plain.origin, witness=None)


def test_the_example_site_keeps_a_witness_outside_the_state_dir(site: Site) -> None:
    journal = Journal.of(site)
    assert journal.witness is not None
    assert not journal.witness.is_relative_to(site.paths.state.resolve())


def test_every_checkpoint_reaches_the_witness(site: Site, actor: Actor) -> None:
    journal = Journal.of(site)
    record(site, actor, journal, 3)
    assert journal.witness is not None
    assert journal.witness.read_bytes() == journal.checkpoints.read_bytes()
    result = check(journal)
    assert result.ok, result.findings
    assert result.witness_size == 6 and not result.warnings


def test_a_cut_tail_verifies_without_a_witness_but_says_it_cannot_tell(
    site: Site, actor: Actor
) -> None:
    journal = without_witness(site)
    record(site, actor, journal, 3)
    cut_tail(journal, events=4, checkpoints=2)
    result = check(journal)
    assert result.ok  # nothing in the state dir remembers the cut events...
    assert result.warnings and "cannot be detected" in result.warnings[0]  # ...and it says so


def test_a_cut_tail_with_its_checkpoints_is_caught_by_the_witness(site: Site, actor: Actor) -> None:
    journal = Journal.of(site)
    record(site, actor, journal, 3)
    cut_tail(journal, events=4, checkpoints=2)
    result = check(journal)
    assert not result.ok
    assert any("signed 6 events but the journal holds 4" in str(f) for f in result.findings)


def test_deleting_journal_and_checkpoints_is_caught(site: Site, actor: Actor) -> None:
    journal = Journal.of(site)
    record(site, actor, journal, 2)
    journal.path.unlink()
    journal.checkpoints.unlink()
    result = check(journal)
    assert not result.ok
    assert any("journal holds 0" in str(f) for f in result.findings)


def test_a_deleted_witness_is_caught(site: Site, actor: Actor) -> None:
    journal = Journal.of(site)
    record(site, actor, journal, 1)
    assert journal.witness is not None
    journal.witness.unlink()
    result = check(journal)
    assert not result.ok
    assert "witness" in str(result.findings[0]) and "missing" in str(result.findings[0])


def test_a_fresh_site_with_a_witness_verifies(site: Site) -> None:
    result = check(Journal.of(site))
    assert result.ok, result.findings


def test_a_half_written_witness_line_is_ignored(site: Site, actor: Actor) -> None:
    journal = Journal.of(site)
    record(site, actor, journal, 2)
    assert journal.witness is not None
    whole = latest_line(journal.witness)
    with journal.witness.open("ab") as handle:
        handle.write(b'{"origin":"dcops/gdc","si')
    assert latest_line(journal.witness) == whole
    assert check(journal).ok


def test_a_witness_inside_the_state_dir_is_refused(site: Site) -> None:
    settings = site.config.audit.model_copy(update={"witness": ".dcops/audit/witness.jsonl"})
    config = site.config.model_copy(update={"audit": settings})
    inside = site.model_copy(update={"config": config})
    with pytest.raises(InputError, match="inside the state dir"):
        Journal.of(inside)


def test_an_unwritable_witness_stops_the_change_before_it_starts(
    site: Site, actor: Actor, tmp_path: Path
) -> None:
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the witness folder should be")
    plain = Journal.of(site)
    journal = Journal(plain.path, plain.key, plain.origin, witness=blocked / "witness.jsonl")
    ran = False
    with (
        pytest.raises(InputError, match="witness"),
        audited(site, actor, action="tenancy.approve", target="tenancy/t", journal=journal),
    ):
        ran = True
    assert not ran and not journal.path.exists()
