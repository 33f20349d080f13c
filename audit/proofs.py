"""Inclusion proofs for single events, served from a persisted copy of the tree's levels.

The levels (and each event's byte offset) are kept under `<journal>.levels/`, extended from
where they stopped whenever the journal grew, and rebuilt when they do not match it. A proof
reads about 2·log2(n) hashes with pread, so it costs well under a millisecond at a million
events. The cache is never trusted: every proof is checked against a signed checkpoint.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dcops.audit.checkpoint import Checkpoint, signature_ok
from dcops.audit.journal import Journal
from dcops.audit.merkle import (
    HASH_SIZE,
    MerkleTree,
    hashes_from_hex,
    hashes_hex,
    leaf_hash,
    verify_inclusion,
)
from dcops.core.errors import InputError, OperationFailed

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

_OFFSET = struct.Struct("<Q")


class FileLevels:
    """Tree levels as append-only files of 32-byte hashes, read with pread."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._fds: dict[str, int] = {}
        self._pending: dict[int, bytearray] = {}  # appended nodes not yet written, per height
        self._written: dict[int, int] = {}  # nodes on disk, per height, while some are pending

    def _fd(self, name: str) -> int:
        fd = self._fds.get(name)
        if fd is None:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self.folder / name, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o640)
            self._fds[name] = fd
        return fd

    def count(self, height: int) -> int:
        """Nodes stored at this height (written or pending)."""
        return self._on_disk(height) + len(self._pending.get(height, b"")) // HASH_SIZE

    def _on_disk(self, height: int) -> int:
        written = self._written.get(height)
        if written is None:
            written = os.fstat(self._fd(f"level-{height:02d}.bin")).st_size // HASH_SIZE
            self._written[height] = written
        return written

    def read(self, height: int, offset: int) -> bytes:
        """The node at this offset of the level."""
        on_disk = self._on_disk(height)
        if offset >= on_disk:
            start = (offset - on_disk) * HASH_SIZE
            return bytes(self._pending[height][start : start + HASH_SIZE])
        return os.pread(self._fd(f"level-{height:02d}.bin"), HASH_SIZE, offset * HASH_SIZE)

    def append(self, height: int, node: bytes) -> None:
        """Add the next node of a level (buffered until flush)."""
        self._on_disk(height)
        self._pending.setdefault(height, bytearray()).extend(node)

    def flush(self) -> None:
        """Write the pending nodes."""
        for height, data in self._pending.items():
            view = memoryview(data)
            fd = self._fd(f"level-{height:02d}.bin")
            while view:
                view = view[os.write(fd, view) :]
        self._pending.clear()
        self._written.clear()

    def truncate(self, height: int, count: int) -> None:
        """Keep the first count nodes of a level (call with nothing pending)."""
        os.ftruncate(self._fd(f"level-{height:02d}.bin"), count * HASH_SIZE)
        self._written.pop(height, None)

    def offset_of(self, position: int) -> tuple[int, int]:
        """Byte offset and length of the event at this position of the journal."""
        raw = os.pread(self._fd("offsets.bin"), 2 * _OFFSET.size, position * _OFFSET.size)
        start = _OFFSET.unpack_from(raw)[0]
        end = _OFFSET.unpack_from(raw, _OFFSET.size)[0]
        return start, end - start

    def add_offsets(self, offsets: list[int]) -> None:
        """Record where the next lines end (the first entry is where the journal starts)."""
        os.write(self._fd("offsets.bin"), b"".join(_OFFSET.pack(o) for o in offsets))

    def offsets(self) -> int:
        """How many offsets are stored."""
        return os.fstat(self._fd("offsets.bin")).st_size // _OFFSET.size

    def truncate_offsets(self, count: int) -> None:
        """Keep the first count offsets."""
        os.ftruncate(self._fd("offsets.bin"), count * _OFFSET.size)

    def close(self) -> None:
        """Write what is pending and close the level files."""
        self.flush()
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()


class StoredTree(MerkleTree):
    """A MerkleTree whose levels live in FileLevels instead of memory."""

    def __init__(self, journal: Journal, levels: FileLevels) -> None:
        super().__init__(journal.base().compact)
        self.store = levels

    def _put(self, height: int, index: int, node: bytes) -> None:
        if (height, index) in self._pruned:
            return
        self.store.append(height, node)

    def _stored(self, height: int, offset: int) -> bytes:
        """The node at this offset of a level, read from the level files."""
        return self.store.read(height, offset)


