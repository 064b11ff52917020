"""The service module's tables: tickets (``service_tickets``), their full record
(``service_ticket_events``, one row per step) and the service roles granted per group
(``service_roles``). Versions are named, never referred to by
the core's row ids; people by username."""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from repo_server.plugin_api import NAMING, UTCDateTime


class Base(DeclarativeBase):
    """The module's own declarative base (its own metadata, its own Alembic branch)."""

    metadata = sa.MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[object, object]] = {datetime: UTCDateTime()}


class Ticket(Base):
    """A service ticket or complaint against one version (``S-<id>``)."""

    __tablename__ = "service_tickets"
    __table_args__ = (
        sa.Index("ix_service_tickets_version", "group_name", "product", "version"),
        # The ticket list of a group, newest first, a page at a time.
        sa.Index("ix_service_tickets_group_name_id", "group_name", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_name: Mapped[str] = mapped_column(sa.String(100), index=True)
    product: Mapped[str] = mapped_column(sa.String(100))
    version: Mapped[str] = mapped_column(sa.String(100))
    kind: Mapped[str] = mapped_column(sa.String(16))
    channel: Mapped[str] = mapped_column(sa.String(16))
    #: The customer's name when the ticket was registered; the entry of the register
    #: (客户档案) it belongs to is ``customer_id``.
    customer: Mapped[str] = mapped_column(sa.String(200))
    customer_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("service_customers.id"), index=True
    )
    #: The warranty the charge was decided with, and where it came from
    #: (``contract``, ``product`` or ``default``).
    warranty_days: Mapped[int | None]
    warranty_source: Mapped[str | None] = mapped_column(sa.String(16))
    contact_name: Mapped[str] = mapped_column(sa.String(200))
    contact_phone: Mapped[str] = mapped_column(sa.String(64), default="")
    contact_email: Mapped[str] = mapped_column(sa.String(200), default="")
    description: Mapped[str] = mapped_column(sa.Text)
    delivered_on: Mapped[date] = mapped_column(sa.Date)
    charge: Mapped[str] = mapped_column(sa.String(16))
    status: Mapped[str] = mapped_column(sa.String(16), index=True)
    registered_by: Mapped[str] = mapped_column(sa.String(64))
    registered_at: Mapped[datetime] = mapped_column(index=True)
    response_due_at: Mapped[datetime | None]
    responded_at: Mapped[datetime | None]
    verification_due_at: Mapped[datetime | None]
    assessed_at: Mapped[datetime | None]
    nature: Mapped[str | None] = mapped_column(sa.String(16))
    severity: Mapped[str | None] = mapped_column(sa.String(16))
    problem: Mapped[str | None] = mapped_column(sa.String(200))
    technician: Mapped[str | None] = mapped_column(sa.String(64))
    completed_at: Mapped[datetime | None]
    confirmed_by: Mapped[str | None] = mapped_column(sa.String(200))
    satisfaction: Mapped[int | None]
    survey_comment: Mapped[str | None] = mapped_column(sa.Text)
    followed_up_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    #: The quality issue (``Q-<n>`` of the quality module) this complaint is linked to,
    #: kept as a reference: the quality module may be absent.
    quality_issue: Mapped[str | None] = mapped_column(sa.String(20))
    #: When each overdue complaint clock was escalated to the group's supervisors.
    response_escalated_at: Mapped[datetime | None]
    verification_escalated_at: Mapped[datetime | None]
    #: When the ticket ended without being served to the end (cancelled, a duplicate,
    #: withdrawn), and why.
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(sa.Text)
    #: The ticket this one duplicates.
    duplicate_of_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("service_tickets.id"), index=True
    )
    updated_at: Mapped[datetime]

    events: Mapped[list[TicketEvent]] = relationship(
        back_populates="ticket", order_by="TicketEvent.id"
    )

    @property
    def number(self) -> str:
        return f"S-{self.id}"

    @property
    def ref(self) -> str:
        return f"{self.group_name}/{self.product}@{self.version}"

    @property
    def stopped_at(self) -> datetime | None:
        """When the ticket stopped running (its clocks with it)."""
        return self.ended_at or self.closed_at


class TicketEvent(Base):
    """One step of a ticket's record: who did what, when, with what text."""

    __tablename__ = "service_ticket_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("service_tickets.id"), index=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(sa.String(64))
    step: Mapped[str] = mapped_column(sa.String(16))
    text: Mapped[str] = mapped_column(sa.Text)
    #: The step's fields as JSON (what the audit record's details carry too).
    details: Mapped[str] = mapped_column(sa.Text)

    ticket: Mapped[Ticket] = relationship(back_populates="events")


class ServiceRole(Base):
    """A service role (clerk, technician, supervisor) one person holds in one group,
    granted by its software manager; it needs no membership of the group's area."""

    __tablename__ = "service_roles"
    __table_args__ = (
        sa.UniqueConstraint("group_name", "username", "role"),
        sa.Index("ix_service_roles_group_name_id", "group_name", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_name: Mapped[str] = mapped_column(sa.String(100))
    username: Mapped[str] = mapped_column(sa.String(64), index=True)
    role: Mapped[str] = mapped_column(sa.String(16))
    granted_by: Mapped[str] = mapped_column(sa.String(64))
    granted_at: Mapped[datetime]


class Customer(Base):
    """An entry of a group's customer register (客户档案): the organisation, its contact,
    and the contract's warranty when it has its own (``C-<id>``)."""

    __tablename__ = "service_customers"
    __table_args__ = (
        sa.UniqueConstraint("group_name", "key"),
        sa.Index("ix_service_customers_group_name_id", "group_name", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_name: Mapped[str] = mapped_column(sa.String(100))
    name: Mapped[str] = mapped_column(sa.String(200))
    #: The name with case and spacing ignored: one entry per customer of a group.
    key: Mapped[str] = mapped_column(sa.String(200))
    contact_name: Mapped[str] = mapped_column(sa.String(200), default="")
    contact_phone: Mapped[str] = mapped_column(sa.String(64), default="")
    contact_email: Mapped[str] = mapped_column(sa.String(200), default="")
    contract: Mapped[str] = mapped_column(sa.String(100), default="")
    #: The contract's warranty (``None``: the product's, or the server's default).
    warranty_days: Mapped[int | None]
    created_by: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    @property
    def number(self) -> str:
        return f"C-{self.id}"


class ProductWarranty(Base):
    """The warranty of one product of a group, when it is not the server's default."""

    __tablename__ = "service_product_warranties"
    __table_args__ = (sa.UniqueConstraint("group_name", "product"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_name: Mapped[str] = mapped_column(sa.String(100))
    product: Mapped[str] = mapped_column(sa.String(100))
    warranty_days: Mapped[int]
    set_by: Mapped[str] = mapped_column(sa.String(64))
    set_at: Mapped[datetime]
