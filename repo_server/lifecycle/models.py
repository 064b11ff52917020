"""Rows of requests, archived physical items and usage feedback."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from repo_server.db import Base


class Request(Base):
    """A request one person files and another decides: upgrade, acceptance, check-in, check-out.

    ``details`` holds what the kind needs, as JSON: an upgrade's reason and scope, a
    check-in's release notes and documents, a check-out's purpose and days, the report
    of an acceptance decision.
    """

    __tablename__ = "requests"
    __table_args__ = (
        sa.Index("ix_requests_state_kind", "state", "kind"),
        sa.Index("ix_requests_version_kind", "version_id", "kind"),
        # The listings' orders (repo_server.paging): each page is a range of one of these.
        sa.Index("ix_requests_requester_id", "requester", "id"),
        sa.Index("ix_requests_group_id_id", "group_id", "id"),
        sa.Index("ix_requests_state_id", "state", "id"),
        sa.Index("ix_requests_version_id_id", "version_id", "id"),
        sa.Index("ix_requests_product_id_kind_id", "product_id", "kind", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    state: Mapped[str] = mapped_column(sa.String(16), default="pending")
    group_id: Mapped[int] = mapped_column(sa.ForeignKey("groups.id"), index=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id"), index=True)
    version_id: Mapped[int | None] = mapped_column(sa.ForeignKey("versions.id"))
    #: An upgrade request's target version number.
    target_version: Mapped[str | None] = mapped_column(sa.String(64))
    requester: Mapped[str] = mapped_column(sa.String(64), index=True)
    requester_role: Mapped[str] = mapped_column(sa.String(32))
    #: An acceptance request's officer, when delivered to a particular one.
    assigned_to: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[datetime]
    decided_by: Mapped[str | None] = mapped_column(sa.String(64))
    decided_role: Mapped[str | None] = mapped_column(sa.String(32))
    #: The person the decider stood in for (``decided_by`` for ``decided_for``), if any.
    decided_for: Mapped[str | None] = mapped_column(sa.String(64))
    decided_at: Mapped[datetime | None]
    comment: Mapped[str] = mapped_column(sa.Text, default="")
    details: Mapped[str] = mapped_column(sa.Text, default="{}")
    #: An approved check-out's end.
    expires_at: Mapped[datetime | None]


class ArchiveItem(Base):
    """A physical item archived with a version (实物归档): install media, a licence dongle,
    a printed manual; kept at ``location`` by ``custodian``, lent out and returned.

    Items come with a check-in request (``request_id``) or are added to the register by a
    version manager; every change is an :class:`ArchiveItemEvent`.
    """

    __tablename__ = "archive_items"
    __table_args__ = (
        # The register's order (repo_server.paging) and its overdue-loans view.
        sa.Index("ix_archive_items_status_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("versions.id"), index=True)
    request_id: Mapped[int | None] = mapped_column(sa.ForeignKey("requests.id"))
    #: The item's own mark (an asset tag); ``PI-<id>`` when none was given.
    identifier: Mapped[str] = mapped_column(sa.String(100), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(100))
    label: Mapped[str] = mapped_column(sa.String(200))
    location: Mapped[str] = mapped_column(sa.String(200))
    custodian: Mapped[str] = mapped_column(sa.String(200))
    #: ``in_archive`` or ``on_loan`` (借出).
    status: Mapped[str] = mapped_column(
        sa.String(16), default="in_archive", server_default="in_archive"
    )
    #: While on loan: who has it, and when it is due back.
    holder: Mapped[str | None] = mapped_column(sa.String(200))
    due_at: Mapped[datetime | None]
    created_at: Mapped[datetime | None]
    created_by: Mapped[str | None] = mapped_column(sa.String(64))


class ArchiveItemEvent(Base):
    """One recorded step of a physical item: registered, moved, custodian changed, lent,
    returned; who did it, when, from what to what."""

    __tablename__ = "archive_item_events"
    __table_args__ = (sa.Index("ix_archive_item_events_item_id_id", "item_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("archive_items.id"))
    #: ``register``, ``move``, ``custodian``, ``lend`` or ``return``.
    action: Mapped[str] = mapped_column(sa.String(16))
    actor: Mapped[str] = mapped_column(sa.String(64))
    at: Mapped[datetime]
    before: Mapped[str] = mapped_column(sa.String(200), default="")
    after: Mapped[str] = mapped_column(sa.String(200), default="")
    due_at: Mapped[datetime | None]
    comment: Mapped[str] = mapped_column(sa.Text, default="")


class Feedback(Base):
    """How a checked-in version behaves in use (使用情况反馈), by an acceptance officer."""

    __tablename__ = "feedback"
    #: A version's feedback, a page at a time (repo_server.paging).
    __table_args__ = (sa.Index("ix_feedback_version_id_id", "version_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("versions.id"), index=True)
    author: Mapped[str] = mapped_column(sa.String(64))
    text: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime]


class Quarantine(Base):
    """A stop on every use of what it covers, decided by a business module (``source``:
    the plugin's name; ``reference``: its case, ``Q-17``), held by the core until that
    module lifts it: with the module disabled or failing, it still holds."""

    __tablename__ = "quarantines"
    __table_args__ = (sa.Index("ix_quarantines_source_reference", "source", "reference"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(sa.String(64))
    reference: Mapped[str] = mapped_column(sa.String(100))
    #: The rule a refusal names (``quality.serious_issue``) and the reason it gives.
    rule: Mapped[str] = mapped_column(sa.String(100))
    reason: Mapped[str] = mapped_column(sa.Text)
    started_at: Mapped[datetime]
    started_by: Mapped[str] = mapped_column(sa.String(64))
    lifted_at: Mapped[datetime | None] = mapped_column(index=True)
    lifted_by: Mapped[str | None] = mapped_column(sa.String(64))
    lift_reason: Mapped[str | None] = mapped_column(sa.Text)


class QuarantineCover(Base):
    """What one quarantine covers: a version by name (``version``: ``g/p@v``), a build
    batch (``build``: every file uploaded under that build id, in any group, later ones
    too) or content (``sha256``: those bytes as an artifact of any version)."""

    __tablename__ = "quarantine_covers"
    __table_args__ = (sa.Index("ix_quarantine_covers_kind_value", "kind", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    quarantine_id: Mapped[int] = mapped_column(sa.ForeignKey("quarantines.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    value: Mapped[str] = mapped_column(sa.String(600))
