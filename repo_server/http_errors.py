"""The one place where errors become HTTP answers: a JSON body for the API, the error page
for pages.

Installed by the app factory (:func:`register_error_handlers`); the web layer names the
blueprints that are pages (:func:`serve_as_pages`: the core's pages and every plugin's).
Whatever a request raises — a :class:`~repo_server.errors.DepotError`, a rule's
:class:`~policies.errors.PolicyError`, a blob store's failure, a Werkzeug HTTP error, a
stale CSRF token or an unexpected exception — is first turned into a ``DepotError`` by
:func:`as_depot_error`, then answered as ``{"error": code, "message": text, ...}`` or
rendered on ``error.html``, with the error's status either way.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from flask import Flask, Response, current_app, g, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from policies.errors import PolicyError
from repo_server.errors import (
    Conflict,
    DepotError,
    IntegrityError,
    InvalidRequest,
    TooManyAttempts,
    Unavailable,
)
from storage import IntegrityMismatch, StorageUnavailable

log = logging.getLogger("depot.errors")

#: ``app.extensions`` key: the names of the blueprints whose errors are rendered as pages.
PAGES = "depot.page_blueprints"

#: What a 503 asks clients to wait before trying again (``Retry-After``).
RETRY_AFTER_SECONDS = 5

_HTTP_CODES = {
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    413: "too_large",
    415: "unsupported_media_type",
    400: "invalid_request",
}


def as_depot_error(error: Exception) -> DepotError:
    """``error`` as the server's exception tree (an unexpected one is logged, a 500)."""
    if isinstance(error, DepotError):
        return error
    if isinstance(error, PolicyError):
        return InvalidRequest(error.message, field=error.field)
    if isinstance(error, IntegrityMismatch):
        return IntegrityError(str(error), kind=error.kind)
    if isinstance(error, StorageUnavailable):
        log.error("blob store unavailable: %s", error)
        return Unavailable("the blob store is unavailable; try again later")
    if isinstance(error, sa.exc.IntegrityError):
        # A race the service did not name: another request changed the same rows first.
        log.warning("conflicting concurrent change: %s", str(error).splitlines()[0])
        return Conflict("another request changed the same thing at the same moment; try again")
    if isinstance(error, sa.exc.OperationalError | sa.exc.InterfaceError) or (
        isinstance(error, sa.exc.DBAPIError) and error.connection_invalidated
    ):
        # The database is unreachable, restarting, or (SQLite) busy past its timeout.
        log.error("database unavailable: %s", str(error).splitlines()[0])
        return Unavailable("the database is unavailable; try again later")
    if isinstance(error, CSRFError):
        return InvalidRequest(
            "The form was not sent from this site or has expired; reload the page and try again."
        )
    if isinstance(error, HTTPException):
        status = error.code or 500
        fake = DepotError(error.description or error.name)
        fake.status, fake.code = status, _HTTP_CODES.get(status, "http_error")
        return fake
    log.exception("unexpected error")
    return DepotError("internal server error; the incident is logged")


def error_json(error: DepotError) -> tuple[Response, int]:
    """The JSON answer for ``error``: ``{"error", "message"}`` and its details."""
    body: dict[str, Any] = {"error": error.code, "message": error.message}
    body.update({k: v for k, v in error.extra.items() if v not in (None, "")})
    response = jsonify(body)
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="depot"'
    _add_retry_after(response, error)
    return response, error.status


def error_page(error: DepotError) -> tuple[Response, int]:
    """The error page for ``error``."""
    response = Response(render_template("error.html", error=error), mimetype="text/html")
    _add_retry_after(response, error)
    return response, error.status


def _add_retry_after(response: Response, error: DepotError) -> None:
    """``Retry-After`` on a lockout (its own wait) and on a 503 (a short one)."""
    if isinstance(error, TooManyAttempts):
        response.headers["Retry-After"] = str(error.retry_after)
    elif error.status == 503:
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)


def serve_as_pages(app: Flask, blueprint: str) -> None:
    """Answer errors of the blueprint named ``blueprint`` with the error page."""
    app.extensions.setdefault(PAGES, set()).add(blueprint)


def error_answer(error: Exception) -> tuple[Response, int]:
    """The answer to ``error`` raised by the current request: a page for a page, else JSON."""
    found = as_depot_error(error)
    g.error_code = found.code  # for the request's log line and the error metrics
    if request.blueprint in current_app.extensions.get(PAGES, ()):
        return error_page(found)
    response, status = error_json(found)
    allowed = getattr(error, "valid_methods", None)
    if isinstance(error, HTTPException) and allowed:
        # A 405 says which methods the resource has (RFC 9110 §15.5.6).
        response.headers["Allow"] = ", ".join(allowed)
    return response, status


def register_error_handlers(app: Flask) -> None:
    """Answer every exception of ``app`` through :func:`error_answer`."""
    app.extensions.setdefault(PAGES, set())
    app.register_error_handler(Exception, error_answer)