def _levels_folder(journal: Journal) -> Path:
    return journal.folder / (journal.path.name + ".levels")


def forget_levels(journal: Journal) -> None:
    """Drop the persisted levels (after a prune rewrote the journal)."""
    shutil.rmtree(_levels_folder(journal), ignore_errors=True)


def open_tree(journal: Journal) -> StoredTree:
    """The tree over the journal, brought up to date with it; call with the journal lock held."""
    folder = _levels_folder(journal)
    meta_path = folder / "meta.json"
    base = journal.base()
    length = journal.path.stat().st_size if journal.path.exists() else 0
    meta = _meta(meta_path)
    if meta is None or meta["base"] != base.size or meta["bytes"] > length:
        forget_levels(journal)
        meta = {"base": base.size, "size": base.size, "bytes": 0}
    tree = StoredTree(journal, FileLevels(folder))
    tree.size = int(meta["size"])
    if not _trim(tree, base.size):
        tree.store.close()
        forget_levels(journal)
        meta = {"base": base.size, "size": base.size, "bytes": 0}
        tree = StoredTree(journal, FileLevels(folder))
    if meta["bytes"] < length:
        _extend(tree, journal, int(meta["bytes"]), base.size)
        meta = {"base": base.size, "size": tree.size, "bytes": _covered(tree, base.size)}
        temporary = meta_path.with_suffix(".tmp")
        temporary.write_text(json.dumps(meta), encoding="utf-8")
        os.replace(temporary, meta_path)
    return tree


def _meta(path: Path) -> dict[str, int] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {k: int(data[k]) for k in ("base", "size", "bytes")}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _trim(tree: StoredTree, base: int) -> bool:
    """Cut what a crash left beyond the size the meta file vouches for; False if files are short."""
    expected = {h: (tree.size >> h) - (base >> h) for h in range(max(tree.size.bit_length(), 1))}
    counts = {h: tree.store.count(h) for h in expected}
    offsets = tree.store.offsets()
    if any(counts[h] < n for h, n in expected.items()) or offsets < tree.size - base + 1:
        return False
    for height, count in expected.items():
        if counts[height] > count:
            tree.store.truncate(height, count)
    if offsets > tree.size - base + 1:
        tree.store.truncate_offsets(tree.size - base + 1)
    return True


def _covered(tree: StoredTree, base: int) -> int:
    if tree.size == base:
        return 0
    start, length = tree.store.offset_of(tree.size - base - 1)
    return start + length


def _extend(tree: StoredTree, journal: Journal, start: int, base: int) -> None:
    offsets: list[int] = [0] if tree.size == base else []
    position = start
    with journal.path.open("rb", buffering=1 << 20) as handle:
        handle.seek(start)
        for line in handle:
            if not line.endswith(b"\n"):
                break
            tree.append(leaf_hash(line[:-1]))
            position += len(line)
            offsets.append(position)
            if len(offsets) >= 65536:
                tree.store.add_offsets(offsets)
                offsets = []
    tree.store.add_offsets(offsets)
    tree.store.flush()


@dataclass(frozen=True)
class InclusionProof:
    """Evidence that one event is leaf `index` of the tree a signed checkpoint describes."""

    event: bytes
    index: int
    proof: list[bytes]
    checkpoint: Checkpoint

    @property
    def leaf(self) -> bytes:
        """SHA-256(0x00 || event)."""
        return leaf_hash(self.event)

    def holds(self) -> bool:
        """Whether the path leads from the event to the checkpoint's root."""
        return verify_inclusion(
            self.index, self.checkpoint.size, self.leaf, self.proof, self.checkpoint.root
        )

    def as_dict(self) -> dict[str, Any]:
        """The bundle an auditor can check by hand (docs/audit-proofs.md)."""
        return {
            "event": self.event.decode("utf-8"),
            "index": self.index,
            "tree_size": self.checkpoint.size,
            "leaf_hash": self.leaf.hex(),
            "proof": hashes_hex(self.proof),
            "checkpoint": self.checkpoint.as_dict(),
        }


