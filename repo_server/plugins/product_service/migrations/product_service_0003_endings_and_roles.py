"""Tickets that end with a reason (cancelled, a duplicate, withdrawn), the escalation of
overdue complaints, a complaint's quality issue and the service roles granted per group

Revision ID: product_service_0003
Revises: product_service_0002
Create Date: 2026-12-03 06:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from repo_server.plugin_api import UTCDateTime

revision = "product_service_0003"
down_revision = "product_service_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("service_tickets", schema=None) as batch_op:
        for name in ("response_escalated_at", "verification_escalated_at", "ended_at"):
            batch_op.add_column(sa.Column(name, UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("end_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("quality_issue", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("duplicate_of_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_service_tickets_duplicate_of_id"), ["duplicate_of_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_service_tickets_duplicate_of_id_service_tickets"),
            "service_tickets",
            ["duplicate_of_id"],
            ["id"],
        )
    op.create_table(
        "service_roles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_name", sa.String(length=100), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("granted_by", sa.String(length=64), nullable=False),
        sa.Column("granted_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_roles")),
        sa.UniqueConstraint(
            "group_name",
            "username",
            "role",
            name=op.f("uq_service_roles_group_name_username_role"),
        ),
    )
    with op.batch_alter_table("service_roles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_service_roles_username"), ["username"], unique=False)
        batch_op.create_index("ix_service_roles_group_name_id", ["group_name", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("service_roles", schema=None) as batch_op:
        batch_op.drop_index("ix_service_roles_group_name_id")
        batch_op.drop_index(batch_op.f("ix_service_roles_username"))
    op.drop_table("service_roles")
    with op.batch_alter_table("service_tickets", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_service_tickets_duplicate_of_id_service_tickets"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_service_tickets_duplicate_of_id"))
        batch_op.drop_column("duplicate_of_id")
        batch_op.drop_column("quality_issue")
        batch_op.drop_column("end_reason")
        batch_op.drop_column("ended_at")
        batch_op.drop_column("verification_escalated_at")
        batch_op.drop_column("response_escalated_at")
