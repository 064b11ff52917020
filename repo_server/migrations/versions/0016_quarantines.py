"""Quarantines as the core's facts: what a business module stopped, held until it lifts it

Revision ID: 0016
Revises: 0013
Create Date: 2026-12-03 06:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from repo_server.db import UTCDateTime

revision = "0016"
down_revision = "0013"
branch_labels = None
depends_on = None


def _when(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "quarantines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("rule", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        _when("started_at"),
        sa.Column("started_by", sa.String(length=64), nullable=False),
        _when("lifted_at", True),
        sa.Column("lifted_by", sa.String(length=64), nullable=True),
        sa.Column("lift_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantines")),
    )
    with op.batch_alter_table("quarantines") as batch:
        batch.create_index("ix_quarantines_source_reference", ["source", "reference"])
        batch.create_index(op.f("ix_quarantines_lifted_at"), ["lifted_at"])
    op.create_table(
        "quarantine_covers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("quarantine_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=600), nullable=False),
        sa.ForeignKeyConstraint(
            ["quarantine_id"],
            ["quarantines.id"],
            name=op.f("fk_quarantine_covers_quarantine_id_quarantines"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine_covers")),
    )
    with op.batch_alter_table("quarantine_covers") as batch:
        batch.create_index("ix_quarantine_covers_kind_value", ["kind", "value"])
        batch.create_index(op.f("ix_quarantine_covers_quarantine_id"), ["quarantine_id"])


def downgrade() -> None:
    op.drop_table("quarantine_covers")
    op.drop_table("quarantines")
