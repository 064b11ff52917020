"""What every API module shares: the blueprint (an :class:`ApiBlueprint`), the caller and
the services. Bodies and queries are read by the routes' declared shapes
(:mod:`repo_server.api.contract`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import current_app, g, request

from repo_server.api.contract import ApiBlueprint, json_body
from repo_server.api.schemas.common import PATH_SCHEMAS
from repo_server.auth.principal import Principal, anonymous
from repo_server.errors import Unauthorized
from repo_server.http_errors import error_json as error_json

if TYPE_CHECKING:  # the plugin API imports this module, and the core imports the plugin API
    from repo_server.core import Depot

bp = ApiBlueprint("api", __name__, url_prefix="/api/v1", path_schemas=PATH_SCHEMAS)

__all__ = ["bp", "depot", "json_body", "principal", "signed_in"]


def depot() -> Depot:
    """The services of the running app."""
    found: Depot = current_app.extensions["depot"]
    return found


@bp.before_request
def authenticate() -> None:
    """Turn the request's credentials into ``g.principal`` (anonymous if none)."""
    remote = request.remote_addr or ""
    header = request.headers.get("Authorization", "")
    if not header:
        g.principal = anonymous(remote)
        return
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthorized("use the header 'Authorization: Bearer <token>'")
    g.principal = depot().auth.authenticate_token(value.strip(), remote)


def principal() -> Principal:
    """The caller of this request (possibly anonymous)."""
    found: Principal = g.principal
    return found


def signed_in() -> Principal:
    """The caller, who must have presented valid credentials."""
    caller = principal()
    if not caller.authenticated:
        raise Unauthorized("authentication required: sign in with `depot login` or send a token")
    return caller
