"""The public plugin API: the only module of the core a plugin imports.

A plugin is a class (or a module) with methods marked ``@hookimpl``, named after the hook
specifications below, published under the ``depot.plugins`` entry-point group and enabled
with the ``plugins`` setting (``DEPOT_PLUGINS=quality,product_service``). A class is built
once, when the server starts, with its :class:`PluginContext` (the database, the audit
trail, the caller of a request, versions as facts). The host checks every marked method
against these specifications: a misspelt hook stops the start with its name.

A plugin with tables publishes its Alembic migrations folder under the
``depot.migrations`` entry-point group (see :mod:`repo_server.migrate`); one with pages,
API routes and version-page panels answers :meth:`DepotHooks.depot_routes` and
:meth:`DepotHooks.depot_version_panels`.

Hooks receive frozen data objects, never database rows. Event hooks run after the action
committed; a plugin that raises there is logged and audited and never undoes anything.
Decision hooks return facts (:class:`Block`) that :mod:`policies` weighs; a plugin never
grants access, it can only report what stops use of a version.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pluggy
from flask import Blueprint
from markupsafe import Markup

from policies.access import GlobalRole
from policies.lifecycle import Block, BlockScope
from repo_server.api.contract import ApiBlueprint, Header, Reply
from repo_server.api.http import json_body
from repo_server.api.schemas.common import Body, Day, DayOrEmpty, Moment, OneOf, Out, Query
from repo_server.clock import iso
from repo_server.db import NAMING, UTCDateTime
from repo_server.errors import Conflict, DepotError, Forbidden, InvalidRequest, NotFound
from repo_server.plugin_context import Caller, PluginContext, ProductFacts, VersionFacts

PROJECT = "depot"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@dataclass(frozen=True)
class VersionRef:
    """A version by its names."""

    group: str
    product: str
    version: str

    def __str__(self) -> str:
        return f"{self.group}/{self.product}@{self.version}"


@dataclass(frozen=True)
class VersionEvent:
    """Something that happened to a version and was committed.

    ``action`` is the audit action (``acceptance.pass``, ``checkin.approve``,
    ``checkout.approve``, ``version.retire``...), ``state`` the version's state after it.
    """

    action: str
    version: VersionRef
    state: str
    actor: str
    at: datetime
    request_id: int | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NavLink:
    """A link in the pages' top bar: its text and the Flask endpoint it goes to."""

    label: str
    endpoint: str


@dataclass(frozen=True)
class PluginRoutes:
    """What a plugin adds to the web server.

    ``api`` is mounted under ``/api/v1`` (bearer tokens, as the core's API; the caller is
    :meth:`PluginContext.caller`; errors answer ``{"error", "message"}``); ``pages`` are
    signed-in pages (a visitor without a session goes to the sign-in page; forms must carry
    ``csrf_token()``; templates may extend ``base.html``); ``nav`` are top-bar links.
    """

    api: Blueprint | None = None
    pages: Blueprint | None = None
    nav: Sequence[NavLink] = ()


@dataclass(frozen=True)
class Panel:
    """A box on a version's page: a title and HTML the plugin rendered (escaped)."""

    title: str
    html: Markup


#: The global role of the person who decides on serious quality issues.
QUALITY_MANAGER = GlobalRole.QUALITY_MANAGER.value


class DepotHooks:
    """The hook specifications (who calls each hook, when, and what its answer means)."""

    @hookspec
    def depot_version_event(self, event: VersionEvent) -> None:
        """Called after a lifecycle action on a version committed (acceptance decisions,
        check-in and check-out approvals, retirement). The answer is ignored; an exception
        is logged and audited as ``plugin.error`` and changes nothing."""

    @hookspec
    def depot_version_blocks(self, version: VersionRef) -> Sequence[Block] | None:
        """Called before a download, a check-out request or a check-out approval of
        ``version``. Return the facts that stop its use (for example
        ``Block("quality.serious_issue", "serious quality issue Q-17 confirmed")``), or
        nothing. Any block refuses the step; a plugin that raises here counts as a block
        (the server fails closed) and is audited.

        A block with ``scope=BlockScope.CHECKOUT`` stops new check-outs only (requests and
        approvals), not downloads under a check-out already approved."""

    @hookspec
    def depot_routes(self) -> PluginRoutes | None:
        """Called once, when the app is built: the plugin's API routes, pages and top-bar
        links (see :class:`PluginRoutes`)."""

    @hookspec
    def depot_version_panels(self, version: VersionRef, caller: Caller) -> Sequence[Panel] | None:
        """Called when a version's page is shown to ``caller`` (who may see it): boxes to
        add to the page. A plugin that raises is audited and its panel says so; the page
        is shown."""


__all__ = [
    "NAMING",
    "QUALITY_MANAGER",
    "ApiBlueprint",
    "Block",
    "BlockScope",
    "Body",
    "Caller",
    "Conflict",
    "Day",
    "DayOrEmpty",
    "DepotError",
    "DepotHooks",
    "Forbidden",
    "Header",
    "InvalidRequest",
    "Moment",
    "NavLink",
    "NotFound",
    "OneOf",
    "Out",
    "Panel",
    "PluginContext",
    "PluginRoutes",
    "ProductFacts",
    "Query",
    "Reply",
    "UTCDateTime",
    "VersionEvent",
    "VersionFacts",
    "VersionRef",
    "hookimpl",
    "hookspec",
    "iso",
    "json_body",
]
