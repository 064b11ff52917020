"""The audit trail as an append-only RFC 6962 Merkle tree, kept in the database.

:meth:`MerkleLog.append` is called by :class:`repo_server.audit.services.AuditLog` for
every record, inside the action's own transaction: if the append fails, the action fails.
The tree is stored as the hashes of its complete subtrees (``log_nodes``), so the root of
any size and every inclusion or consistency proof take O(log n) lookups, never a scan.
The rules for checking proofs are in :mod:`policies.trust.merkle`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from policies.trust.canonical import dump_canonical
from policies.trust.documents import leaf_record
from policies.trust.merkle import EMPTY_ROOT, leaf_hash, node_hash
from repo_server.trust.models import LogNode, LogState

#: Advisory lock id serialising appends on PostgreSQL (SQLite serialises every write).
_APPEND_LOCK = 0x6465706F  # "depo"


_CONTROL = re.compile("[\x00-\x1f\x7f]")
_MAX_INT = 2**53 - 1


def signable_text(text: str) -> str:
    """``text`` in NFC with control characters (line breaks, tabs) shown as spaces.

    Signed payloads are canonical JSON, which refuses control characters; the full text
    stays in the database row, this is its signed rendering.
    """
    if text.isascii() and text.isprintable():  # nothing to change, found in C
        return text
    return _CONTROL.sub(" ", unicodedata.normalize("NFC", text))


def _leafable(value: Any) -> Any:
    """``value`` in the shape canonical JSON accepts: printable NFC text, integers in
    0..2^53-1 (others, and floats, as text), lists and objects of those."""
    if isinstance(value, str):
        return signable_text(value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value if 0 <= value <= _MAX_INT else str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dict):
        return {signable_text(str(k)): _leafable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_leafable(v) for v in value]
    return signable_text(str(value))


def leaf_time(at: datetime) -> str:
    """The time of a record as written in its leaf (UTC, microseconds)."""
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def encode_leaf(record: Mapping[str, Any], *, checked: bool = True) -> bytes:
    """The canonical bytes of an audit record (:func:`policies.trust.documents.leaf_record`)
    of its signable rendering, which clients parse strictly.

    ``checked=False`` skips re-checking the rendering (the replay's fast path; a record
    that cannot be rendered raises ``UnicodeEncodeError`` there).
    """
    value = _leafable(dict(record))
    return leaf_record(value) if checked else dump_canonical(value)


def largest_power_of_two_below(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (``n`` > 1): RFC 6962's split."""
    return 1 << ((n - 1).bit_length() - 1)


class TreeReader:
    """Subtree hashes, roots and proofs of the log as stored (or as being replayed).

    ``node(level, index)`` returns the hash of the complete subtree covering leaves
    ``index·2^level`` to ``(index+1)·2^level - 1``.
    """

    def __init__(self, node: Callable[[int, int], bytes]) -> None:
        self.node = node

    def subtree(self, start: int, end: int) -> bytes:
        """MTH of leaves ``start`` to ``end - 1``."""
        n = end - start
        if n & (n - 1) == 0 and start % n == 0:
            return self.node(n.bit_length() - 1, start // n)
        k = largest_power_of_two_below(n)
        return node_hash(self.subtree(start, start + k), self.subtree(start + k, end))

    def root(self, size: int) -> bytes:
        """The root hash of the first ``size`` leaves (of no leaf: sha256 of nothing)."""
        if size == 0:
            return EMPTY_ROOT
        return self.subtree(0, size)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """RFC 6962 PATH(index, D[0:size])."""
        if not 0 <= index < size:
            raise ValueError(f"leaf {index} is not in a log of {size} entries")
        return self._path(index, 0, size)

    def _path(self, m: int, start: int, end: int) -> list[bytes]:
        n = end - start
        if n == 1:
            return []
        k = largest_power_of_two_below(n)
        if m < k:
            return [*self._path(m, start, start + k), self.subtree(start + k, end)]
        return [*self._path(m - k, start + k, end), self.subtree(start, start + k)]

    def consistency_proof(self, old: int, new: int) -> list[bytes]:
        """RFC 6962 PROOF(old, D[0:new])."""
        if not 0 <= old <= new:
            raise ValueError(f"no consistency proof from {old} to {new} entries")
        if old in (0, new):
            return []
        return self._subproof(old, 0, new, True)

    def _subproof(self, m: int, start: int, end: int, complete: bool) -> list[bytes]:
        n = end - start
        if m == n:
            return [] if complete else [self.subtree(start, end)]
        k = largest_power_of_two_below(n)
        if m <= k:
            return [*self._subproof(m, start, start + k, complete), self.subtree(start + k, end)]
        return [*self._subproof(m - k, start + k, end, False), self.subtree(start, start + k)]


class MerkleLog:
    """The audit log's tree in the database."""

    def append(self, session: Session, leaf: Callable[[int], bytes]) -> int:
        """Add one leaf in the caller's transaction and return its index.

        ``leaf(index)`` builds the leaf bytes once the index is known (the index is part
        of the record). Appends are serialised: a row lock on ``log_state`` (and an
        advisory lock on PostgreSQL, where the first append may race to create the row).
        """
        if session.get_bind().dialect.name == "postgresql":
            session.execute(sa.select(sa.func.pg_advisory_xact_lock(_APPEND_LOCK)))
        with session.no_autoflush:  # one flush at the end, not one per lookup
            state = session.get(LogState, 1, with_for_update=True)
            if state is None:
                state = LogState(id=1, size=0)
                session.add(state)
            index = state.size
            data = leaf(index)
            digest = leaf_hash(data)
            nodes = [LogNode(level=0, index=index, hash=digest)]
            level, position = 0, index
            while position % 2 == 1:
                left = session.scalar(
                    sa.select(LogNode.hash).where(
                        LogNode.level == level, LogNode.index == position - 1
                    )
                )
                assert left is not None, f"log node ({level}, {position - 1}) is missing"
                digest = node_hash(left, digest)
                level, position = level + 1, position // 2
                nodes.append(LogNode(level=level, index=position, hash=digest))
            session.add_all(nodes)
        state.size = index + 1
        return index  # the caller's flush writes the nodes, the state and its record

    @staticmethod
    def size(session: Session) -> int:
        """How many leaves the log holds (as this transaction sees it)."""
        state = session.get(LogState, 1)
        return state.size if state else 0

    @staticmethod
    def reader(session: Session) -> TreeReader:
        """Roots and proofs read from the stored nodes."""
        cache: dict[tuple[int, int], bytes] = {}

        def node(level: int, index: int) -> bytes:
            key = (level, index)
            if key not in cache:
                row = session.get(LogNode, key)
                if row is None:
                    raise LookupError(f"the log has no node ({level}, {index})")
                cache[key] = row.hash
            return cache[key]

        return TreeReader(node)
