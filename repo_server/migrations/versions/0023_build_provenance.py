"""Signed build provenance: the keys groups trust for their pipelines' attestations, and
the attestations attached to versions

Revision ID: 0023
Revises: 0020
Create Date: 2026-12-03 13:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import repo_server.db

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

_When = repo_server.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "provenance_keys",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "group_id", sa.Integer(), sa.ForeignKey("groups.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("keyid", sa.String(64), nullable=False),
        sa.Column("public", sa.String(100), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", _When, nullable=False),
        sa.UniqueConstraint("group_id", "keyid"),
    )
    op.create_table(
        "attestations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("version_id", sa.Integer(), sa.ForeignKey("versions.id"), nullable=False),
        sa.Column("payload_sha256", sa.String(64), nullable=False),
        sa.Column("envelope", sa.LargeBinary(), nullable=False),
        sa.Column("keyid", sa.String(64), nullable=False),
        sa.Column("key_public", sa.String(100), nullable=False),
        sa.Column("key_name", sa.String(100), nullable=False),
        sa.Column("builder_id", sa.Text(), nullable=False),
        sa.Column("build_type", sa.Text(), nullable=False),
        sa.Column("invocation_id", sa.Text(), nullable=True),
        sa.Column("uploaded_by", sa.String(64), nullable=False),
        sa.Column("uploaded_at", _When, nullable=False),
        sa.UniqueConstraint("version_id", "payload_sha256"),
    )
    op.create_index("ix_attestations_version_id", "attestations", ["version_id"])


def downgrade() -> None:
    op.drop_index("ix_attestations_version_id", "attestations")
    op.drop_table("attestations")
    op.drop_table("provenance_keys")
