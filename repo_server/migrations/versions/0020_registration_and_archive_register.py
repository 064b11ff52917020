"""Product registration reviewed by a version manager; the register of physical items

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03 06:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import repo_server.db

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

_When = repo_server.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    # Products registered before the review existed stay registered.
    with op.batch_alter_table("products") as batch:
        batch.add_column(
            sa.Column("registration", sa.String(16), nullable=False, server_default="registered")
        )
    with op.batch_alter_table("groups") as batch:
        batch.add_column(
            sa.Column("review_new_products", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    with op.batch_alter_table("archive_items") as batch:
        batch.alter_column("request_id", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("identifier", sa.String(100), nullable=True))
        batch.add_column(
            sa.Column("status", sa.String(16), nullable=False, server_default="in_archive")
        )
        batch.add_column(sa.Column("holder", sa.String(200), nullable=True))
        batch.add_column(sa.Column("due_at", _When, nullable=True))
        batch.add_column(sa.Column("created_at", _When, nullable=True))
        batch.add_column(sa.Column("created_by", sa.String(64), nullable=True))
    op.execute(
        "UPDATE archive_items SET identifier = 'PI-' || CAST(id AS VARCHAR(20)) "
        "WHERE identifier IS NULL"
    )
    with op.batch_alter_table("archive_items") as batch:
        batch.alter_column("identifier", existing_type=sa.String(100), nullable=False)
        batch.create_unique_constraint(op.f("uq_archive_items_identifier"), ["identifier"])
        batch.create_index(op.f("ix_archive_items_status_id"), ["status", "id"])
    op.create_table(
        "archive_item_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("at", _When, nullable=False),
        sa.Column("before", sa.String(200), nullable=False),
        sa.Column("after", sa.String(200), nullable=False),
        sa.Column("due_at", _When, nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["archive_items.id"],
            name=op.f("fk_archive_item_events_item_id_archive_items"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_archive_item_events")),
    )
    op.create_index(
        op.f("ix_archive_item_events_item_id_id"), "archive_item_events", ["item_id", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_archive_item_events_item_id_id", table_name="archive_item_events")
    op.drop_table("archive_item_events")
    with op.batch_alter_table("archive_items") as batch:
        batch.drop_index("ix_archive_items_status_id")
        batch.drop_constraint("uq_archive_items_identifier", type_="unique")
        for column in ("created_by", "created_at", "due_at", "holder", "status", "identifier"):
            batch.drop_column(column)
        batch.alter_column("request_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("groups") as batch:
        batch.drop_column("review_new_products")
    with op.batch_alter_table("products") as batch:
        batch.drop_column("registration")
