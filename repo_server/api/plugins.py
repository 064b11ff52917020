"""Which plugins this server runs, so that a client can tell "not enabled here" from
"not found"."""

from __future__ import annotations

from repo_server.api.contract import Reply
from repo_server.api.http import bp, depot
from repo_server.api.schemas.service import PluginList


@bp.operation("GET", "/plugins", auth="public", replies={200: Reply(PluginList)})
def plugins() -> dict[str, list[str]]:
    """The plugins this server runs (enabled business modules), by name."""
    return {"plugins": depot().plugins.names}
