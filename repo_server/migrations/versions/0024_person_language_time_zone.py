"""A person's language and time zone for the pages and the mail

Revision ID: 0024
Revises: 0020
Create Date: 2026-12-03 13:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notification_settings") as batch:
        batch.add_column(
            sa.Column("language", sa.String(length=16), nullable=False, server_default="")
        )
        batch.add_column(
            sa.Column("time_zone", sa.String(length=64), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("notification_settings") as batch:
        batch.drop_column("time_zone")
        batch.drop_column("language")
