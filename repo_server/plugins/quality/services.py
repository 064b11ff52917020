"""The quality module's services, in one place for the plugin, its API and its pages:
issues (:mod:`.issues`), the archive (:mod:`.archive`), suppliers (:mod:`.suppliers`),
and the one query the core's decision hook asks (:meth:`QualityServices.blocks`).
"""

from __future__ import annotations

from repo_server.plugin_api import Block, PluginContext, VersionRef
from repo_server.plugins.quality.archive import Archive
from repo_server.plugins.quality.issues import Issues
from repo_server.plugins.quality.recall import Recall
from repo_server.plugins.quality.suppliers import Suppliers
from repo_server.plugins.quality.support import Support


class QualityServices:
    """Every service of the quality module, built once with the plugin's context."""

    def __init__(self, context: PluginContext) -> None:
        self.context = context
        self.issues = Issues(context)
        self.support = Support(context)
        self.archive = Archive(context, self.support)
        self.suppliers = Suppliers(context)
        self.recall = Recall(context, self.issues)

    def blocks(self, ref: VersionRef) -> list[Block]:
        """What the module itself stops for ``ref``: every use past its end of support
        (:mod:`.support`), new check-ins of a suspended supplier's products. (Its
        quarantines are the core's facts once decided: the core refuses their use
        itself, with this module enabled or not.)"""
        return self.support.blocks(ref) + self.suppliers.blocks(ref)
