"""Indexes for keyset pagination of the smaller listings: a version's feedback and
history, a group's OIDC trusts, a person's keys

Revision ID: 0027
Revises: 0020
Create Date: 2026-12-03 14:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0027"
down_revision = "0024"
branch_labels = None
depends_on = None

#: (table, index name, columns): each listing's order, so a page is one index range.
_INDEXES = (
    ("feedback", "ix_feedback_version_id_id", ["version_id", "id"]),
    ("oidc_trusts", "ix_oidc_trusts_group_id_id", ["group_id", "id"]),
    ("person_keys", "ix_person_keys_username_id", ["username", "id"]),
)


def upgrade() -> None:
    for table, name, columns in _INDEXES:
        op.create_index(name, table, columns)
    # A version's history: its own target, and its files' (``LIKE 'g/p@v/%'``, which a
    # PostgreSQL index answers only with the pattern operator class).
    op.create_index(
        "ix_audit_events_target_id",
        "audit_events",
        ["target", "id"],
        postgresql_ops={"target": "varchar_pattern_ops"},
    )


def downgrade() -> None:
    op.drop_index("ix_audit_events_target_id", table_name="audit_events")
    for table, name, _ in reversed(_INDEXES):
        op.drop_index(name, table_name=table)
