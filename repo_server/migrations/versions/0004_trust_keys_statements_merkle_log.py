"""Integrity: keyrings, approval statements, status documents, personal keys, the audit
log as a Merkle tree (leaf per audit record, subtree hashes, signed checkpoints), manifests
on versions, build provenance on files, and the personal-signature setting of groups

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 09:00:00
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import sqlalchemy as sa
from alembic import op

import repo_server.db
from repo_server.trust.log import encode_leaf, leaf_time

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_BigInt = sa.BigInteger().with_variant(sa.Integer, "sqlite")
_When = repo_server.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "trust_keyrings",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("envelope", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", _When, nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_trust_keyrings")),
    )
    op.create_table(
        "statements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("attestation", sa.String(length=16), nullable=False),
        sa.Column("payload_sha256", sa.String(length=64), nullable=False),
        sa.Column("envelope", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", _When, nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"], ["requests.id"], name=op.f("fk_statements_request_id_requests")
        ),
        sa.ForeignKeyConstraint(
            ["version_id"], ["versions.id"], name=op.f("fk_statements_version_id_versions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statements")),
        sa.UniqueConstraint("payload_sha256", name=op.f("uq_statements_payload_sha256")),
        sa.UniqueConstraint("version_id", "seq", name=op.f("uq_statements_version_id_seq")),
    )
    op.create_index(op.f("ix_statements_version_id"), "statements", ["version_id"])
    op.create_table(
        "version_status",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("serial", _BigInt, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("envelope", sa.LargeBinary(), nullable=False),
        sa.Column("expires_at", _When, nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"], ["versions.id"], name=op.f("fk_version_status_version_id_versions")
        ),
        sa.PrimaryKeyConstraint("version_id", name=op.f("pk_version_status")),
    )
    op.create_table(
        "person_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("keyid", sa.String(length=64), nullable=False),
        sa.Column("public", sa.String(length=100), nullable=False),
        sa.Column("certificate", sa.LargeBinary(), nullable=False),
        sa.Column("registered_at", _When, nullable=False),
        sa.Column("revoked_at", _When, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_keys")),
        sa.UniqueConstraint("keyid", name=op.f("uq_person_keys_keyid")),
    )
    op.create_index(op.f("ix_person_keys_username"), "person_keys", ["username"])
    op.create_table(
        "log_nodes",
        sa.Column("level", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("idx", _BigInt, autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name=op.f("pk_log_nodes")),
    )
    op.create_table(
        "log_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("size", _BigInt, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_log_state")),
    )
    op.create_table(
        "log_checkpoints",
        sa.Column("size", _BigInt, autoincrement=False, nullable=False),
        sa.Column("root", sa.LargeBinary(length=32), nullable=False),
        sa.Column("envelope", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", _When, nullable=False),
        sa.PrimaryKeyConstraint("size", name=op.f("pk_log_checkpoints")),
    )
    with op.batch_alter_table("versions") as batch:
        batch.add_column(sa.Column("manifest", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("manifest_sha256", sa.String(length=64), nullable=True))
    with op.batch_alter_table("files") as batch:
        batch.add_column(sa.Column("build", sa.Text(), nullable=True))
    with op.batch_alter_table("groups") as batch:
        batch.add_column(
            sa.Column(
                "require_personal_checkin",
                sa.Boolean(),
                server_default=sa.false(),
                nullable=False,
            )
        )
    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(sa.Column("leaf_index", _BigInt, nullable=True))
        batch.add_column(sa.Column("leaf", sa.LargeBinary(), nullable=True))
    _backfill_log()
    with op.batch_alter_table("audit_events") as batch:
        batch.alter_column("leaf_index", existing_type=_BigInt, nullable=False)
        batch.alter_column("leaf", existing_type=sa.LargeBinary(), nullable=False)
        batch.create_unique_constraint(op.f("uq_audit_events_leaf_index"), ["leaf_index"])


def _backfill_log() -> None:
    """Make the records written before this revision the first leaves, in id order."""
    bind = op.get_bind()
    names = ("id", "actor", "token", "role", "action", "outcome", "group_name", "target",
             "rule", "reason", "remote_addr", "details", "leaf_index", "leaf")  # fmt: skip
    events = sa.table("audit_events", sa.column("at", _When), *(sa.column(n) for n in names))
    nodes = sa.table("log_nodes", sa.column("level"), sa.column("idx"), sa.column("hash"))
    frontier: list[tuple[int, bytes]] = []  # (level, hash) of the right edge, left to right
    size = 0
    for row in bind.execute(sa.select(events).order_by(events.c.id)).mappings().all():
        record: dict[str, Any] = {
            "index": size,
            "at": leaf_time(row["at"]),
            "actor": row["actor"],
            "token": row["token"],
            "role": row["role"],
            "action": row["action"],
            "outcome": row["outcome"],
            "group": row["group_name"],
            "target": row["target"],
            "rule": row["rule"],
            "reason": row["reason"],
            "remote_addr": row["remote_addr"],
            "details": json.loads(row["details"] or "{}"),
        }
        leaf = encode_leaf(record)
        bind.execute(
            events.update().where(events.c.id == row["id"]).values(leaf_index=size, leaf=leaf)
        )
        digest = hashlib.sha256(b"\x00" + leaf).digest()
        level, position = 0, size
        bind.execute(nodes.insert().values(level=0, idx=size, hash=digest))
        while position % 2 == 1:
            _, left = frontier.pop()
            digest = hashlib.sha256(b"\x01" + left + digest).digest()
            level, position = level + 1, position // 2
            bind.execute(nodes.insert().values(level=level, idx=position, hash=digest))
        frontier.append((level, digest))
        size += 1
    log_state = sa.table("log_state", sa.column("id"), sa.column("size"))
    bind.execute(log_state.insert().values(id=1, size=size))


def downgrade() -> None:
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_constraint(op.f("uq_audit_events_leaf_index"), type_="unique")
        batch.drop_column("leaf")
        batch.drop_column("leaf_index")
    with op.batch_alter_table("groups") as batch:
        batch.drop_column("require_personal_checkin")
    with op.batch_alter_table("files") as batch:
        batch.drop_column("build")
    with op.batch_alter_table("versions") as batch:
        batch.drop_column("manifest_sha256")
        batch.drop_column("manifest")
    op.drop_table("log_checkpoints")
    op.drop_table("log_state")
    op.drop_table("log_nodes")
    op.drop_index(op.f("ix_person_keys_username"), table_name="person_keys")
    op.drop_table("person_keys")
    op.drop_table("version_status")
    op.drop_index(op.f("ix_statements_version_id"), table_name="statements")
    op.drop_table("statements")
    op.drop_table("trust_keyrings")
