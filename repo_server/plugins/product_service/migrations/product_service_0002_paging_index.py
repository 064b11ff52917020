"""An index for paging the service tickets of a group, newest first

Revision ID: product_service_0002
Revises: product_service_0001
Create Date: 2026-12-02 18:00:00
"""

from __future__ import annotations

from alembic import op

revision = "product_service_0002"
down_revision = "product_service_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_service_tickets_group_name_id", "service_tickets", ["group_name", "id"])


def downgrade() -> None:
    op.drop_index("ix_service_tickets_group_name_id", table_name="service_tickets")
