"""The roots' seal of the log at each rotation, so bundles signed by retired keys can
prove they predate it

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-04 18:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import repo_server.db

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None

_When = repo_server.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "trust_seals",
        sa.Column("keyring", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("envelope", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", _When, nullable=False),
        sa.PrimaryKeyConstraint("keyring", name=op.f("pk_trust_seals")),
    )


def downgrade() -> None:
    op.drop_table("trust_seals")
