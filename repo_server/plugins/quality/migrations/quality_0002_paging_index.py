"""An index for paging the quality issues of a group, newest first

Revision ID: quality_0002
Revises: quality_0001
Create Date: 2026-12-02 18:00:00
"""

from __future__ import annotations

from alembic import op

revision = "quality_0002"
down_revision = "quality_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_quality_issues_group_name_id", "quality_issues", ["group_name", "id"])


def downgrade() -> None:
    op.drop_index("ix_quality_issues_group_name_id", table_name="quality_issues")
