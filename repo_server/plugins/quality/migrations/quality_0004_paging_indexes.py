"""Indexes for paging the quarantines, the stop-use notices and the versions past their
end of support

Revision ID: quality_0004
Revises: quality_0003
Create Date: 2026-12-03 14:10:00
"""

from __future__ import annotations

from alembic import op

revision = "quality_0004"
down_revision = "quality_0003"
branch_labels = None
depends_on = None

#: (table, index name, columns): each listing's order, so a page is one index range.
_INDEXES = (
    ("quality_quarantines", "ix_quality_quarantines_group_name_id", ["group_name", "id"]),
    ("quality_notices", "ix_quality_notices_person_id", ["person", "id"]),
    ("quality_archive", "ix_quality_archive_end_of_support_id", ["end_of_support", "id"]),
)


def upgrade() -> None:
    for table, name, columns in _INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for table, name, _ in reversed(_INDEXES):
        op.drop_index(name, table_name=table)
