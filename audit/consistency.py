"""Checkpoints kept elsewhere against a journal's newest one: the server proves, the auditor checks.

An auditor who kept a checkpoint (and the public key) can ask a server for its newest signed
checkpoint and an RFC 6962 consistency proof between the two. Checked on the auditor's own
host, a proof that holds shows the server's signed history is the one the auditor kept,
extended; nothing the kept checkpoint covers was altered or removed, whatever the server says.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dcops.audit.checkpoint import Checkpoint, key_id, public_raw, signature_ok
from dcops.audit.merkle import PrunedError, hashes_from_hex, hashes_hex, verify_consistency
from dcops.audit.proofs import open_tree
from dcops.core.errors import InputError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from dcops.audit.journal import Journal
    from dcops.audit.verification import Kept


def links_to_head(
    journal: Journal, head: Checkpoint | None, kept: list[Kept]
) -> list[dict[str, Any]]:
    """For each kept checkpoint, the consistency proof between it and the head (None if none)."""
    if head is None:
        return []
    with journal.locked():
        tree = open_tree(journal)
    try:
        links = []
        for group in kept:
            for number, checkpoint in enumerate(group.checkpoints, start=1):
                old, new = sorted((checkpoint.size, head.size))
                link: dict[str, Any] = {
                    "source": f"{group.source}#{number}",
                    "size": checkpoint.size,
                    "proof": None,
                    "note": "",
                }
                if old == 0 or old == new:
                    link["proof"] = []
                elif new > tree.size:
                    link["note"] = f"signed {new} events but the journal holds {tree.size}"
                else:
                    try:
                        link["proof"] = hashes_hex(tree.consistency_proof(old, new))
                    except PrunedError:
                        link["note"] = "covers archived events only: no proof from the journal"
                links.append(link)
        return links
    finally:
        tree.store.close()


@dataclass
class HeadCheck:
    """What the auditor's host found: tampering, things it could not check, what held."""

    findings: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)


def check_against_head(
    kept: list[Kept],
    head_data: Any,
    links: Any,
    key: Ed25519PublicKey | None,
) -> HeadCheck:
    """Check the server's head and proofs here, with the auditor's key and kept checkpoints."""
    result = HeadCheck()
    flat = [
        (f"{group.source}#{number}", checkpoint)
        for group in kept
        for number, checkpoint in enumerate(group.checkpoints, start=1)
    ]
    if head_data is None:
        result.findings.append(
            "服务器没有已签名的检查点 / the server has no signed checkpoint: nothing shows that "
            "its journal holds the events your checkpoints signed"
        )
        return result
    head = Checkpoint.from_dict(head_data, "the server's newest checkpoint")
    if key is not None:
        _check_signature("the server's newest checkpoint", head, key, result)
        for source, checkpoint in flat:
            _check_signature(f"kept checkpoint {source}", checkpoint, key, result)
    if not isinstance(links, list) or len(links) != len(flat):
        raise InputError("the server's answer has no consistency proof for each kept checkpoint")
    for (source, checkpoint), link in zip(flat, links, strict=True):
        _check_link(source, checkpoint, head, link, result)
    return result


def _check_signature(
    what: str, checkpoint: Checkpoint, key: Ed25519PublicKey, result: HeadCheck
) -> None:
    trusted = key_id(public_raw(key))
    if checkpoint.key_id != trusted:
        result.findings.append(
            f"{what} (size {checkpoint.size}): signed by another key "
            f"({checkpoint.key_id}, not {trusted})"
        )
    elif not signature_ok(checkpoint, key):
        result.findings.append(
            f"{what} (size {checkpoint.size}): forged: its signature does not verify"
        )


def _check_link(
    source: str, checkpoint: Checkpoint, head: Checkpoint, link: Any, result: HeadCheck
) -> None:
    """One kept checkpoint against the head, by the proof the server sent."""
    what = f"kept checkpoint {source} (size {checkpoint.size}, {checkpoint.time})"
    proof_hex = link.get("proof") if isinstance(link, dict) else None
    if proof_hex is None:
        note = str(link.get("note", ""))[:200] if isinstance(link, dict) else ""
        if checkpoint.size > head.size:
            result.findings.append(
                f"{what}: the server's newest checkpoint signs only {head.size} events: "
                "events your checkpoint signed were removed"
            )
        else:
            result.warnings.append(f"{what}: not checked here ({note or 'no proof sent'})")
        return
    if not isinstance(proof_hex, list) or len(proof_hex) > 128:
        raise InputError(f"the server's consistency proof for {source} is not a list of hashes")
    proof = hashes_from_hex(proof_hex, lambda i: f"the server's proof for {source}, hash {i}")
    old, new = sorted((checkpoint, head), key=lambda c: c.size)
    if verify_consistency(old.size, new.size, old.root, new.root, proof):
        result.held.append(
            f"{what}: the server's newest checkpoint (size {head.size}) is consistent with it"
        )
        return
    result.findings.append(
        f"{what}: the server's newest checkpoint (size {head.size}) is not consistent with it: "
        "the journal the server signs is not the history you kept"
    )
