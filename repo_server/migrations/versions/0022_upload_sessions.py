"""Upload sessions: a file arriving in parts, resumable, committed when the whole matches

Revision ID: 0022
Revises: 0020
Create Date: 2026-12-03 13:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import repo_server.db

revision = "0022"
down_revision = "0020"
branch_labels = None
depends_on = None

_When = repo_server.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "upload_sessions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("version_id", sa.Integer(), sa.ForeignKey("versions.id"), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("part_size", sa.BigInteger(), nullable=False),
        sa.Column("staging", sa.String(300), nullable=False),
        sa.Column("media_type", sa.String(127), nullable=True),
        sa.Column("build", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", _When, nullable=False),
        sa.Column("updated_at", _When, nullable=False),
        sa.Column("busy_until", _When, nullable=True),
    )
    op.create_index("ix_upload_sessions_version_name", "upload_sessions", ["version_id", "name"])
    op.create_index("ix_upload_sessions_updated_at", "upload_sessions", ["updated_at"])
    op.create_table(
        "upload_parts",
        sa.Column(
            "session_id",
            sa.Integer(),
            sa.ForeignKey("upload_sessions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("number", sa.Integer(), primary_key=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("end", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("state", sa.LargeBinary(), nullable=False),
        sa.Column("etag", sa.String(200), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("upload_parts")
    op.drop_index("ix_upload_sessions_updated_at", table_name="upload_sessions")
    op.drop_index("ix_upload_sessions_version_name", table_name="upload_sessions")
    op.drop_table("upload_sessions")
