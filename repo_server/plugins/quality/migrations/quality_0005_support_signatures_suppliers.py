"""End of support of whole products and the retirement requests it prepares; the signed
record of a decision; how often a supplier is evaluated

Revision ID: quality_0005
Revises: quality_0004
Create Date: 2026-12-03 13:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from repo_server.plugin_api import UTCDateTime

revision = "quality_0005"
down_revision = "quality_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "quality_product_support",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_name", sa.String(length=100), nullable=False),
        sa.Column("product", sa.String(length=100), nullable=False),
        sa.Column("end_of_support", sa.Date(), nullable=True),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_product_support")),
        sa.UniqueConstraint(
            "group_name", "product", name=op.f("uq_quality_product_support_group_name_product")
        ),
    )
    with op.batch_alter_table("quality_product_support") as batch:
        batch.create_index(op.f("ix_quality_product_support_end_of_support"), ["end_of_support"])
    op.create_table(
        "quality_retirements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_name", sa.String(length=100), nullable=False),
        sa.Column("product", sa.String(length=100), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("end_of_support", sa.Date(), nullable=False),
        sa.Column("prepared_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("retired_by", sa.String(length=64), nullable=True),
        sa.Column("retired_at", UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_retirements")),
        sa.UniqueConstraint(
            "group_name",
            "product",
            "version",
            name=op.f("uq_quality_retirements_group_name_product_version"),
        ),
    )
    with op.batch_alter_table("quality_retirements") as batch:
        batch.create_index(op.f("ix_quality_retirements_group_name"), ["group_name"])
        batch.create_index(op.f("ix_quality_retirements_state"), ["state"])
    with op.batch_alter_table("quality_issue_events") as batch:
        batch.add_column(sa.Column("signature", sa.Text(), nullable=True))
    with op.batch_alter_table("quality_suppliers") as batch:
        batch.add_column(sa.Column("evaluation_months", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("quality_suppliers") as batch:
        batch.drop_column("evaluation_months")
    with op.batch_alter_table("quality_issue_events") as batch:
        batch.drop_column("signature")
    op.drop_table("quality_retirements")
    op.drop_table("quality_product_support")
