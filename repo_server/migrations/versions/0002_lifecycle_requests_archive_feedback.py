"""The governed lifecycle: requests, archived physical items, usage feedback, audit roles

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 04:31:35.626576
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import repo_server.db

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", repo_server.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"], ["versions.id"], name=op.f("fk_feedback_version_id_versions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback")),
    )
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_feedback_version_id"), ["version_id"], unique=False)

    op.create_table(
        "requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=True),
        sa.Column("target_version", sa.String(length=64), nullable=True),
        sa.Column("requester", sa.String(length=64), nullable=False),
        sa.Column("requester_role", sa.String(length=32), nullable=False),
        sa.Column("assigned_to", sa.String(length=64), nullable=True),
        sa.Column("created_at", repo_server.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_role", sa.String(length=32), nullable=True),
        sa.Column("decided_at", repo_server.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("expires_at", repo_server.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["group_id"], ["groups.id"], name=op.f("fk_requests_group_id_groups")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_requests_product_id_products")
        ),
        sa.ForeignKeyConstraint(
            ["version_id"], ["versions.id"], name=op.f("fk_requests_version_id_versions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_requests")),
    )
    with op.batch_alter_table("requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_requests_group_id"), ["group_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_requests_product_id"), ["product_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_requests_requester"), ["requester"], unique=False)
        batch_op.create_index("ix_requests_state_kind", ["state", "kind"], unique=False)
        batch_op.create_index("ix_requests_version_kind", ["version_id", "kind"], unique=False)

    op.create_table(
        "archive_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=100), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("location", sa.String(length=200), nullable=False),
        sa.Column("custodian", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"], ["requests.id"], name=op.f("fk_archive_items_request_id_requests")
        ),
        sa.ForeignKeyConstraint(
            ["version_id"], ["versions.id"], name=op.f("fk_archive_items_version_id_versions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_archive_items")),
    )
    with op.batch_alter_table("archive_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_archive_items_version_id"), ["version_id"], unique=False
        )

    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("role", sa.String(length=32), nullable=False, server_default="")
        )

    with op.batch_alter_table("versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("library_number", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("upgrade_request_id", sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_versions_product_id_library_number"), ["product_id", "library_number"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_versions_upgrade_request_id_requests"),
            "requests",
            ["upgrade_request_id"],
            ["id"],
            use_alter=True,
        )


def downgrade() -> None:
    with op.batch_alter_table("versions", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_versions_upgrade_request_id_requests"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("uq_versions_product_id_library_number"), type_="unique"
        )
        batch_op.drop_column("upgrade_request_id")
        batch_op.drop_column("library_number")

    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_column("role")

    with op.batch_alter_table("archive_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_archive_items_version_id"))

    op.drop_table("archive_items")
    with op.batch_alter_table("requests", schema=None) as batch_op:
        batch_op.drop_index("ix_requests_version_kind")
        batch_op.drop_index("ix_requests_state_kind")
        batch_op.drop_index(batch_op.f("ix_requests_requester"))
        batch_op.drop_index(batch_op.f("ix_requests_product_id"))
        batch_op.drop_index(batch_op.f("ix_requests_group_id"))

    op.drop_table("requests")
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feedback_version_id"))

    op.drop_table("feedback")
