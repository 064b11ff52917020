"""The quality module's services, in one place for the plugin, its API and its pages:
issues (:mod:`.issues`), the archive (:mod:`.archive`), suppliers (:mod:`.suppliers`),
and the one query the core's decision hook asks (:meth:`QualityServices.blocks`).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa

from repo_server.plugin_api import Block, BlockScope, PluginContext, VersionRef
from repo_server.plugins.quality import rules
from repo_server.plugins.quality.archive import Archive
from repo_server.plugins.quality.issues import Issues
from repo_server.plugins.quality.models import ArchiveEntry, Quarantine
from repo_server.plugins.quality.suppliers import Suppliers


class QualityServices:
    """Every service of the quality module, built once with the plugin's context."""

    def __init__(self, context: PluginContext) -> None:
        self.context = context
        self.issues = Issues(context)
        self.archive = Archive(context)
        self.suppliers = Suppliers(context)

    def blocks(self, ref: VersionRef) -> list[Block]:
        """What stops use of ``ref``: its active quarantines (every use) and a past end of
        support (new check-outs). One query, on the two tables' version indexes."""
        quarantines = sa.select(
            sa.literal("q").label("kind"),
            Quarantine.issue_id.label("issue_id"),
            sa.cast(sa.null(), sa.Date).label("end_of_support"),
        ).where(
            Quarantine.group_name == ref.group,
            Quarantine.product == ref.product,
            Quarantine.version == ref.version,
            Quarantine.lifted_at.is_(None),
        )
        archive = sa.select(
            sa.literal("e").label("kind"),
            sa.cast(sa.null(), sa.Integer).label("issue_id"),
            ArchiveEntry.end_of_support.label("end_of_support"),
        ).where(
            ArchiveEntry.group_name == ref.group,
            ArchiveEntry.product == ref.product,
            ArchiveEntry.version == ref.version,
            ArchiveEntry.end_of_support.is_not(None),
        )
        with self.context.read() as session:
            rows: list[Any] = list(session.execute(sa.union_all(quarantines, archive)).all())
        found: list[Block] = []
        issues = [f"Q-{row.issue_id}" for row in rows if row.kind == "q"]
        if issues:
            found.append(Block(rules.SERIOUS_RULE, rules.serious_reason(issues)))
        for row in rows:
            end = _as_date(row.end_of_support)
            if row.kind == "e" and end and rules.past_end_of_support(end, self.context.now()):
                found.append(
                    Block(
                        rules.END_OF_SUPPORT_RULE,
                        rules.end_of_support_reason(end),
                        scope=BlockScope.CHECKOUT,
                    )
                )
        return found


def _as_date(value: Any) -> date | None:
    # SQLite hands a date of a UNION back as text.
    if value is None or isinstance(value, date):
        return value
    return rules.parse_date(str(value)[:10])
