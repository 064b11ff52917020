"""The module's active quarantines become the core's (revision 0016): from then on they
hold with the module disabled, until the module lifts them; stop-use notices

Revision ID: quality_0003
Revises: quality_0002
Create Date: 2026-12-03 06:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from repo_server.plugin_api import UTCDateTime

revision = "quality_0003"
down_revision = "quality_0002"
branch_labels = None
depends_on = "0016"

_MINE = sa.table(
    "quality_quarantines",
    sa.column("id", sa.Integer()),
    sa.column("issue_id", sa.Integer()),
    sa.column("group_name", sa.String()),
    sa.column("product", sa.String()),
    sa.column("version", sa.String()),
    sa.column("batch", sa.Text()),
    sa.column("started_at", UTCDateTime()),
    sa.column("started_by", sa.String()),
    sa.column("lifted_at", UTCDateTime()),
)
_CORE = sa.table(
    "quarantines",
    sa.column("id", sa.Integer()),
    sa.column("source", sa.String()),
    sa.column("reference", sa.String()),
    sa.column("rule", sa.String()),
    sa.column("reason", sa.Text()),
    sa.column("started_at", UTCDateTime()),
    sa.column("started_by", sa.String()),
)
_COVERS = sa.table(
    "quarantine_covers",
    sa.column("quarantine_id", sa.Integer()),
    sa.column("kind", sa.String()),
    sa.column("value", sa.String()),
)


def upgrade() -> None:
    op.create_table(
        "quality_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issue_id", sa.Integer(), nullable=False),
        sa.Column("person", sa.String(length=64), nullable=False),
        sa.Column("versions", sa.Text(), nullable=False),
        sa.Column("sent_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["issue_id"],
            ["quality_issues.id"],
            name=op.f("fk_quality_notices_issue_id_quality_issues"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_notices")),
        sa.UniqueConstraint("issue_id", "person", name=op.f("uq_quality_notices_issue_id_person")),
    )
    with op.batch_alter_table("quality_notices") as batch:
        batch.create_index(op.f("ix_quality_notices_issue_id"), ["issue_id"])
        batch.create_index(op.f("ix_quality_notices_person"), ["person"])
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(_MINE).where(_MINE.c.lifted_at.is_(None)).order_by(_MINE.c.id)
    ).all()
    by_issue: dict[int, list[sa.Row]] = {}  # type: ignore[type-arg]
    for row in rows:
        by_issue.setdefault(row.issue_id, []).append(row)
    for issue_id, found in by_issue.items():
        number = f"Q-{issue_id}"
        new_id = bind.execute(
            _CORE.insert()
            .values(
                source="quality",
                reference=number,
                rule="quality.serious_issue",
                reason=f"serious quality issue {number} confirmed: the build batch is quarantined",
                started_at=found[0].started_at,
                started_by=found[0].started_by,
            )
            .returning(_CORE.c.id)
        ).scalar_one()
        covers = {("version", f"{r.group_name}/{r.product}@{r.version}") for r in found}
        covers |= {("build", b) for r in found for b in r.batch.split(",") if b}
        if covers:
            bind.execute(
                _COVERS.insert(),
                [{"quarantine_id": new_id, "kind": k, "value": v} for k, v in sorted(covers)],
            )


def downgrade() -> None:
    # The core's quarantines stay: a downgrade of the module never lifts a stop.
    op.drop_table("quality_notices")