def prove(
    journal: Journal,
    ident: int,
    checkpoint: Checkpoint,
    key: Ed25519PublicKey | None = None,
    rebuild: bool = True,
) -> InclusionProof:
    """The inclusion proof of event ident against the checkpoint; OperationFailed if it fails.

    With a key, the checkpoint's signature is checked first: a proof against a forged tree
    head proves nothing. rebuild=False: a proof that fails is not retried on a rebuilt cache
    (for checkpoints anyone may send, which must not make the server rehash its journal).
    """
    if key is not None and not signature_ok(checkpoint, key):
        raise OperationFailed(
            f"the checkpoint of size {checkpoint.size} ({checkpoint.time}) is not signed by the "
            "trusted key: it is forged or from another log"
        )
    if ident >= checkpoint.size:
        raise InputError(
            f"event {ident} is newer than the checkpoint of size {checkpoint.size} "
            f"({checkpoint.time}); run `dcops audit checkpoint` to sign it, then prove again"
        )
    base = journal.base().size
    if ident < base:
        raise InputError(f"event {ident} was pruned into {journal.archive}; its proof is there")
    result = _proof(journal, ident, checkpoint)
    if not result.holds() and rebuild:  # a damaged cache must not pass for a damaged journal
        forget_levels(journal)
        result = _proof(journal, ident, checkpoint)
    if not result.holds():
        raise OperationFailed(
            f"event {ident} does not lead to the root of the checkpoint of size "
            f"{checkpoint.size}: the journal was altered; run `dcops audit verify`"
        )
    return result


def check_bundle(
    bundle: dict[str, Any], against: Checkpoint | None, key: Ed25519PublicKey | None
) -> InclusionProof:
    """Check a proof bundle another host made, here: against the checkpoint one kept (else the
    bundle's own), signed by the key one trusts (if given); OperationFailed if it fails."""
    where = "the server's proof bundle"
    try:
        sent = Checkpoint.from_dict(bundle["checkpoint"], f"{where} (field checkpoint)")
        found = InclusionProof(
            event=str(bundle["event"]).encode("utf-8"),
            index=int(bundle["index"]),
            proof=hashes_from_hex(bundle["proof"], lambda i: f"{where}: proof[{i}]"),
            checkpoint=against or sent,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise OperationFailed(f"{where} is malformed ({exc})") from None
    if (sent.size, sent.root) != (found.checkpoint.size, found.checkpoint.root):
        raise OperationFailed(
            f"{where} is against the checkpoint of size {sent.size}, not the one kept "
            f"(size {found.checkpoint.size}): the server did not prove what was asked"
        )
    if key is not None and not signature_ok(found.checkpoint, key):
        raise OperationFailed(
            f"the checkpoint of size {found.checkpoint.size} ({found.checkpoint.time}) is not "
            "signed by the trusted key: it is forged or from another log"
        )
    if not found.holds():
        raise OperationFailed(
            f"event {found.index}'s proof does not lead to the root of the checkpoint of size "
            f"{found.checkpoint.size}: the server's journal or its answer was altered"
        )
    return found


def event_at(journal: Journal, ident: int) -> dict[str, Any]:
    """The event with this id, read at its stored offset (no scan of the journal)."""
    base = journal.base().size
    if ident < base:
        raise InputError(f"event {ident} was pruned into {journal.archive}")
    with journal.locked():
        tree = open_tree(journal)
    try:
        if not base <= ident < tree.size:
            raise InputError(
                f"no audit event {ident}; the journal holds events {base} to {tree.size - 1} "
                "(`dcops audit log` lists them)"
            )
        start, length = tree.store.offset_of(ident - base)
    finally:
        tree.store.close()
    with journal.path.open("rb") as handle:
        handle.seek(start)
        line = handle.read(length)
    try:
        event = json.loads(line)
    except ValueError:
        event = None
    if not isinstance(event, dict) or event.get("id") != ident:
        raise OperationFailed(
            f"journal line of event {ident} is not that event: run `dcops audit verify`"
        )
    return event


def _proof(journal: Journal, ident: int, checkpoint: Checkpoint) -> InclusionProof:
    with journal.locked():
        tree = open_tree(journal)
    try:
        if checkpoint.size > tree.size:
            raise OperationFailed(
                f"the checkpoint signs {checkpoint.size} events but the journal holds "
                f"{tree.size}; run `dcops audit verify`"
            )
        start, length = tree.store.offset_of(ident - tree.base.size)
        with journal.path.open("rb") as handle:
            handle.seek(start)
            event = handle.read(length).rstrip(b"\n")
        path = tree.inclusion_proof(ident, checkpoint.size)
    finally:
        tree.store.close()
    return InclusionProof(event, ident, path, checkpoint)
