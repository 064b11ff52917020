"""Enrolment documents signed by the offline enrollment role; personal keys are enrolled by
them instead of being certified by the online release key

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 21:00:00

Keys registered before this revision lose their release-signed certificate and wait for
the first enrolment ceremony (``depot-server keys enroll``), which lists them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import repo_server.db

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_BigInt = sa.BigInteger().with_variant(sa.Integer, "sqlite")
_When = repo_server.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "trust_enrollments",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("envelope", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", _When, nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_trust_enrollments")),
    )
    with op.batch_alter_table("person_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("enrolled_version", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("revoked_from", _BigInt, nullable=True))
        batch_op.drop_column("certificate")


def downgrade() -> None:
    with op.batch_alter_table("person_keys", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("certificate", sa.LargeBinary(), nullable=False, server_default="")
        )
        batch_op.drop_column("revoked_from")
        batch_op.drop_column("enrolled_version")
    op.drop_table("trust_enrollments")
