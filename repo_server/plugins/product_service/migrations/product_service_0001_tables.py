"""The service module's tables: service tickets and their record of steps

Revision ID: product_service_0001
Revises:
Create Date: 2026-11-28 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from repo_server.plugin_api import UTCDateTime

revision = "product_service_0001"
down_revision = None
branch_labels = ("product_service",)
depends_on = "0005"


def upgrade() -> None:
    op.create_table(
        "service_tickets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_name", sa.String(length=100), nullable=False),
        sa.Column("product", sa.String(length=100), nullable=False),
        sa.Column("version", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("customer", sa.String(length=200), nullable=False),
        sa.Column("contact_name", sa.String(length=200), nullable=False),
        sa.Column("contact_phone", sa.String(length=64), nullable=False),
        sa.Column("contact_email", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("delivered_on", sa.Date(), nullable=False),
        sa.Column("charge", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("registered_by", sa.String(length=64), nullable=False),
        sa.Column("registered_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("response_due_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("responded_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("verification_due_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("assessed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("nature", sa.String(length=16), nullable=True),
        sa.Column("severity", sa.String(length=16), nullable=True),
        sa.Column("problem", sa.String(length=200), nullable=True),
        sa.Column("technician", sa.String(length=64), nullable=True),
        sa.Column("completed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("confirmed_by", sa.String(length=200), nullable=True),
        sa.Column("satisfaction", sa.Integer(), nullable=True),
        sa.Column("survey_comment", sa.Text(), nullable=True),
        sa.Column("followed_up_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_tickets")),
    )
    with op.batch_alter_table("service_tickets", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_service_tickets_group_name"), ["group_name"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_service_tickets_status"), ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_service_tickets_registered_at"), ["registered_at"], unique=False
        )
        batch_op.create_index(
            "ix_service_tickets_version", ["group_name", "product", "version"], unique=False
        )

    op.create_table(
        "service_ticket_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("step", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["service_tickets.id"],
            name=op.f("fk_service_ticket_events_ticket_id_service_tickets"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_ticket_events")),
    )
    with op.batch_alter_table("service_ticket_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_service_ticket_events_ticket_id"), ["ticket_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("service_ticket_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_ticket_events_ticket_id"))
    op.drop_table("service_ticket_events")
    with op.batch_alter_table("service_tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_service_tickets_version")
        batch_op.drop_index(batch_op.f("ix_service_tickets_registered_at"))
        batch_op.drop_index(batch_op.f("ix_service_tickets_status"))
        batch_op.drop_index(batch_op.f("ix_service_tickets_group_name"))
    op.drop_table("service_tickets")
