"""Who took versions out of the library: their check-out requests and every download of
their files, as the audit trail recorded them (person, time, address, check-out number).

The recall list of a quarantined batch (the quality module) is this, over the batch's
versions: read through :meth:`repo_server.plugin_context.PluginContext.usage`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from repo_server.audit.models import AuditEvent
from repo_server.lifecycle.models import Request
from repo_server.paging import Page, PageRequest, fetch

#: The audit actions that count as taking a version out.
USAGE_ACTIONS = ("checkout.request", "file.download")


@dataclass(frozen=True)
class UsageEntry:
    """One check-out request or one download of a version's file."""

    #: ``checkout`` (a request to take the version out) or ``download``.
    kind: str
    ref: str
    #: The file downloaded (``None`` for a check-out).
    file: str | None
    person: str
    at: datetime
    #: The address the person came from, as the audit trail recorded it.
    address: str
    #: The check-out request's number (a download: the check-out it was served under).
    checkout: int | None
    #: The check-out's state now (``approved``, ``pending``...), ``None`` without one.
    checkout_state: str | None
    #: The bytes downloaded (``None`` for a check-out).
    sha256: str | None


def usage_page(session: Session, refs: Sequence[str], page: PageRequest) -> Page[UsageEntry]:
    """A page of the check-out requests and downloads of the versions ``refs``
    (``g/p@v``), oldest first (the audit trail's order)."""
    wanted = sorted(set(refs))
    files = [AuditEvent.target.startswith(ref + "/", autoescape=True) for ref in wanted]
    query = sa.select(AuditEvent).where(
        AuditEvent.outcome == "ok",
        sa.or_(
            sa.and_(AuditEvent.action == "checkout.request", AuditEvent.target.in_(wanted)),
            sa.and_(AuditEvent.action == "file.download", sa.or_(sa.false(), *files)),
        ),
    )
    rows = fetch(
        session,
        query,
        (AuditEvent.id,),
        page,
        scope=json.dumps(["usage", wanted]),
        key=lambda row: (row.id,),
        scalars=True,
    )
    numbers = {_checkout(row) for row in rows.items} - {None}
    states = dict(
        session.execute(sa.select(Request.id, Request.state).where(Request.id.in_(numbers))).all()
    )
    return rows.map(lambda row: _entry(row, wanted, states))


def _checkout(row: AuditEvent) -> int | None:
    details = json.loads(row.details or "{}")
    number = details.get("request" if row.action == "checkout.request" else "checkout")
    return number if isinstance(number, int) else None


def _entry(row: AuditEvent, refs: Sequence[str], states: dict[int, str]) -> UsageEntry:
    number = _checkout(row)
    if row.action == "checkout.request":
        ref, file, sha256 = row.target, None, None
    else:
        ref = next((r for r in refs if row.target.startswith(r + "/")), row.target)
        file = row.target[len(ref) + 1 :]
        sha256 = json.loads(row.details or "{}").get("sha256")
    return UsageEntry(
        kind="checkout" if row.action == "checkout.request" else "download",
        ref=ref,
        file=file,
        person=row.actor,
        at=row.at,
        address=row.remote_addr,
        checkout=number,
        checkout_state=states.get(number) if number is not None else None,
        sha256=sha256,
    )
