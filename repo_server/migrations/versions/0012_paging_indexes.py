"""Indexes for keyset pagination of every listing, and the versions' SemVer precedence

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-02 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from policies.versions import precedence_key

revision = "0012"
down_revision = "0010"
branch_labels = None
depends_on = None

#: (table, index name, columns): each listing's order, so a page is one index range.
_INDEXES = (
    ("versions", "ix_versions_product_id_precedence_id", ["product_id", "precedence", "id"]),
    ("requests", "ix_requests_requester_id", ["requester", "id"]),
    ("requests", "ix_requests_group_id_id", ["group_id", "id"]),
    ("requests", "ix_requests_state_id", ["state", "id"]),
    ("requests", "ix_requests_version_id_id", ["version_id", "id"]),
    ("requests", "ix_requests_product_id_kind_id", ["product_id", "kind", "id"]),
    ("audit_events", "ix_audit_events_group_name_id", ["group_name", "id"]),
    ("audit_events", "ix_audit_events_actor_id", ["actor", "id"]),
    ("audit_events", "ix_audit_events_action_id", ["action", "id"]),
    ("api_tokens", "ix_api_tokens_user_id_id", ["user_id", "id"]),
    ("api_tokens", "ix_api_tokens_group_id_id", ["group_id", "id"]),
)


def upgrade() -> None:
    with op.batch_alter_table("versions") as batch:
        batch.add_column(
            sa.Column("precedence", sa.String(length=400), nullable=False, server_default="")
        )
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT versions.id, versions.version FROM versions"
            " JOIN products ON products.id = versions.product_id"
            " WHERE products.origin = 'in_house'"
        )
    ).all()
    for version_id, version in rows:
        bind.execute(
            sa.text("UPDATE versions SET precedence = :key WHERE id = :id"),
            {"key": precedence_key(version, "in_house"), "id": version_id},
        )
    for table, name, columns in _INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for table, name, _ in reversed(_INDEXES):
        op.drop_index(name, table_name=table)
    with op.batch_alter_table("versions") as batch:
        batch.drop_column("precedence")
