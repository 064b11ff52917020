"""Stand-ins of the deciders, who a decision was made for, people's notification settings
and the reminders already sent

Revision ID: 0019
Revises: 0016
Create Date: 2026-12-03 06:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import repo_server.db

revision = "0019"
down_revision = "0016"
branch_labels = None
depends_on = None

_When = repo_server.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("requests") as batch:
        batch.add_column(sa.Column("decided_for", sa.String(length=64), nullable=True))
    op.create_table(
        "stand_ins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("stand_in_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("starts_at", _When, nullable=False),
        sa.Column("ends_at", _When, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", _When, nullable=False),
        sa.Column("revoked_by", sa.String(length=64), nullable=True),
        sa.Column("revoked_at", _When, nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_stand_ins_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["stand_in_id"],
            ["users.id"],
            name=op.f("fk_stand_ins_stand_in_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stand_ins")),
    )
    op.create_index("ix_stand_ins_stand_in_id_ends_at", "stand_ins", ["stand_in_id", "ends_at"])
    op.create_index("ix_stand_ins_user_id_id", "stand_ins", ["user_id", "id"])
    op.create_table(
        "notification_settings",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("awaiting", sa.Boolean(), nullable=False),
        sa.Column("decided", sa.Boolean(), nullable=False),
        sa.Column("reminders", sa.Boolean(), nullable=False),
        sa.Column("updated_at", _When, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_notification_settings_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_notification_settings")),
    )
    op.create_table(
        "reminders_sent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("recipient", sa.String(length=64), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("sent_at", _When, nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["requests.id"],
            name=op.f("fk_reminders_sent_request_id_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminders_sent")),
        sa.UniqueConstraint(
            "request_id",
            "recipient",
            "day",
            name=op.f("uq_reminders_sent_request_id_recipient_day"),
        ),
    )


def downgrade() -> None:
    op.drop_table("reminders_sent")
    op.drop_table("notification_settings")
    op.drop_index("ix_stand_ins_user_id_id", table_name="stand_ins")
    op.drop_index("ix_stand_ins_stand_in_id_ends_at", table_name="stand_ins")
    op.drop_table("stand_ins")
    with op.batch_alter_table("requests") as batch:
        batch.drop_column("decided_for")
