"""The public plugin API: the only module of the core a plugin imports.

A façade (as pulpcore's ``pulpcore.plugin``): it defines nothing and only re-exports what
plugins may use — the hook specifications and their frozen types from
:mod:`repo_server.hooks`, the context from :mod:`repo_server.plugin_context`, the errors,
the request and OpenAPI helpers, the pages' gettext functions (Flask-Babel's ``gettext``,
``ngettext`` and ``lazy_gettext``: a page speaks the person's language, the catalogs are the
core's, ``make translations`` extracts the plugins' messages too; ``N_`` marks a message a
service raises — English on the API, said in the page's language by ``error_words(error)``
when a page flashes it), and paging (``fetch``
or ``by_id`` a :class:`Page` in a service, ``PageQuery``/``Paged``/``paged``/``answer`` at
its routes). The core never imports it.

A plugin is a class (or a module) with methods marked ``@hookimpl``, named after the hook
specifications (:class:`DepotHooks`), published under the ``depot.plugins`` entry-point
group and enabled with the ``plugins`` setting (``DEPOT_PLUGINS=quality,product_service``).
A class is built once, when the server starts, with its :class:`PluginContext` (the
database, the audit trail, the caller of a request, versions as facts). The host checks
every marked method against these specifications: a misspelt hook stops the start with
its name.

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

from flask_babel import gettext, lazy_gettext, ngettext

from policies.lifecycle import Block, BlockScope
from policies.names import SAFE_NAME_PATTERN, check_one_line_name
from policies.trust.errors import TrustError
from policies.trust.quality_decisions import (
    CLOCK_SKEW as DECISION_CLOCK_SKEW,
)
from policies.trust.quality_decisions import (
    DECISION as QUALITY_DECISION,
)
from policies.trust.quality_decisions import (
    QualityDecision,
    decision_words,
)
from repo_server.api.contract import ApiBlueprint, Header, Reply
from repo_server.api.http import json_body
from repo_server.api.paging import (
    Answer,
    Paged,
    PageQuery,
    answer,
    page_request,
    paged,
    requested_page,
)
from repo_server.api.schemas.common import Body, Day, DayOrEmpty, Moment, OneOf, Out, Query
from repo_server.clock import iso
from repo_server.db import NAMING, UTCDateTime
from repo_server.errors import N_, Conflict, DepotError, Forbidden, InvalidRequest, NotFound
from repo_server.hooks import (
    DepotHooks,
    NavLink,
    Panel,
    PluginRoutes,
    VersionEvent,
    VersionRef,
    hookimpl,
    hookspec,
)
from repo_server.ids import MAX_INTEGER
from repo_server.lifecycle.usage import UsageEntry
from repo_server.paging import EVERYTHING, Page, PageRequest, by_id, fetch, page_of
from repo_server.plugin_context import (
    QUALITY_MANAGER,
    Caller,
    PluginContext,
    ProductFacts,
    VersionFacts,
)
from repo_server.web.words import error_words

__all__ = [
    "DECISION_CLOCK_SKEW",
    "EVERYTHING",
    "MAX_INTEGER",
    "NAMING",
    "N_",
    "QUALITY_DECISION",
    "QUALITY_MANAGER",
    "SAFE_NAME_PATTERN",
    "Answer",
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
    "Page",
    "PageQuery",
    "PageRequest",
    "Paged",
    "Panel",
    "PluginContext",
    "PluginRoutes",
    "ProductFacts",
    "QualityDecision",
    "Query",
    "Reply",
    "TrustError",
    "UTCDateTime",
    "UsageEntry",
    "VersionEvent",
    "VersionFacts",
    "VersionRef",
    "answer",
    "by_id",
    "check_one_line_name",
    "decision_words",
    "error_words",
    "fetch",
    "gettext",
    "hookimpl",
    "hookspec",
    "iso",
    "json_body",
    "lazy_gettext",
    "ngettext",
    "page_of",
    "page_request",
    "paged",
    "requested_page",
]
