"""The signed library index of each product: every version in the library, its manifest
and state, under a serial that only grows

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 21:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import repo_server.db

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_BigInt = sa.BigInteger().with_variant(sa.Integer, "sqlite")
_When = repo_server.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "library_index",
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("serial", _BigInt, nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("envelope", sa.LargeBinary(), nullable=False),
        sa.Column("expires_at", _When, nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_library_index_product_id_products")
        ),
        sa.PrimaryKeyConstraint("product_id", name=op.f("pk_library_index")),
    )


def downgrade() -> None:
    op.drop_table("library_index")
