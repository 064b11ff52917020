"""An index on a version's state: the inbox reads the few versions in a passing state
(submitted, accepted) to find the requests its reader could decide

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-03 18:40:00
"""

from __future__ import annotations

from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_versions_state_id", "versions", ["state", "id"])


def downgrade() -> None:
    op.drop_index("ix_versions_state_id", table_name="versions")
