"""The server itself on the wire: health and the enabled plugins."""

from __future__ import annotations

from typing import Literal

from repo_server.api.schemas.common import Out, ReadinessCheck


class Health(Out):
    """The database and the blob store answer."""

    status: Literal["ok"]
    version: str


class Liveness(Out):
    """The process answers."""

    status: Literal["alive"]
    version: str


class ReadinessReport(Out):
    """Whether every part a request needs is usable, and each check."""

    ready: bool
    checks: list[ReadinessCheck]


class PluginList(Out):
    """The enabled plugins, by name."""

    plugins: list[str]
