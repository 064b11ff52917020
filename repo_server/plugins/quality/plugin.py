"""The quality module as a Depot plugin: the entry point ``quality``
(``repo_server.plugins.quality.plugin:Quality``).

It answers the core's decision hook (a confirmed serious issue quarantines its build
batch; a version past its end of support gets no new check-outs), mounts its API under
``/api/v1/quality`` (its routes declare their shapes, shown in the OpenAPI
document) and its pages under ``/quality``,
and adds a box to version pages.
"""

from __future__ import annotations

from flask import render_template, url_for
from markupsafe import Markup

from repo_server.plugin_api import (
    Block,
    Caller,
    NavLink,
    Panel,
    PluginContext,
    PluginRoutes,
    VersionEvent,
    VersionRef,
    gettext,
    hookimpl,
)
from repo_server.plugins.quality.api import build_api
from repo_server.plugins.quality.notices import notices_of
from repo_server.plugins.quality.services import QualityServices
from repo_server.plugins.quality.views import build_pages
from repo_server.plugins.quality.words import ACTIONS, page_words


class Quality:
    """Built once when the server starts, with its :class:`PluginContext`."""

    def __init__(self, context: PluginContext) -> None:
        self.context = context
        self.services = QualityServices(context)

    @hookimpl
    def depot_version_blocks(self, version: VersionRef) -> list[Block]:
        """A version past its end of support is withdrawn (every use stops)."""
        return self.services.blocks(version)

    @hookimpl
    def depot_version_event(self, event: VersionEvent) -> None:
        """A retired version closes its retirement request."""
        self.services.support.retired(event)

    @hookimpl
    def depot_routes(self) -> PluginRoutes:
        return PluginRoutes(
            api=build_api(self.services),
            pages=build_pages(self.services),
            nav=[NavLink("Quality", "quality_pages.index")],
            actions=ACTIONS,
        )

    @hookimpl
    def depot_version_panels(self, version: VersionRef, caller: Caller) -> list[Panel]:
        """The quality box of a version page: quarantine, issues, archive, a report link."""
        services = self.services
        facts = services.context.version(caller, version.group, version.product, version.version)
        issues = services.issues.search(caller, ref=str(version)).items
        quarantines = services.issues.quarantines(caller, ref=version).items
        notices = [
            n for n in notices_of(services.context, caller).items if str(version) in n["versions"]
        ]
        html = render_template(
            "quality/_panel.html",
            ref=str(version),
            issues=issues,
            quarantines=quarantines,
            notices=notices,
            archive=services.archive.of(facts),
            report_url=url_for("quality_pages.report", version=str(version)),
            **page_words(),  # rendered on the core's version page: the module's words too
        )
        # Jinja autoescapes the template, so its output is safe HTML.
        return [Panel(gettext("Quality"), Markup(html))]  # noqa: S704
