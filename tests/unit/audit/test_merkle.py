"""RFC 6962 Merkle hashing: known answers, proofs, and mutated proofs that must fail."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dcops.audit.merkle import (
    EMPTY_ROOT,
    CompactRange,
    MerkleTree,
    PrunedError,
    leaf_hash,
    node_hash,
    root_of,
    verify_consistency,
    verify_inclusion,
)

# The leaves and tree heads of the RFC 6962 reference test vectors (certificate-transparency).
LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    bytes(range(0x50, 0x58)),
    bytes(range(0x60, 0x70)),
]
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
INCLUSION_0_OF_8 = [
    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
]
CONSISTENCY = {
    (1, 8): INCLUSION_0_OF_8,
    (6, 8): [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
    (2, 5): [
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
}


def tree_of(leaves: list[bytes]) -> MerkleTree:
    tree = MerkleTree()
    tree.extend(leaf_hash(leaf) for leaf in leaves)
    return tree


def reference_root(leaves: list[bytes]) -> bytes:
    """MTH straight from the RFC's recursive definition."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaf_hash(leaves[0])
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node_hash(reference_root(leaves[:k]), reference_root(leaves[k:]))


def test_the_empty_tree_hash_is_sha256_of_nothing() -> None:
    assert EMPTY_ROOT.hex().startswith("e3b0c442")
    assert MerkleTree().root() == EMPTY_ROOT
    assert CompactRange().root() == EMPTY_ROOT


def test_tree_heads_match_the_reference_vectors() -> None:
    tree = tree_of(LEAVES)
    assert [tree.root(n).hex() for n in range(1, 9)] == ROOTS
    compact = CompactRange()
    for n, leaf in enumerate(LEAVES, start=1):
        compact.append(leaf_hash(leaf))
        assert compact.root().hex() == ROOTS[n - 1]


def test_inclusion_proof_matches_the_reference_vector() -> None:
    tree = tree_of(LEAVES)
    proof = tree.inclusion_proof(0, 8)
    assert [p.hex() for p in proof] == INCLUSION_0_OF_8
    assert verify_inclusion(0, 8, leaf_hash(LEAVES[0]), proof, tree.root())


@pytest.mark.parametrize(("old", "new"), sorted(CONSISTENCY))
def test_consistency_proofs_match_the_reference_vectors(old: int, new: int) -> None:
    tree = tree_of(LEAVES)
    proof = tree.consistency_proof(old, new)
    assert [p.hex() for p in proof] == CONSISTENCY[(old, new)]
    assert verify_consistency(old, new, tree.root(old), tree.root(new), proof)


def flip(value: bytes) -> bytes:
    return bytes([value[0] ^ 1]) + value[1:]


def test_every_mutated_inclusion_proof_fails() -> None:
    tree = tree_of(LEAVES)
    leaf, root = leaf_hash(LEAVES[5]), tree.root()
    proof = tree.inclusion_proof(5, 8)
    assert verify_inclusion(5, 8, leaf, proof, root)
    mutations = [
        (4, 8, leaf, proof, root),  # wrong index
        (5, 16, leaf, proof, root),  # size doubled
        (5, 4, leaf, proof, root),  # size halved
        (5, 8, flip(leaf), proof, root),  # another leaf
        (5, 8, leaf, [flip(proof[0]), *proof[1:]], root),  # a flipped bit
        (5, 8, leaf, proof[:-1], root),  # a dropped hash
        (5, 8, leaf, [*proof, proof[-1]], root),  # an extra hash
        (5, 8, leaf, proof, tree.root(7)),  # another root
        (5, 8, leaf, list(reversed(proof)), root),  # reordered path
    ]
    for mutation in mutations:
        assert not verify_inclusion(*mutation), mutation[:2]


def test_every_mutated_consistency_proof_fails() -> None:
    tree = tree_of(LEAVES)
    old_root, new_root = tree.root(6), tree.root(8)
    proof = tree.consistency_proof(6, 8)
    mutations = [
        (6, 8, new_root, old_root, proof),  # roots swapped
        (8, 6, old_root, new_root, proof),  # size1 > size2
        (6, 8, flip(old_root), new_root, proof),
        (6, 8, old_root, new_root, [flip(proof[0]), *proof[1:]]),
        (6, 8, old_root, new_root, proof[:-1]),
        (6, 8, old_root, new_root, [*proof, proof[0]]),
        (5, 8, old_root, new_root, proof),
        (6, 8, old_root, new_root, []),
    ]
    for mutation in mutations:
        assert not verify_consistency(*mutation), mutation[:2]


def test_diverged_trees_have_no_consistency_proof() -> None:
    honest = tree_of(LEAVES)
    forked = tree_of([*LEAVES[:3], b"rewritten", *LEAVES[4:]])
    proof = forked.consistency_proof(5, 8)
    assert not verify_consistency(5, 8, honest.root(5), forked.root(8), proof)
    assert verify_consistency(5, 8, forked.root(5), forked.root(8), proof)


leaf_lists = st.lists(st.binary(max_size=8), min_size=1, max_size=70)


@settings(max_examples=60, deadline=None)
@given(leaves=leaf_lists, data=st.data())
def test_random_trees_agree_with_the_rfc_definition_and_prove(
    leaves: list[bytes], data: st.DataObject
) -> None:
    tree = tree_of(leaves)
    n = len(leaves)
    assert tree.root() == reference_root(leaves)
    index = data.draw(st.integers(0, n - 1))
    size = data.draw(st.integers(index + 1, n))
    proof = tree.inclusion_proof(index, size)
    assert verify_inclusion(
        index, size, leaf_hash(leaves[index]), proof, reference_root(leaves[:size])
    )
    assert not verify_inclusion(
        index, size, leaf_hash(leaves[index] + b"x"), proof, tree.root(size)
    )
    old = data.draw(st.integers(1, n))
    consistency = tree.consistency_proof(old, n)
    assert verify_consistency(old, n, reference_root(leaves[:old]), tree.root(), consistency)
    if old < n:
        assert not verify_consistency(old, n, tree.root(old), flip(tree.root()), consistency)


@settings(max_examples=40, deadline=None)
@given(leaves=leaf_lists, data=st.data())
def test_a_tree_resumed_from_a_pruned_prefix_keeps_roots_and_proofs(
    leaves: list[bytes], data: st.DataObject
) -> None:
    n = len(leaves)
    cut = data.draw(st.integers(0, n))
    prefix = CompactRange()
    for leaf in leaves[:cut]:
        prefix.append(leaf_hash(leaf))
    resumed = MerkleTree(prefix)
    resumed.extend(leaf_hash(leaf) for leaf in leaves[cut:])
    full = tree_of(leaves)
    assert resumed.root() == full.root()
    for index in range(cut, n):
        assert resumed.inclusion_proof(index, n) == full.inclusion_proof(index, n)
    if cut > 1 and cut & (cut - 1):
        with pytest.raises(PrunedError):
            resumed.leaf(0)


def test_root_of_leaves_is_the_reference_tree_head() -> None:
    hashes = [leaf_hash(leaf) for leaf in LEAVES]
    for size in range(1, len(LEAVES) + 1):
        assert root_of(hashes[:size]).hex() == ROOTS[size - 1]
    assert root_of([]) == EMPTY_ROOT


def test_no_consistency_proof_from_an_empty_tree() -> None:
    tree = MerkleTree()
    for leaf in LEAVES[:3]:
        tree.append(leaf_hash(leaf))
    with pytest.raises(ValueError, match="no consistency proof from size 0 to size 3"):
        tree.consistency_proof(0, 3)
