"""The product-service module (售前/售中/售后服务) as a Depot plugin.

Service tickets and complaints against a product version, worked step by step from
registration to a follow-up visit, complaints on clocks (first response, first
verification), free service within the warranty, and an analysis per product and version.
See docs/product-service.md.
"""

from __future__ import annotations

from collections.abc import Sequence

from flask import render_template, url_for
from markupsafe import Markup

from repo_server.plugin_api import (
    Caller,
    DepotError,
    NavLink,
    Panel,
    PluginContext,
    PluginRoutes,
    VersionRef,
    gettext,
    hookimpl,
)
from repo_server.plugins.product_service.analysis import Analysis
from repo_server.plugins.product_service.fields import ticket_number
from repo_server.plugins.product_service.rules import OptionsError, parse_options
from repo_server.plugins.product_service.services import ServiceDesk
from repo_server.plugins.product_service.words import ACTIONS, NAV, page_words


class ServiceOptionsError(DepotError):
    """The ``[plugin.product_service]`` table has a wrong option: the server does not start."""

    status = 500
    code = "plugin.options"


class ProductService:
    """The plugin: built once with its context; its options are checked here."""

    def __init__(self, context: PluginContext) -> None:
        self.context = context
        try:
            self.options = parse_options(context.options)
        except OptionsError as error:
            raise ServiceOptionsError(f"[plugin.{context.name}] {error}") from None
        self.desk = ServiceDesk(context, self.options)
        self.analysis = Analysis(context, self.options)

    @staticmethod
    def number(text: str) -> int:
        """The id in a ticket number such as ``S-12``."""
        return ticket_number(text)

    @hookimpl
    def depot_routes(self) -> PluginRoutes:
        from repo_server.plugins.product_service.api import build_api
        from repo_server.plugins.product_service.views import build_pages

        return PluginRoutes(
            api=build_api(self.context, self.desk, self.analysis),
            pages=build_pages(self.context, self.desk, self.analysis),
            nav=(NavLink(NAV, "service_pages.index"),),
            actions=ACTIONS,
        )

    @hookimpl
    def depot_version_panels(self, version: VersionRef, caller: Caller) -> Sequence[Panel]:
        counts = self.desk.version_counts(caller, version.group, version.product, version.version)
        html = render_template(
            "product_service/_panel.html",
            ref=version,
            counts=counts,
            tickets_url=url_for(
                "service_pages.index",
                group=version.group,
                product=version.product,
                version=version.version,
                show="all",
            ),
            new_url=url_for("service_pages.new", ref=str(version)),
            **page_words(),  # rendered on the core's version page: the module's words too
        )
        # Rendered by Jinja with autoescaping: what people typed is already escaped.
        return [Panel(gettext("Service tickets"), Markup(html))]  # noqa: S704
