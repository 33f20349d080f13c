"""RFC 6962 Merkle tree hashing: tree heads, inclusion and consistency proofs and their checks."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from hashlib import sha256

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
HASH_SIZE = 32
EMPTY_ROOT = sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    """SHA-256(0x00 || data): the hash of one leaf."""
    return sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right): the hash of an interior node."""
    return sha256(NODE_PREFIX + left + right).digest()


def _split(size: int) -> int:
    """The largest power of two smaller than size (size >= 2)."""
    return 1 << ((size - 1).bit_length() - 1)


class CompactRange:
    """The hashes of the perfect subtrees covering leaves [0, size): enough to extend the tree."""

    __slots__ = ("hashes", "size")

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if len(hashes) != size.bit_count():
            raise ValueError(f"a compact range of size {size} holds {size.bit_count()} hashes")
        self.size = size
        self.hashes = list(hashes)

    def append(self, leaf: bytes) -> None:
        """Add the hash of the next leaf."""
        node, size = leaf, self.size
        while size & 1:
            node = node_hash(self.hashes.pop(), node)
            size >>= 1
        self.hashes.append(node)
        self.size += 1

    def root(self) -> bytes:
        """The tree head (MTH) of leaves [0, size)."""
        if not self.hashes:
            return EMPTY_ROOT
        node = self.hashes[-1]
        for left in reversed(self.hashes[:-1]):
            node = node_hash(left, node)
        return node

    def copy(self) -> CompactRange:
        """An independent copy."""
        return CompactRange(self.size, self.hashes)


def root_of(leaves: Iterable[bytes]) -> bytes:
    """The tree head of the given leaf hashes."""
    compact = CompactRange()
    for leaf in leaves:
        compact.append(leaf)
    return compact.root()


