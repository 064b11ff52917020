"""Which plugins this server runs, so that a client can tell "not enabled here" from
"not found"."""

from __future__ import annotations

from typing import Any

from repo_server.api.http import bp, depot


@bp.get("/plugins")
def plugins() -> dict[str, Any]:
    """``{"plugins": ["product_service", "quality"]}``: the enabled plugins, by name."""
    return {"plugins": depot().plugins.names}
