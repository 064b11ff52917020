"""Checkpoints as C2SP signed notes, and the witnesses' cosignatures on them

The checkpoints stored so far were DSSE envelopes; they are dropped (the server signs a
note for any size again on request, and the log itself is unchanged).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 21:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import repo_server.db

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_BigInt = sa.BigInteger().with_variant(sa.Integer, "sqlite")
_When = repo_server.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.execute("DELETE FROM log_checkpoints")
    with op.batch_alter_table("log_checkpoints") as batch:
        batch.alter_column("envelope", new_column_name="note")
    op.create_table(
        "log_cosignatures",
        sa.Column("size", _BigInt, autoincrement=False, nullable=False),
        sa.Column("vkey", sa.String(length=300), nullable=False),
        sa.Column("line", sa.String(length=400), nullable=False),
        sa.Column("cosigned_at", _When, nullable=False),
        sa.Column("created_at", _When, nullable=False),
        sa.ForeignKeyConstraint(
            ["size"],
            ["log_checkpoints.size"],
            name=op.f("fk_log_cosignatures_size_log_checkpoints"),
        ),
        sa.PrimaryKeyConstraint("size", "vkey", name=op.f("pk_log_cosignatures")),
    )


def downgrade() -> None:
    op.drop_table("log_cosignatures")
    op.execute("DELETE FROM log_checkpoints")
    with op.batch_alter_table("log_checkpoints") as batch:
        batch.alter_column("note", new_column_name="envelope")
