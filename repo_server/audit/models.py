"""Rows of the audit trail (append-only)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from repo_server.db import Base


class AuditEvent(Base):
    """One recorded action or refusal. Rows are only ever inserted."""

    __tablename__ = "audit_events"
    __table_args__ = (
        sa.Index("ix_audit_events_group_at", "group_name", "at"),
        # A filtered page of the trail is a range of one of these (repo_server.paging).
        sa.Index("ix_audit_events_group_name_id", "group_name", "id"),
        sa.Index("ix_audit_events_actor_id", "actor", "id"),
        sa.Index("ix_audit_events_action_id", "action", "id"),
        # A version's history: its target and its files' (``LIKE 'g/p@v/%'`` on PostgreSQL).
        sa.Index(
            "ix_audit_events_target_id",
            "target",
            "id",
            postgresql_ops={"target": "varchar_pattern_ops"},
        ),
    )

    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True
    )
    at: Mapped[datetime] = mapped_column(index=True)
    #: The user name of the actor (``-`` for an anonymous caller, ``system`` for the server).
    actor: Mapped[str] = mapped_column(sa.String(64), index=True)
    #: The token the actor used (its public id), if any.
    token: Mapped[str | None] = mapped_column(sa.String(32))
    #: The role the actor acted in (``software_manager``, ``version_manager``...), if any.
    role: Mapped[str] = mapped_column(sa.String(32), default="", server_default="")
    action: Mapped[str] = mapped_column(sa.String(64), index=True)
    #: ``ok``, ``refused`` or ``failed``.
    outcome: Mapped[str] = mapped_column(sa.String(16))
    group_name: Mapped[str | None] = mapped_column(sa.String(63))
    #: What was acted on, as a path: ``group/product@version/file`` or ``user:name``.
    target: Mapped[str] = mapped_column(sa.String(600), default="")
    rule: Mapped[str] = mapped_column(sa.String(100), default="")
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    remote_addr: Mapped[str] = mapped_column(sa.String(64), default="")
    #: Further facts (checksums, sizes, roles granted), as JSON text.
    details: Mapped[str] = mapped_column(sa.Text, default="{}")
    #: Position of this record in the Merkle log (0, 1, 2... without gaps).
    leaf_index: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"), unique=True
    )
    #: The exact bytes hashed into the log: canonical JSON of the fields above.
    leaf: Mapped[bytes] = mapped_column(sa.LargeBinary)
