"""The public plugin API: the only module of the core a plugin imports.

A plugin is a module or object with functions marked ``@hookimpl``, named after the hook
specifications below, published under the ``depot.plugins`` entry-point group and enabled
with the ``plugins`` setting (``DEPOT_PLUGINS=quality,product_service``). The host checks
every marked function against these specifications when the server starts: a misspelt
hook stops the start with its name.

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
        (the server fails closed) and is audited."""


__all__ = ["Block", "DepotHooks", "VersionEvent", "VersionRef", "hookimpl", "hookspec"]
