"""RFC 6962 Merkle trees: published vectors, a naive reference, and hostile proofs."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policies.trust.errors import TrustError
from policies.trust.merkle import (
    EMPTY_ROOT,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_hash,
    verify_consistency,
    verify_inclusion,
)

# transparency-dev/merkle testdata: the eight leaves of the RFC 6962 reference tests.
LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    bytes(range(0x60, 0x70)),
]
HASHES = [leaf_hash(d) for d in LEAVES]
ROOTS = {
    1: "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    2: "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    3: "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    4: "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    5: "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    6: "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    7: "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    8: "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
}


def b64(*items: str) -> list[bytes]:
    return [base64.b64decode(i) for i in items]


# testdata/inclusion/{1,4}/happy-path.json
INCLUSION_VECTORS = [
    (
        0,
        8,
        b64(
            "lqKW0iTyhcZ77pPDD4owkVfw2qNdxbh+QQt4YwoJz8c=",
            "Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=",
            "a0eq8p7jwq+a+Im8H7klTavTEXfxYjLdaqsDXKOb9uQ=",
        ),
    ),
    (
        1,
        5,
        b64(
            "bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=",
            "Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=",
            "vBoGQ7EuTS18d5GPROD095qDi2z57FtcKD4fTYhZnms=",
        ),
    ),
]
# testdata/consistency/{1,2,3}/happy-path.json
CONSISTENCY_VECTORS = [
    (
        1,
        8,
        b64(
            "lqKW0iTyhcZ77pPDD4owkVfw2qNdxbh+QQt4YwoJz8c=",
            "Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=",
            "a0eq8p7jwq+a+Im8H7klTavTEXfxYjLdaqsDXKOb9uQ=",
        ),
    ),
    (
        6,
        8,
        b64(
            "DrxdNDf74tsVi58Sah0RjjCBgQMdCpSfje3t68VY72o=",
            "yoVOoSjtBQtBs1/8G4e46yveRh6eO1WW7Oa51ZdaCuA=",
            "037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc=",
        ),
    ),
    (
        2,
        5,
        b64(
            "Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=",
            "vBoGQ7EuTS18d5GPROD095qDi2z57FtcKD4fTYhZnms=",
        ),
    ),
]


# -- an independent, straightforward reference (RFC 6962 §2.1 read literally) -------------


def ref_mth(d: list[bytes]) -> bytes:
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return d[0]
    k = 1
    while k * 2 < len(d):
        k *= 2
    return hashlib.sha256(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:])).digest()


def ref_path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = 1
    while k * 2 < len(d):
        k *= 2
    if m < k:
        return [*ref_path(m, d[:k]), ref_mth(d[k:])]
    return [*ref_path(m - k, d[k:]), ref_mth(d[:k])]


def ref_subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    if m == len(d):
        return [] if b else [ref_mth(d)]
    k = 1
    while k * 2 < len(d):
        k *= 2
    if m <= k:
        return [*ref_subproof(m, d[:k], b), ref_mth(d[k:])]
    return [*ref_subproof(m - k, d[k:], False), ref_mth(d[:k])]


def tree(n: int) -> list[bytes]:
    return [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


class CountingLeaves(Sequence[bytes]):
    """A lazy sequence like the server's: counts how often each leaf is read."""

    def __init__(self, leaves: list[bytes]) -> None:
        self.leaves = leaves
        self.reads = 0

    def __len__(self) -> int:
        return len(self.leaves)

    def __getitem__(self, i):  # type: ignore[no-untyped-def,override]
        assert isinstance(i, int), "only single leaves are read"
        self.reads += 1
        return self.leaves[i]


def refused(check: str, match: str, fn, *args) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TrustError, match=match) as info:
        fn(*args)
    assert info.value.check == check, info.value


# -- published vectors ----------------------------------------------------------------------


def test_hash_functions() -> None:
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    assert node_hash(b"l", b"r") == hashlib.sha256(b"\x01lr").digest()
    assert root_hash([]) == EMPTY_ROOT == hashlib.sha256(b"").digest()


