"""Directory accounts are bound to their entry's permanent id (entryUUID, objectGUID):
a new entry under a departed person's name is a new person (issue 13 §4)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 06:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing accounts get their id at their next sign-in or sync (docs/ldap.md).
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("directory_id", sa.String(length=255), nullable=True))
    op.create_index("ix_users_directory_id", "users", ["directory_id"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_users_directory_id", table_name="users")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("directory_id")
