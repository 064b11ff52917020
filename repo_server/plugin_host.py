"""The plugin host: finds the enabled plugins, checks them against the hook specifications,
and calls them for the core. It dispatches only: mounting routes and pages is the web
layer's (:mod:`repo_server.web.plugins`).

Built once per process by :func:`repo_server.core.build_depot` from the ``plugins``
setting. Services hold it as their :class:`~repo_server.hooks.Plugins`: they call
:meth:`PluginHost.blocks` before the steps a block stops, and :meth:`PluginHost.emit`
after an action committed; the web layer calls :meth:`PluginHost.routes` when the app is
built, the version page :meth:`PluginHost.panels` and the OpenAPI document
:meth:`PluginHost.openapi`.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from importlib.metadata import entry_points
from typing import Any

import pluggy
from markupsafe import Markup

from policies.lifecycle import Block
from repo_server.audit.services import AuditLog
from repo_server.auth.principal import system
from repo_server.errors import DepotError
from repo_server.hooks import PROJECT, DepotHooks, Panel, PluginRoutes, VersionEvent, VersionRef
from repo_server.lifecycle.quarantines import Quarantines
from repo_server.plugin_context import Caller, PluginContext

log = logging.getLogger(__name__)
GROUP = "depot.plugins"


class PluginError(DepotError):
    """A plugin cannot be loaded: not installed, or a hook that matches no specification."""

    status = 500
    code = "plugin.invalid"


def _uncounted(plugin: str, hook: str) -> None:
    """What a plugin's failure is counted with when nothing counts (commands, tests)."""


class PluginHost:
    """The enabled plugins of one server."""

    def __init__(
        self,
        audit: AuditLog,
        options: Mapping[str, Mapping[str, Any]] | None = None,
        quarantines: Quarantines | None = None,
    ):
        self.audit = audit
        #: Told the plugin and hook of each failure (the metrics set it).
        self.count_failure: Callable[[str, str], None] = _uncounted
        #: The core's quarantines, which the plugins start and lift through their context.
        self.quarantines = quarantines
        #: Each plugin's own settings (the ``[plugin.<name>]`` tables), by plugin name.
        self.options = dict(options or {})
        self.manager = pluggy.PluginManager(PROJECT)
        self.manager.add_hookspecs(DepotHooks)

    @classmethod
    def load(
        cls,
        audit: AuditLog,
        names: Iterable[str],
        options: Mapping[str, Mapping[str, Any]] | None = None,
        quarantines: Quarantines | None = None,
    ) -> PluginHost:
        """The host with the plugins ``names`` from the ``depot.plugins`` entry points."""
        host = cls(audit, options, quarantines)
        wanted = [n for n in names if n]
        found = {ep.name: ep for ep in entry_points(group=GROUP) if ep.name in wanted}
        for name in wanted:
            if name not in found:
                raise PluginError(
                    f"plugin {name!r} is enabled but not installed "
                    f"(no {GROUP!r} entry point of that name)"
                )
            host.register(found[name].load(), name)
        return host

    def context(self, name: str) -> PluginContext:
        """The context a plugin named ``name`` is built with."""
        return PluginContext(
            name,
            self.audit.db,
            self.audit,
            self.audit.clock,
            self.options.get(name, {}),
            self.quarantines,
        )

    def register(self, plugin: Any, name: str) -> None:
        """Add ``plugin`` and check every hook it implements against the specifications.

        A class is built first, with its :class:`PluginContext`.
        """
        if inspect.isclass(plugin):
            factory: Any = plugin
            plugin = factory(self.context(name))
        self.manager.register(plugin, name=name)
        try:
            self.manager.check_pending()
        except pluggy.PluginValidationError as error:
            self.manager.unregister(name=name)
            raise PluginError(
                f"plugin {name!r} does not fit the hook specifications: {error}"
            ) from None

    @property
    def names(self) -> list[str]:
        return sorted(name for name, _ in self.manager.list_name_plugin())

    @property
    def can_block(self) -> bool:
        """True when a plugin answers :meth:`blocks` (downloads are then re-checked)."""
        return bool(self.manager.hook.depot_version_blocks.get_hookimpls())

    def blocks(self, ref: VersionRef) -> tuple[Block, ...]:
        """Every block the plugins report for ``ref``; a plugin that fails blocks too."""
        found: list[Block] = []
        for impl in self.manager.hook.depot_version_blocks.get_hookimpls():
            try:
                answer: Any = impl.function(version=ref)
            except Exception as error:  # a plugin's failure must not open a door
                self._failed(impl.plugin_name, "depot_version_blocks", str(ref), error)
                found.append(
                    Block("plugin.error", f"the {impl.plugin_name} plugin could not be asked")
                )
                continue
            found.extend(b for b in answer or () if isinstance(b, Block))
        return tuple(found)

    def blocks_each(self, refs: Sequence[VersionRef]) -> dict[VersionRef, tuple[Block, ...]]:
        """:meth:`blocks` of each ref (the hook asks one version at a time); nothing to
        ask, and nothing asked, when no plugin answers the hook."""
        if not self.can_block:
            return {}
        return {ref: found for ref in refs if (found := self.blocks(ref))}

    def emit(self, event: VersionEvent) -> None:
        """Tell every plugin about ``event`` (after it committed); failures are audited."""
        for impl in self.manager.hook.depot_version_event.get_hookimpls():
            try:
                impl.function(event=event)
            except Exception as error:  # logged and audited; the action stands
                self._failed(impl.plugin_name, "depot_version_event", str(event.version), error)

    def panels(self, ref: VersionRef, caller: Caller) -> list[Panel]:
        """The plugins' boxes for the page of ``ref``; a failing plugin's box says so."""
        found: list[Panel] = []
        for impl in self.manager.hook.depot_version_panels.get_hookimpls():
            try:
                answer: Any = impl.function(version=ref, caller=caller)
            except Exception as error:  # the page is shown; the failure is audited
                self._failed(impl.plugin_name, "depot_version_panels", str(ref), error)
                message = f"The {impl.plugin_name} module could not show its part."
                found.append(
                    Panel(impl.plugin_name, Markup('<p class="error">{}</p>').format(message))
                )
                continue
            found.extend(p for p in answer or () if isinstance(p, Panel))
        return found

    def routes(self) -> list[PluginRoutes]:
        """Every plugin's routes, pages and top-bar links, for the web layer to mount."""
        return [r for r in self.manager.hook.depot_routes() if isinstance(r, PluginRoutes)]

    def _failed(self, plugin: str, hook: str, target: str, error: Exception) -> None:
        """Log and audit a plugin's failure. The record waits for the end of the write
        transaction the hook may have been asked from (a check-out request, an approval,
        a status): it needs one of its own, and on SQLite that one would wait for the
        caller's, which waits for it (:meth:`repo_server.db.Database.after_write`)."""
        log.exception("plugin %s failed in %s for %s", plugin, hook, target)
        self.count_failure(plugin, hook)
        reason = f"{hook}: {type(error).__name__}: {error}"[:1000]
        self.audit.db.after_write(
            lambda: self.audit.record_refusal(
                system(),
                "plugin.error",
                outcome="failed",
                target=target,
                rule=f"plugin.{plugin}",
                reason=reason,
                details={"plugin": plugin, "hook": hook},
            )
        )
