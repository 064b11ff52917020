"""RFC 6962 Merkle trees (SHA-256): roots, inclusion and consistency proofs, and their checks.

Leaves are given as leaf *hashes* (:func:`leaf_hash` of the record bytes). The builders take
any ``Sequence`` (the server passes a lazy one backed by its database) and read each leaf
once per call; the verifiers follow RFC 9162 §2.1.3.2 and §2.1.4.2 and insist on a proof of
exactly the length those algorithms consume.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from policies.trust.errors import TrustError

#: The root of the empty tree: the hash of nothing.
EMPTY_ROOT = hashlib.sha256(b"").digest()
HASH_SIZE = 32


def leaf_hash(data: bytes) -> bytes:
    """H(0x00 ‖ data): the hash of one leaf (one audit record's bytes)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """H(0x01 ‖ left ‖ right): the hash of an interior node."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly below ``n`` (``n`` ≥ 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def _leaf(leaves: Sequence[bytes], i: int) -> bytes:
    value = leaves[i]
    if len(value) != HASH_SIZE:
        raise TrustError("hash", f"leaf {i} is {len(value)} bytes, not a {HASH_SIZE}-byte hash")
    return value


def _mth(leaves: Sequence[bytes], start: int, end: int) -> bytes:
    n = end - start
    if n == 1:
        return _leaf(leaves, start)
    k = _split(n)
    return node_hash(_mth(leaves, start, start + k), _mth(leaves, start + k, end))


def root_hash(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) of the leaf hashes ``leaves``; the empty tree's root is sha256(b"")."""
    if len(leaves) == 0:
        return EMPTY_ROOT
    return _mth(leaves, 0, len(leaves))


def inclusion_proof(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PATH(index, D[n]) (RFC 9162 §2.1.3.1): the sibling hashes from leaf to root."""
    size = len(leaves)
    if not 0 <= index < size:
        raise TrustError("inclusion", f"leaf {index} is not in a tree of {size} leaves")
    proof: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            proof.append(_mth(leaves, start + k, end))
            end = start + k
        else:
            proof.append(_mth(leaves, start, start + k))
            start += k
    proof.reverse()
    return proof


def consistency_proof(old_size: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PROOF(old_size, D[n]) (RFC 9162 §2.1.4.1); empty when old_size is 0 or n."""
    size = len(leaves)
    if not 0 <= old_size <= size:
        raise TrustError("consistency", f"no consistency proof from {old_size} to {size} leaves")
    if old_size in (0, size):
        return []
    proof: list[bytes] = []
    m, start, end, complete = old_size, 0, size, True
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            proof.append(_mth(leaves, start + k, end))
            end = start + k
        else:
            proof.append(_mth(leaves, start, start + k))
            m, start, complete = m - k, start + k, False
    if not complete:
        proof.append(_mth(leaves, start, end))
    proof.reverse()
    return proof


def _hashes(proof: Sequence[bytes], check: str) -> list[bytes]:
    nodes = list(proof)
    for i, node in enumerate(nodes):
        if not isinstance(node, bytes) or len(node) != HASH_SIZE:
            raise TrustError(check, f"proof node {i} is not a {HASH_SIZE}-byte hash")
    return nodes


def _size(value: int, what: str, check: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise TrustError(check, f"{what} must be a whole number of leaves, not {value!r}")


def _hash(value: bytes, what: str, check: str) -> None:
    if not isinstance(value, bytes) or len(value) != HASH_SIZE:
        raise TrustError(check, f"{what} is not a {HASH_SIZE}-byte hash")


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that the leaf *hash* ``leaf`` is leaf ``index`` of the tree of ``size`` with ``root``.

    RFC 9162 §2.1.3.2; any failure (wrong root, a proof node too many or too few, an
    index outside the tree) raises ``TrustError("inclusion")``.
    """
    _size(index, "the leaf index", "inclusion")
    _size(size, "the tree size", "inclusion")
    _hash(leaf, "the leaf hash", "inclusion")
    _hash(root, "the root", "inclusion")
    nodes = _hashes(proof, "inclusion")
    if index >= size:
        raise TrustError("inclusion", f"leaf {index} is not in a tree of {size} leaves")
    fn, sn, r = index, size - 1, leaf
    for node in nodes:
        if sn == 0:
            raise TrustError(
                "inclusion", f"the inclusion proof for leaf {index} of {size} is too long"
            )
        if fn & 1 or fn == sn:
            r = node_hash(node, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, node)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise TrustError(
            "inclusion", f"the inclusion proof for leaf {index} of {size} is too short"
        )
    if not hmac.compare_digest(r, root):
        raise TrustError(
            "inclusion",
            f"the inclusion proof for leaf {index} of {size} leads to root {r.hex()}, "
            f"not the signed root {root.hex()}",
        )


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree of ``new_size`` with ``new_root`` extends the one of ``old_size``.

    RFC 9162 §2.1.4.2. Equal sizes need an empty proof and equal roots; an old size of 0
    needs an empty proof (and the empty tree's root); a proof of the wrong length, a
    smaller new size or a root that does not follow raise ``TrustError("consistency")``.
    """
    _size(old_size, "the old tree size", "consistency")
    _size(new_size, "the new tree size", "consistency")
    _hash(old_root, "the old root", "consistency")
    _hash(new_root, "the new root", "consistency")
    nodes = _hashes(proof, "consistency")
    if old_size > new_size:
        raise TrustError("consistency", f"the log shrank from {old_size} to {new_size} entries")
    if old_size in (0, new_size):
        if nodes:
            raise TrustError(
                "consistency",
                f"a proof from {old_size} to {new_size} entries must be empty, "
                f"not {len(nodes)} hashes",
            )
        if old_size == 0 and not hmac.compare_digest(old_root, EMPTY_ROOT):
            raise TrustError("consistency", "the root of the empty log is not sha256 of nothing")
        if old_size == new_size and not hmac.compare_digest(old_root, new_root):
            raise TrustError(
                "consistency",
                f"two different roots for the same {new_size} entries: "
                f"{old_root.hex()} and {new_root.hex()}",
            )
        return
    if not nodes:
        raise TrustError(
            "consistency", f"the consistency proof from {old_size} to {new_size} is empty"
        )
    if old_size & (old_size - 1) == 0:
        nodes = [old_root, *nodes]
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = nodes[0]
    for node in nodes[1:]:
        if sn == 0:
            raise TrustError(
                "consistency",
                f"the consistency proof from {old_size} to {new_size} is too long",
            )
        if fn & 1 or fn == sn:
            fr, sr = node_hash(node, fr), node_hash(node, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, node)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise TrustError(
            "consistency", f"the consistency proof from {old_size} to {new_size} is too short"
        )
    if not hmac.compare_digest(fr, old_root):
        raise TrustError(
            "consistency",
            f"the consistency proof does not lead to the old root of {old_size} entries",
        )
    if not hmac.compare_digest(sr, new_root):
        raise TrustError(
            "consistency",
            f"the consistency proof does not lead to the new root of {new_size} entries",
        )