@pytest.mark.parametrize("size", sorted(ROOTS))
def test_published_roots(size: int) -> None:
    assert root_hash(HASHES[:size]).hex() == ROOTS[size]


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION_VECTORS)
def test_published_inclusion_proofs(index: int, size: int, proof: list[bytes]) -> None:
    assert inclusion_proof(index, HASHES[:size]) == proof
    verify_inclusion(HASHES[index], index, size, proof, bytes.fromhex(ROOTS[size]))


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY_VECTORS)
def test_published_consistency_proofs(old: int, new: int, proof: list[bytes]) -> None:
    assert consistency_proof(old, HASHES[:new]) == proof
    verify_consistency(old, new, bytes.fromhex(ROOTS[old]), bytes.fromhex(ROOTS[new]), proof)


# -- against the reference ----------------------------------------------------------------


def test_every_proof_of_small_trees_matches_the_reference() -> None:
    for n in range(1, 34):
        leaves = tree(n)
        root = root_hash(leaves)
        assert root == ref_mth(leaves)
        for i in range(n):
            proof = inclusion_proof(i, leaves)
            assert proof == ref_path(i, leaves)
            verify_inclusion(leaves[i], i, n, proof, root)
        for m in range(0, n + 1):
            proof = consistency_proof(m, leaves)
            assert proof == ([] if m in (0, n) else ref_subproof(m, leaves, True))
            verify_consistency(m, n, ref_mth(leaves[:m]), root, proof)


def test_lazy_sequences_read_each_leaf_once() -> None:
    leaves = CountingLeaves(tree(1000))
    root_hash(leaves)
    assert leaves.reads == 1000
    leaves.reads = 0
    inclusion_proof(500, leaves)
    assert leaves.reads == 999
    leaves.reads = 0
    consistency_proof(300, leaves)
    assert leaves.reads <= 1000


def test_leaves_must_be_hashes() -> None:
    refused("hash", "leaf 1 is 3 bytes", root_hash, [leaf_hash(b"a"), b"abc"])


# -- hostile proofs ------------------------------------------------------------------------

N = 13
LEAVES13 = tree(N)
ROOT13 = root_hash(LEAVES13)
P5 = inclusion_proof(5, LEAVES13)


