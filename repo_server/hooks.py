"""The hook specifications, the frozen types they carry, and what a domain service may ask
or tell the plugins.

A leaf of the server (as devpi's ``hookspecs.py``): at run time it imports pluggy and the
standard library only, and nothing of ``repo_server``; the names of three outside types in
the hooks' annotations (``Block`` of :mod:`policies.lifecycle`, Flask's ``Blueprint``,
markupsafe's ``Markup``) are imported for type checking only. So every layer may import it:
the host (:mod:`repo_server.plugin_host`) registers :class:`DepotHooks` and dispatches
them, the domain services hold a :class:`Plugins` (the host, or :data:`NO_PLUGINS`), the
web layer mounts :class:`PluginRoutes` and shows :class:`Panel` boxes, and the public
façade :mod:`repo_server.plugin_api` re-exports all of it for the plugins.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

import pluggy

if TYPE_CHECKING:
    from flask import Blueprint
    from markupsafe import Markup

    from policies.lifecycle import Block

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
    """What a plugin adds to the web server (mounted by :mod:`repo_server.web.plugins`).

    ``api`` is mounted under ``/api/v1`` (bearer tokens, as the core's API; the caller is
    :meth:`PluginContext.caller`; errors answer ``{"error", "message"}``); ``pages`` are
    signed-in pages (a visitor without a session goes to the sign-in page; forms must carry
    ``csrf_token()``; templates may extend ``base.html``); ``nav`` are top-bar links;
    ``actions`` are the words of the plugin's own audit actions, by code, as the version
    page's record and the audit pages show them: ``{"quality.issue.report":
    lazy_gettext("quality issue reported by %(who)s")}`` (a code without words is shown as
    "quality.issue.report by bob").
    """

    api: Blueprint | None = None
    pages: Blueprint | None = None
    nav: Sequence[NavLink] = ()
    actions: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Panel:
    """A box on a version's page: a title and HTML the plugin rendered (escaped)."""

    title: str
    html: Markup


class CallerView(Protocol):
    """The caller as a hook sees it; :class:`repo_server.plugin_context.Caller` is the one
    the host passes (a plugin annotates its hooks with that class)."""

    @property
    def username(self) -> str: ...

    def can_see(self, group: str) -> bool: ...

    def has_role(self, role: str) -> bool: ...


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
    def depot_version_panels(
        self, version: VersionRef, caller: CallerView
    ) -> Sequence[Panel] | None:
        """Called when a version's page is shown to ``caller`` (who may see it): boxes to
        add to the page. A plugin that raises is audited and its panel says so; the page
        is shown."""


class Plugins(Protocol):
    """What a domain service may ask and tell the enabled plugins: may this version be
    used, and what happened. The plugin host implements it; a service built without one
    holds :data:`NO_PLUGINS`."""

    @property
    def can_block(self) -> bool:
        """True when a plugin answers :meth:`blocks` (downloads are then re-checked)."""
        ...

    def blocks(self, ref: VersionRef) -> tuple[Block, ...]:
        """Every fact that stops use of ``ref`` (a plugin that fails counts as a block)."""
        ...

    def blocks_each(self, refs: Sequence[VersionRef]) -> dict[VersionRef, tuple[Block, ...]]:
        """:meth:`blocks` of many versions (a listing's page), in as few statements as the
        implementation can; a ref with no block may be left out."""
        ...

    def emit(self, event: VersionEvent) -> None:
        """Tell every plugin about ``event``, after it committed; never raises."""
        ...


class _NoPlugins:
    """The :class:`Plugins` of a service built without a host: nothing blocks, nobody
    listens."""

    can_block = False

    def blocks(self, ref: VersionRef) -> tuple[Block, ...]:
        return ()

    def blocks_each(self, refs: Sequence[VersionRef]) -> dict[VersionRef, tuple[Block, ...]]:
        return {}

    def emit(self, event: VersionEvent) -> None:
        return None


NO_PLUGINS: Plugins = _NoPlugins()
