"""Appending to the audit trail, and reading it back.

Services call :meth:`AuditLog.record` inside their own write transaction, so an action
and its record commit together or not at all. Refusals happen in a transaction that is
rolled back, so :meth:`AuditLog.record_refusal` writes them in one of their own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session

from policies.access import Action, decide
from repo_server.audit.models import AuditEvent
from repo_server.auth.principal import Principal
from repo_server.clock import Clock
from repo_server.db import Database
from repo_server.errors import Forbidden
from repo_server.paging import EVERYTHING, Page, PageRequest, by_id
from repo_server.trust.log import MerkleLog, encode_leaf, leaf_time


@dataclass(frozen=True)
class AuditEntry:
    """One audit record as the API shows it."""

    id: int
    at: datetime
    actor: str
    token: str | None
    role: str
    action: str
    outcome: str
    group: str | None
    target: str
    rule: str
    reason: str
    remote_addr: str
    details: dict[str, Any]


class LeafFields(Protocol):
    """What a leaf is made of: an :class:`AuditEvent`, or a plain row of its table."""

    leaf_index: int
    at: datetime
    actor: str
    token: str | None
    role: str
    action: str
    outcome: str
    group_name: str | None
    target: str
    rule: str
    reason: str
    remote_addr: str
    details: str


def leaf_bytes(row: LeafFields, *, checked: bool = True) -> bytes:
    """The leaf of ``row`` in the Merkle log: its fields as canonical JSON.

    ``depot-server audit verify`` rebuilds this from the columns to find edited rows
    (``checked=False``: without re-checking the canonical form, see ``encode_leaf``).
    """
    return encode_leaf(
        {
            "index": row.leaf_index,
            "at": leaf_time(row.at),
            "actor": row.actor,
            "token": row.token,
            "role": row.role,
            "action": row.action,
            "outcome": row.outcome,
            "group": row.group_name,
            "target": row.target,
            "rule": row.rule,
            "reason": row.reason,
            "remote_addr": row.remote_addr,
            "details": json.loads(row.details or "{}"),
        },
        checked=checked,
    )


def _under(session: Session, column: Any, prefix: str) -> Any:
    """``column`` starts with ``prefix``, as a condition the column's index answers: on
    PostgreSQL a ``LIKE 'prefix%'`` (the index has ``varchar_pattern_ops``); on SQLite,
    whose ``LIKE`` ignores case and no index, also the byte range ``[prefix, prefix+1)``
    (``prefix`` ends with ``/``, whose next character is ``0``)."""
    like = column.startswith(prefix, autoescape=True)
    if session.get_bind().dialect.name != "sqlite":
        return like
    following = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return sa.and_(column >= prefix, column < following, like)


def _entry(row: AuditEvent) -> AuditEntry:
    return AuditEntry(
        row.id,
        row.at,
        row.actor,
        row.token,
        row.role,
        row.action,
        row.outcome,
        row.group_name,
        row.target,
        row.rule,
        row.reason,
        row.remote_addr,
        json.loads(row.details or "{}"),
    )


class AuditLog:
    """The audit trail of one server."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self.log = MerkleLog()

    def record(
        self,
        session: Session,
        principal: Principal,
        action: str,
        *,
        target: str = "",
        group: str | None = None,
        role: str = "",
        outcome: str = "ok",
        rule: str = "",
        reason: str = "",
        details: dict[str, Any] | None = None,
    ) -> int:
        """Append one record in the caller's transaction, as the next leaf of the log.

        Returns the record's index in the log. If the append fails, the caller's
        transaction fails with it: no action goes unrecorded.
        """
        row = AuditEvent(
            at=self.clock.now(),
            actor=principal.username,
            token=principal.token_id,
            role=role,
            action=action,
            outcome=outcome,
            group_name=group,
            target=target[:600],
            rule=rule,
            reason=reason,
            remote_addr=principal.remote_addr[:64],
            details=json.dumps(details or {}, sort_keys=True, ensure_ascii=False),
        )

        def leaf(index: int) -> bytes:
            row.leaf_index = index
            row.leaf = leaf_bytes(row)
            return row.leaf

        index = self.log.append(session, leaf)
        session.add(row)
        session.flush()
        return index

    def record_refusal(self, principal: Principal, action: str, **fields: Any) -> None:
        """Append one record of a refused or failed action, in a transaction of its own.

        ``fields`` are those of :meth:`record`; ``outcome`` defaults to ``refused``.
        """
        fields.setdefault("outcome", "refused")
        with self.db.write() as session:
            self.record(session, principal, action, **fields)

    def history(self, ref: str, page: PageRequest = EVERYTHING) -> Page[AuditEntry]:
        """A page of the records about the version ``ref`` (``group/product@version``) and
        its files, oldest first.

        The caller has checked that the reader may see the version. The records are read
        by ``ix_audit_events_target_id`` (the version's own target, and the range of its
        files' targets), so a page costs the same however long the whole trail is.
        """
        with self.db.read() as session:
            query = sa.select(AuditEvent).where(
                sa.or_(AuditEvent.target == ref, _under(session, AuditEvent.target, ref + "/"))
            )
            rows = by_id(session, query, AuditEvent.id, page, scope=f"history:{ref}")
            return rows.map(_entry)

    def search(
        self,
        principal: Principal,
        *,
        group: str | None = None,
        actor: str | None = None,
        action: str | None = None,
        target: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        after_id: int = 0,
        page: PageRequest = EVERYTHING,
    ) -> Page[AuditEntry]:
        """A page of the records matching the filters, oldest first, for an auditor or an
        admin (``after_id``: only records after that id, for ``depot-server audit list``)."""
        decision = decide(principal.actor, Action.READ_AUDIT)
        if not decision.allowed:
            raise Forbidden(decision.reason, rule=decision.rule)
        query = sa.select(AuditEvent)
        if after_id:  # not always: SQLite would range over it rather than over the cursor
            query = query.where(AuditEvent.id > after_id)
        if group:
            query = query.where(AuditEvent.group_name == group)
        if actor:
            query = query.where(AuditEvent.actor == actor)
        if action:
            query = query.where(AuditEvent.action == action)
        if target:
            query = query.where(AuditEvent.target.startswith(target, autoescape=True))
        if since:
            query = query.where(AuditEvent.at >= since)
        if until:
            query = query.where(AuditEvent.at < until)
        scope = json.dumps(["audit", group, actor, action, target, str(since), str(until)])
        with self.db.read() as session:
            rows = by_id(
                session,
                query,
                AuditEvent.id,
                page,
                scope=scope,
            )
            return rows.map(_entry)