def test_inclusion_refusals() -> None:
    bad = [*P5]
    bad[1] = bytes(32)
    refused("inclusion", "leads to root", verify_inclusion, LEAVES13[5], 5, N, bad, ROOT13)
    refused("inclusion", "too short", verify_inclusion, LEAVES13[5], 5, N, P5[:-1], ROOT13)
    refused("inclusion", "too long", verify_inclusion, LEAVES13[5], 5, N, [*P5, P5[0]], ROOT13)
    refused("inclusion", "leads to root", verify_inclusion, LEAVES13[5], 4, N, P5, ROOT13)
    refused("inclusion", "leads to root", verify_inclusion, LEAVES13[5], 6, N, P5, ROOT13)
    refused("inclusion", "of 26 is too short", verify_inclusion, LEAVES13[5], 5, 2 * N, P5, ROOT13)
    refused("inclusion", "of 6 is too long", verify_inclusion, LEAVES13[5], 5, N // 2, P5, ROOT13)
    refused("inclusion", "leads to root", verify_inclusion, LEAVES13[6], 5, N, P5, ROOT13)
    refused("inclusion", "leads to root", verify_inclusion, LEAVES13[5], 5, N, P5, EMPTY_ROOT)
    refused("inclusion", "not in a tree of 13", verify_inclusion, LEAVES13[5], 13, N, P5, ROOT13)
    refused("inclusion", "not in a tree of 0", verify_inclusion, LEAVES13[0], 0, 0, [], ROOT13)


def test_inclusion_refuses_malformed_arguments() -> None:
    leaf = LEAVES13[5]
    refused("inclusion", "proof node 0", verify_inclusion, leaf, 5, N, [b"x", *P5[1:]], ROOT13)
    refused("inclusion", "proof node 2", verify_inclusion, leaf, 5, N, [*P5[:2], "ab"], ROOT13)
    refused("inclusion", "the root is not", verify_inclusion, leaf, 5, N, P5, ROOT13 + b"\x00")
    refused("inclusion", "the leaf hash", verify_inclusion, b"record", 5, N, P5, ROOT13)
    refused("inclusion", "leaf index must", verify_inclusion, leaf, -1, N, P5, ROOT13)
    refused("inclusion", "tree size must", verify_inclusion, leaf, 5, True, P5, ROOT13)
    refused("inclusion", "tree size must", verify_inclusion, leaf, 5, "13", P5, ROOT13)
    refused("inclusion", "leaf 13 is not in a tree of 13", inclusion_proof, 13, LEAVES13)
    refused("inclusion", "leaf -1", inclusion_proof, -1, LEAVES13)


OLD = 6
CP = consistency_proof(OLD, LEAVES13)
OLD_ROOT = root_hash(LEAVES13[:OLD])


def test_consistency_refusals() -> None:
    bad = [*CP]
    bad[0] = bytes(32)
    refused("consistency", "old root", verify_consistency, OLD, N, OLD_ROOT, ROOT13, bad)
    refused("consistency", "too short", verify_consistency, OLD, N, OLD_ROOT, ROOT13, CP[:-1])
    refused("consistency", "too long", verify_consistency, OLD, N, OLD_ROOT, ROOT13, [*CP, CP[0]])
    refused("consistency", "is empty", verify_consistency, OLD, N, OLD_ROOT, ROOT13, [])
    refused("consistency", "new root", verify_consistency, OLD, N, OLD_ROOT, OLD_ROOT, CP)
    refused(
        "consistency", "6 to 26 is too short", verify_consistency, OLD, 2 * N, OLD_ROOT, ROOT13, CP
    )
    refused(
        "consistency", "7 to 13 is too short", verify_consistency, OLD + 1, N, OLD_ROOT, ROOT13, CP
    )
    refused("consistency", "old root of 6", verify_consistency, OLD, N, ROOT13, OLD_ROOT, CP)
    refused("consistency", "shrank from 13 to 6", verify_consistency, N, OLD, ROOT13, OLD_ROOT, CP)


def test_consistency_edge_sizes() -> None:
    verify_consistency(N, N, ROOT13, ROOT13, [])
    verify_consistency(0, N, EMPTY_ROOT, ROOT13, [])
    verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    refused("consistency", "two different roots for the same 13", verify_consistency,
            N, N, ROOT13, OLD_ROOT, [])  # fmt: skip
    refused(
        "consistency", "must be empty, not 1", verify_consistency, N, N, ROOT13, ROOT13, [ROOT13]
    )
    refused("consistency", "must be empty", verify_consistency, 0, N, EMPTY_ROOT, ROOT13, [ROOT13])
    refused("consistency", "empty log", verify_consistency, 0, N, ROOT13, ROOT13, [])
    refused("consistency", "no consistency proof from 14 to 13", consistency_proof, 14, LEAVES13)
    refused("consistency", "old tree size", verify_consistency, -1, N, OLD_ROOT, ROOT13, CP)
    refused("consistency", "new tree size", verify_consistency, OLD, None, OLD_ROOT, ROOT13, CP)
    refused("consistency", "old root", verify_consistency, OLD, N, b"", ROOT13, CP)
    refused("consistency", "new root", verify_consistency, OLD, N, OLD_ROOT, b"", CP)
    refused("consistency", "proof node 1", verify_consistency, OLD, N, OLD_ROOT, ROOT13,
            [CP[0], b"short"])  # fmt: skip


# -- properties ------------------------------------------------------------------------------


def flipped(proof: list[bytes], node: int, bit: int) -> list[bytes]:
    out = [*proof]
    data = bytearray(out[node])
    data[bit // 8] ^= 1 << (bit % 8)
    out[node] = bytes(data)
    return out


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 200), st.data())
def test_every_proof_verifies_and_any_flipped_bit_fails(n: int, data: st.DataObject) -> None:
    leaves = tree(n)
    root = root_hash(leaves)
    assert root == ref_mth(leaves)
    index = data.draw(st.integers(0, n - 1), label="index")
    proof = inclusion_proof(index, leaves)
    verify_inclusion(leaves[index], index, n, proof, root)
    if proof:
        node = data.draw(st.integers(0, len(proof) - 1), label="node")
        bit = data.draw(st.integers(0, 255), label="bit")
        with pytest.raises(TrustError) as info:
            verify_inclusion(leaves[index], index, n, flipped(proof, node, bit), root)
        assert info.value.check == "inclusion"
    old = data.draw(st.integers(0, n), label="old")
    old_root = root_hash(leaves[:old])
    cproof = consistency_proof(old, leaves)
    verify_consistency(old, n, old_root, root, cproof)
    if cproof:
        node = data.draw(st.integers(0, len(cproof) - 1), label="cnode")
        bit = data.draw(st.integers(0, 255), label="cbit")
        with pytest.raises(TrustError) as info:
            verify_consistency(old, n, old_root, root, flipped(cproof, node, bit))
        assert info.value.check == "consistency"