class MerkleTree:
    """A tree over leaf hashes with every complete level kept, for fast proofs at any size.

    Level k holds the hashes of the aligned perfect subtrees of 2**k leaves, packed as
    32-byte strings in one bytearray. Leaves before `base` (pruned ones) are replaced by
    the compact range that covered them.
    """

    def __init__(self, base: CompactRange | None = None) -> None:
        self.levels: list[bytearray] = [bytearray()]
        self.base = base.copy() if base else CompactRange()
        self._pruned: dict[tuple[int, int], bytes] = {}
        heights = [
            h for h in reversed(range(self.base.size.bit_length())) if self.base.size >> h & 1
        ]
        start = 0
        for height, node in zip(heights, self.base.hashes, strict=True):
            self._pruned[(height, start >> height)] = node
            start += 1 << height
        self.size = self.base.size

    def append(self, leaf: bytes) -> None:
        """Add the hash of the next leaf, completing the levels above it."""
        index = self.size
        self._put(0, index, leaf)
        node, height = leaf, 0
        while index & 1:
            node = node_hash(self._node(height, index - 1), node)
            index >>= 1
            height += 1
            self._put(height, index, node)
        self.size += 1

    def extend(self, leaves: Iterable[bytes]) -> None:
        """Append many leaf hashes."""
        for leaf in leaves:
            self.append(leaf)

    def _put(self, height: int, index: int, node: bytes) -> None:
        if (height, index) in self._pruned:
            return
        while len(self.levels) <= height:
            self.levels.append(bytearray())
        level = self.levels[height]
        offset = self._offset(height, index)
        if offset < 0:
            return
        if len(level) != offset * HASH_SIZE:
            raise ValueError(f"level {height} expects node {offset}, got node {index}")
        level += node

    def _offset(self, height: int, index: int) -> int:
        """Where node (height, index) sits in its level; levels start where the pruned part ends."""
        return index - (self.base.size >> height)

    def _node(self, height: int, index: int) -> bytes:
        pruned = self._pruned.get((height, index))
        if pruned is not None:
            return pruned
        offset = self._offset(height, index)
        if offset < 0:
            raise PrunedError(f"node {index} at height {height} covers pruned leaves")
        return self._stored(height, offset)

    def _stored(self, height: int, offset: int) -> bytes:
        """The node kept at this offset of a level (in memory here; subclasses keep it elsewhere)."""
        start = offset * HASH_SIZE
        return bytes(self.levels[height][start : start + HASH_SIZE])

    def leaf(self, index: int) -> bytes:
        """The hash of leaf index."""
        return self._node(0, index)

    def subtree(self, lo: int, hi: int) -> bytes:
        """MTH of leaves [lo, hi), built from stored complete nodes."""
        width = hi - lo
        if width == 0:
            return EMPTY_ROOT
        if width & (width - 1) == 0 and lo % width == 0:
            return self._node(width.bit_length() - 1, lo // width)
        k = _split(width)
        return node_hash(self.subtree(lo, lo + k), self.subtree(lo + k, hi))

    def root(self, size: int | None = None) -> bytes:
        """The tree head at size (default: all leaves)."""
        size = self.size if size is None else size
        self._check_size(size)
        return self.subtree(0, size)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """The audit path of leaf index in the tree of size leaves (RFC 6962 2.1.1)."""
        self._check_size(size)
        if not 0 <= index < size:
            raise ValueError(f"leaf {index} is not in a tree of {size} leaves")
        proof: list[bytes] = []
        lo, hi = 0, size
        while hi - lo > 1:
            k = _split(hi - lo)
            if index < lo + k:
                proof.append(self.subtree(lo + k, hi))
                hi = lo + k
            else:
                proof.append(self.subtree(lo, lo + k))
                lo += k
        proof.reverse()
        return proof

    def consistency_proof(self, old: int, new: int) -> list[bytes]:
        """The proof that the tree of old leaves is a prefix of the tree of new (RFC 6962 2.1.2)."""
        self._check_size(new)
        if not 0 < old <= new:
            raise ValueError(f"no consistency proof from size {old} to size {new}")
        proof: list[bytes] = []
        lo, hi, complete = 0, new, True
        while old != hi:
            k = _split(hi - lo)
            if old - lo <= k:
                proof.append(self.subtree(lo + k, hi))
                hi = lo + k
            else:
                proof.append(self.subtree(lo, lo + k))
                lo += k
                complete = False
        if not complete:
            proof.append(self.subtree(lo, hi))
        proof.reverse()
        return proof

    def _check_size(self, size: int) -> None:
        if not 0 <= size <= self.size:
            raise ValueError(f"the tree has {self.size} leaves, not {size}")


class PrunedError(ValueError):
    """A proof needs a node inside the pruned (archived) part of the log."""


def root_from_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root that an inclusion proof implies (RFC 9162 2.1.3.2); ValueError if malformed."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is outside a tree of {size} leaves")
    fn, sn, node = index, size - 1, leaf
    for sibling in proof:
        if sn == 0:
            raise ValueError("the proof has more hashes than the tree is high")
        if fn & 1 or fn == sn:
            node = node_hash(sibling, node)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            node = node_hash(node, sibling)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ValueError("the proof has fewer hashes than the tree is high")
    return node


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> bool:
    """Whether the proof shows leaf at index in the tree of size leaves with this root."""
    try:
        return root_from_inclusion(index, size, leaf, proof) == root
    except ValueError:
        return False


def verify_consistency(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Whether the proof shows the old tree is a prefix of the new one (RFC 9162 2.1.4.2)."""
    if old > new or old < 0:
        return False
    if old == new:
        return not proof and old_root == new_root
    if old == 0:
        return not proof
    if not proof:
        return False
    path = list(proof)
    if old & (old - 1) == 0:  # old is a power of two: its root is the first node
        path.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for node in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(node, fr)
            sr = node_hash(node, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, node)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root


def hashes_hex(hashes: Iterable[bytes]) -> list[str]:
    """Hashes as lowercase hex strings."""
    return [h.hex() for h in hashes]


def hashes_from_hex(values: Iterable[str], where: Callable[[int], str]) -> list[bytes]:
    """Hex strings as 32-byte hashes; ValueError naming the bad one."""
    out = []
    for i, value in enumerate(values):
        try:
            raw = bytes.fromhex(value)
        except (ValueError, TypeError):
            raw = b""
        if len(raw) != HASH_SIZE:
            raise ValueError(f"{where(i)}: {value!r} is not a 64-digit hex SHA-256 hash")
        out.append(raw)
    return out
