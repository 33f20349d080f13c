"""Inclusion proofs of single events, checkable by hand against a signed checkpoint."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from dcops.audit.checkpoint import latest, load_or_create_key, load_public_key, sign, signature_ok
from dcops.audit.journal import Journal
from dcops.audit.proofs import prove
from dcops.audit.recorder import audited
from dcops.core.errors import InputError, OperationFailed
from dcops.core.identity import Actor
from dcops.core.site import Site


def record(site: Site, actor: Actor, count: int) -> None:
    for n in range(count):
        with audited(site, actor, action="configure.run", target=f"host/leaf{n}"):
            pass


def by_hand(bundle: dict[str, object]) -> bool:
    """The procedure of docs/audit-proofs.md, step by step."""
    node = hashlib.sha256(b"\x00" + str(bundle["event"]).encode("utf-8")).digest()
    index, last = int(str(bundle["index"])), int(str(bundle["tree_size"])) - 1
    for sibling_hex in bundle["proof"]:  # type: ignore[attr-defined]
        sibling = bytes.fromhex(sibling_hex)
        if index % 2 == 1 or index == last:
            node = hashlib.sha256(b"\x01" + sibling + node).digest()
            while index % 2 == 0 and index != 0:
                index, last = index // 2, last // 2
        else:
            node = hashlib.sha256(b"\x01" + node + sibling).digest()
        index, last = index // 2, last // 2
    return last == 0 and node.hex() == bundle["checkpoint"]["root"]  # type: ignore[index]


def test_every_event_is_proven_against_the_latest_checkpoint(
    site: Site, actor: Actor, journal: Journal
) -> None:
    record(site, actor, 6)
    checkpoint = latest(journal)
    assert checkpoint is not None and checkpoint.size == 12
    for ident in range(12):
        proof = prove(journal, ident, checkpoint)
        bundle = json.loads(json.dumps(proof.as_dict()))
        assert json.loads(bundle["event"])["id"] == ident
        assert by_hand(bundle)
        tampered = dict(bundle, event=bundle["event"].replace("configure.run", "configure.none"))
        assert not by_hand(tampered)
    assert signature_ok(checkpoint, load_public_key(journal.public_key))
    body = {k: v for k, v in proof.as_dict()["checkpoint"].items() if k != "signature"}
    assert base64.b64decode(proof.as_dict()["checkpoint"]["signature"])
    assert json.dumps(body, sort_keys=True, separators=(",", ":")).encode() == checkpoint.body()


def test_the_stored_levels_follow_the_journal_as_it_grows(
    site: Site, actor: Actor, journal: Journal
) -> None:
    record(site, actor, 3)
    first = latest(journal)
    assert first is not None
    assert prove(journal, 5, first).holds()
    record(site, actor, 5)
    second = latest(journal)
    assert second is not None and second.size == 16
    assert by_hand(prove(journal, 15, second).as_dict())
    assert by_hand(prove(journal, 2, first).as_dict())


def test_a_damaged_level_cache_is_rebuilt_not_believed(
    site: Site, actor: Actor, journal: Journal
) -> None:
    record(site, actor, 4)
    checkpoint = latest(journal)
    assert checkpoint is not None
    prove(journal, 0, checkpoint)
    level = journal.folder / "journal.jsonl.levels" / "level-01.bin"
    level.write_bytes(b"\xff" * level.stat().st_size)
    assert by_hand(prove(journal, 0, checkpoint).as_dict())


def test_an_altered_event_has_no_proof(site: Site, actor: Actor, journal: Journal) -> None:
    record(site, actor, 2)
    checkpoint = latest(journal)
    assert checkpoint is not None
    text = journal.path.read_text(encoding="utf-8").replace("leaf0", "leaf9", 1)
    journal.path.write_text(text, encoding="utf-8")
    with pytest.raises(OperationFailed, match="was altered"):
        prove(journal, 0, checkpoint)
    with pytest.raises(InputError, match="newer than the checkpoint"):
        prove(journal, 4, checkpoint)


def test_a_proof_against_a_checkpoint_signed_by_another_key_is_refused(
    site: Site, actor: Actor, journal: Journal, tmp_path: Path
) -> None:
    record(site, actor, 2)
    checkpoint = latest(journal)
    assert checkpoint is not None
    other = load_or_create_key(tmp_path / "other.key")
    impostor = sign(other, checkpoint.origin, checkpoint.size, checkpoint.root, checkpoint.prev)
    trusted = load_public_key(journal.public_key)
    assert prove(journal, 1, checkpoint, trusted).holds()
    with pytest.raises(OperationFailed, match="not signed by the trusted key"):
        prove(journal, 1, impostor, trusted)


def test_a_bundle_from_elsewhere_is_checked_against_the_checkpoint_kept_here(
    site: Site, actor: Actor, journal: Journal, tmp_path: Path
) -> None:
    from dcops.audit.proofs import check_bundle

    record(site, actor, 3)
    kept = latest(journal)
    assert kept is not None
    trusted = load_public_key(journal.public_key)
    bundle = json.loads(json.dumps(prove(journal, 2, kept, trusted).as_dict()))
    assert check_bundle(bundle, kept, trusted).index == 2
    assert check_bundle(bundle, None, None).holds()  # the bundle's own checkpoint, no key

    altered = dict(bundle, event=bundle["event"].replace("configure.run", "configure.none"))
    with pytest.raises(OperationFailed, match="does not lead to the root"):
        check_bundle(altered, kept, trusted)
    record(site, actor, 1)
    newer = latest(journal)
    assert newer is not None and newer.size > kept.size
    other_head = json.loads(json.dumps(prove(journal, 2, newer, trusted).as_dict()))
    with pytest.raises(OperationFailed, match="not the one kept"):
        check_bundle(other_head, kept, trusted)  # a proof against another tree head
    impostor_key = load_or_create_key(tmp_path / "other.key").public_key()
    with pytest.raises(OperationFailed, match="not signed by the trusted key"):
        check_bundle(bundle, kept, impostor_key)
    with pytest.raises(OperationFailed, match="malformed"):
        check_bundle(dict(bundle, proof=["zz"]), kept, trusted)


def test_a_checkpoint_anyone_could_sign_never_makes_the_tree_rehash(
    site: Site, actor: Actor, journal: Journal, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dcops.audit import proofs

    record(site, actor, 2)
    checkpoint = latest(journal)
    assert checkpoint is not None
    mine = load_or_create_key(tmp_path / "caller.key")
    made_up = sign(mine, checkpoint.origin, checkpoint.size, b"\x01" * 32, checkpoint.prev)
    assert prove(journal, 1, checkpoint).holds()  # the tree's levels are stored and current
    rebuilt: list[Journal] = []
    monkeypatch.setattr(proofs, "forget_levels", rebuilt.append)
    with pytest.raises(OperationFailed, match="does not lead to the root"):
        prove(journal, 1, made_up, rebuild=False)
    assert rebuilt == []  # the cached tree was kept, not thrown away and rehashed
    with pytest.raises(OperationFailed, match="does not lead to the root"):
        prove(journal, 1, made_up)
    assert rebuilt == [journal]  # a proof of this log's own checkpoints still rebuilds once
