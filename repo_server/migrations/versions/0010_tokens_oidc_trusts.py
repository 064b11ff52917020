"""API tokens remember the address of their last use; OIDC trusts of the groups and the
ids of the OIDC tokens already exchanged

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-02 11:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import repo_server.db

revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None

_When = repo_server.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("last_used_addr", sa.String(length=64), nullable=True))
    op.create_table(
        "oidc_trusts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("issuer", sa.String(length=500), nullable=False),
        sa.Column("audience", sa.String(length=200), nullable=False),
        sa.Column("claims", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", _When, nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.id"],
            name=op.f("fk_oidc_trusts_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_oidc_trusts_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oidc_trusts")),
    )
    op.create_index(op.f("ix_oidc_trusts_issuer"), "oidc_trusts", ["issuer"])
    op.create_table(
        "oidc_used_tokens",
        sa.Column("issuer", sa.String(length=500), nullable=False),
        sa.Column("jti", sa.String(length=200), nullable=False),
        sa.Column("expires_at", _When, nullable=False),
        sa.PrimaryKeyConstraint("issuer", "jti", name=op.f("pk_oidc_used_tokens")),
    )


def downgrade() -> None:
    op.drop_table("oidc_used_tokens")
    op.drop_index(op.f("ix_oidc_trusts_issuer"), table_name="oidc_trusts")
    op.drop_table("oidc_trusts")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("last_used_addr")
