"""The server itself on the wire: health and the enabled plugins."""

from __future__ import annotations

from typing import Literal

from repo_server.api.schemas.common import Out


class Health(Out):
    """The database and the blob store answer."""

    status: Literal["ok"]
    version: str


class PluginList(Out):
    """The enabled plugins, by name."""

    plugins: list[str]
