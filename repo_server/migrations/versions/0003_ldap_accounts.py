"""Directory accounts: the entry of an ldap account and when the directory last checked
it; the source of memberships and global roles (manual or ldap, so synchronisation
changes only what the directory granted)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import repo_server.db

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dn", sa.String(length=1024), nullable=True))
        batch_op.add_column(
            sa.Column(
                "directory_checked_at", repo_server.db.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column("directory_gone_at", repo_server.db.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("source", sa.String(length=16), server_default="manual", nullable=False)
        )
    with op.batch_alter_table("global_role_grants", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("source", sa.String(length=16), server_default="manual", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("global_role_grants", schema=None) as batch_op:
        batch_op.drop_column("source")
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.drop_column("source")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("directory_gone_at")
        batch_op.drop_column("directory_checked_at")
        batch_op.drop_column("dn")
