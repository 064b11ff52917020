"""Request helpers shared by every API module: the caller, JSON bodies, the services."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from flask import current_app, g, request

from repo_server.api.contract import ApiBlueprint, json_body
from repo_server.api.schemas.common import PATH_SCHEMAS
from repo_server.auth.principal import Principal, anonymous
from repo_server.errors import InvalidRequest, Unauthorized

if TYPE_CHECKING:  # the plugin API imports this module, and the core imports the plugin API
    from repo_server.core import Depot

bp = ApiBlueprint("api", __name__, url_prefix="/api/v1", path_schemas=PATH_SCHEMAS)

__all__ = ["bp", "depot", "json_body", "principal", "signed_in"]

T = TypeVar("T")


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


def field(
    body: dict[str, Any],
    name: str,
    kind: type[T],
    default: T | None = None,
    *,
    required: bool = False,
) -> T:
    """``body[name]`` checked to be of ``kind``; a clear 400 when missing or mistyped."""
    if name not in body or body[name] is None:
        if required:
            raise InvalidRequest(f"missing field {name!r}", field=name)
        return default  # type: ignore[return-value]
    value = body[name]
    if kind is int and isinstance(value, bool):
        raise InvalidRequest(f"field {name!r} must be an integer", field=name)
    if not isinstance(value, kind):
        raise InvalidRequest(f"field {name!r} must be of type {kind.__name__}", field=name)
    return value


def string_list(body: dict[str, Any], name: str) -> list[str] | None:
    """``body[name]`` as a list of strings, or ``None`` when absent."""
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidRequest(f"field {name!r} must be a list of strings", field=name)
    return value
