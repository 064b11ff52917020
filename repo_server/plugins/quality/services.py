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
from repo_server.plugins.quality.models import ArchiveEntry
from repo_server.plugins.quality.recall import Recall
from repo_server.plugins.quality.suppliers import Suppliers


class QualityServices:
    """Every service of the quality module, built once with the plugin's context."""

    def __init__(self, context: PluginContext) -> None:
        self.context = context
        self.issues = Issues(context)
        self.archive = Archive(context)
        self.suppliers = Suppliers(context)
        self.recall = Recall(context, self.issues)

    def blocks(self, ref: VersionRef) -> list[Block]:
        """What the module itself stops for ``ref``: new check-outs past its end of
        support. (Its quarantines are the core's facts once decided: the core refuses
        their use itself, with this module enabled or not.)"""
        with self.context.read() as session:
            end = _as_date(
                session.scalar(
                    sa.select(ArchiveEntry.end_of_support).where(
                        ArchiveEntry.group_name == ref.group,
                        ArchiveEntry.product == ref.product,
                        ArchiveEntry.version == ref.version,
                    )
                )
            )
        if end is None or not rules.past_end_of_support(end, self.context.now()):
            return []
        return [
            Block(
                rules.END_OF_SUPPORT_RULE,
                rules.end_of_support_reason(end),
                scope=BlockScope.CHECKOUT,
            )
        ]


def _as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return rules.parse_date(str(value)[:10])
