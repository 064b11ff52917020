"""The plugin host: finds the enabled plugins, checks them against the hook specifications,
and calls them for the core.

Built once per process by :func:`repo_server.core.build_depot` from the ``plugins``
setting. Services call :meth:`PluginHost.blocks` before the steps a block stops, and
:meth:`PluginHost.emit` after an action committed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from importlib.metadata import entry_points
from typing import Any

import pluggy

from policies.lifecycle import Block
from repo_server.audit.services import AuditLog
from repo_server.auth.principal import system
from repo_server.errors import DepotError
from repo_server.plugin_api import PROJECT, DepotHooks, VersionEvent, VersionRef

log = logging.getLogger(__name__)
GROUP = "depot.plugins"


class PluginError(DepotError):
    """A plugin cannot be loaded: not installed, or a hook that matches no specification."""

    status = 500
    code = "plugin.invalid"


class PluginHost:
    """The enabled plugins of one server."""

    def __init__(self, audit: AuditLog) -> None:
        self.audit = audit
        self.manager = pluggy.PluginManager(PROJECT)
        self.manager.add_hookspecs(DepotHooks)

    @classmethod
    def load(cls, audit: AuditLog, names: Iterable[str]) -> PluginHost:
        """The host with the plugins ``names`` from the ``depot.plugins`` entry points."""
        host = cls(audit)
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

    def register(self, plugin: Any, name: str) -> None:
        """Add ``plugin`` and check every hook it implements against the specifications."""
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

    def emit(self, event: VersionEvent) -> None:
        """Tell every plugin about ``event`` (after it committed); failures are audited."""
        for impl in self.manager.hook.depot_version_event.get_hookimpls():
            try:
                impl.function(event=event)
            except Exception as error:  # logged and audited; the action stands
                self._failed(impl.plugin_name, "depot_version_event", str(event.version), error)

    def _failed(self, plugin: str, hook: str, target: str, error: Exception) -> None:
        log.exception("plugin %s failed in %s for %s", plugin, hook, target)
        self.audit.record_refusal(
            system(),
            "plugin.error",
            outcome="failed",
            target=target,
            rule=f"plugin.{plugin}",
            reason=f"{hook}: {type(error).__name__}: {error}"[:1000],
            details={"plugin": plugin, "hook": hook},
        )
