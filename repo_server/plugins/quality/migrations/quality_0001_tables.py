"""The quality module's tables: issues and their record, quarantines, the quality archive,
suppliers and their evaluations

Revision ID: quality_0001
Revises:
Create Date: 2026-12-01 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from repo_server.plugin_api import UTCDateTime

revision = "quality_0001"
down_revision = None
branch_labels = ("quality",)
depends_on = "0005"


def _when(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "quality_issues",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_name", sa.String(length=100), nullable=False),
        sa.Column("product", sa.String(length=100), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("issue_class", sa.String(length=16), nullable=False),
        sa.Column("supplier", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("cause", sa.String(length=16), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("reported_by", sa.String(length=64), nullable=False),
        _when("reported_at"),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        _when("decided_at", True),
        sa.Column("closed_by", sa.String(length=64), nullable=True),
        _when("closed_at", True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_issues")),
    )
    with op.batch_alter_table("quality_issues") as batch:
        batch.create_index("ix_quality_issues_version", ["group_name", "product", "version"])
        batch.create_index(op.f("ix_quality_issues_supplier"), ["supplier"])
        batch.create_index(op.f("ix_quality_issues_status"), ["status"])
        batch.create_index(op.f("ix_quality_issues_reported_at"), ["reported_at"])

    op.create_table(
        "quality_issue_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issue_id", sa.Integer(), nullable=False),
        _when("at"),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("step", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["issue_id"],
            ["quality_issues.id"],
            name=op.f("fk_quality_issue_events_issue_id_quality_issues"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_issue_events")),
    )
    with op.batch_alter_table("quality_issue_events") as batch:
        batch.create_index(op.f("ix_quality_issue_events_issue_id"), ["issue_id"])

    op.create_table(
        "quality_quarantines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issue_id", sa.Integer(), nullable=False),
        sa.Column("group_name", sa.String(length=100), nullable=False),
        sa.Column("product", sa.String(length=100), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("batch", sa.Text(), nullable=False),
        _when("started_at"),
        sa.Column("started_by", sa.String(length=64), nullable=False),
        _when("lifted_at", True),
        sa.Column("lifted_by", sa.String(length=64), nullable=True),
        sa.Column("lift_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["issue_id"],
            ["quality_issues.id"],
            name=op.f("fk_quality_quarantines_issue_id_quality_issues"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_quarantines")),
    )
    with op.batch_alter_table("quality_quarantines") as batch:
        batch.create_index("ix_quality_quarantines_version", ["group_name", "product", "version"])
        batch.create_index(op.f("ix_quality_quarantines_issue_id"), ["issue_id"])

    op.create_table(
        "quality_archive",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_name", sa.String(length=100), nullable=False),
        sa.Column("product", sa.String(length=100), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("build_batch", sa.Text(), nullable=True),
        sa.Column("build_date", sa.Date(), nullable=True),
        sa.Column("end_of_support", sa.Date(), nullable=True),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        _when("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_archive")),
        sa.UniqueConstraint(
            "group_name",
            "product",
            "version",
            name=op.f("uq_quality_archive_group_name_product_version"),
        ),
    )
    with op.batch_alter_table("quality_archive") as batch:
        batch.create_index(op.f("ix_quality_archive_end_of_support"), ["end_of_support"])

    op.create_table(
        "quality_suppliers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("qualification", sa.Text(), nullable=False),
        sa.Column("qualified_until", sa.Date(), nullable=True),
        sa.Column("contact", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        _when("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_suppliers")),
        sa.UniqueConstraint("name", name=op.f("uq_quality_suppliers_name")),
    )

    op.create_table(
        "quality_supplier_evaluations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("evaluator", sa.String(length=64), nullable=False),
        _when("at"),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["quality_suppliers.id"],
            name=op.f("fk_quality_supplier_evaluations_supplier_id_quality_suppliers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_supplier_evaluations")),
        sa.UniqueConstraint(
            "supplier_id",
            "period",
            name=op.f("uq_quality_supplier_evaluations_supplier_id_period"),
        ),
    )


def downgrade() -> None:
    op.drop_table("quality_supplier_evaluations")
    op.drop_table("quality_suppliers")
    op.drop_table("quality_archive")
    op.drop_table("quality_quarantines")
    op.drop_table("quality_issue_events")
    op.drop_table("quality_issues")
