"""Rows of the physical items register: a new item with its identifier and first step.

Used by the check-in approval (the items a check-in request names) and by the register's
service (:mod:`repo_server.lifecycle.archive`).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from repo_server.lifecycle.models import ArchiveItem, ArchiveItemEvent


def new_item(
    session: Session,
    *,
    version_id: int,
    request_id: int | None,
    fields: dict[str, str],
    actor: str,
    now: datetime,
    identifier: str | None = None,
) -> ArchiveItem:
    """Add an item in the archive (``identifier``, else ``PI-<id>``) and its ``register`` step."""
    row = ArchiveItem(
        version_id=version_id,
        request_id=request_id,
        identifier=identifier or f"new-{uuid.uuid4().hex}",
        kind=fields["kind"],
        label=fields["label"],
        location=fields["location"],
        custodian=fields["custodian"],
        status="in_archive",
        created_at=now,
        created_by=actor,
    )
    session.add(row)
    session.flush()
    if identifier is None:
        row.identifier = f"PI-{row.id}"
    session.add(
        ArchiveItemEvent(
            item_id=row.id,
            action="register",
            actor=actor,
            at=now,
            before="",
            after=f"{row.location} ({row.custodian})",
            comment=f"with check-in request #{request_id}" if request_id else "",
        )
    )
    return row
