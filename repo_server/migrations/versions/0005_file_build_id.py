"""The build identifier of each file in a column of its own, indexed, so that every
version of one build batch is found at once (a serious quality issue stops the batch)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 13:00:00
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.add_column(sa.Column("build_id", sa.String(length=200), nullable=True))
        batch_op.create_index(batch_op.f("ix_files_build_id"), ["build_id"], unique=False)
    files = sa.table(
        "files",
        sa.column("id", sa.Integer),
        sa.column("build", sa.Text),
        sa.column("build_id", sa.String),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(files.c.id, files.c.build).where(files.c.build.is_not(None))
    )
    for file_id, build in rows.all():
        build_id = (json.loads(build) or {}).get("build_id")
        if build_id:
            connection.execute(
                files.update().where(files.c.id == file_id).values(build_id=build_id)
            )


def downgrade() -> None:
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_files_build_id"))
        batch_op.drop_column("build_id")
