"""The server's exception tree, and the one place that maps it to HTTP.

Every refusal reaches the client as ``{"error": code, "message": text}`` with the
status below. Services raise these; views and API handlers never build error responses.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

from policies.errors import PolicyError
from storage import IntegrityMismatch, StorageUnavailable

log = logging.getLogger("depot.errors")


class DepotError(Exception):
    """Base of every error the server answers with; ``status`` and ``code`` go on the wire."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra


class InvalidRequest(DepotError):
    """The request is malformed or a value breaks a rule (names, versions, fields)."""

    status = 400
    code = "invalid_request"


class Unauthorized(DepotError):
    """No valid credentials: missing, wrong, expired or revoked."""

    status = 401
    code = "unauthorized"


class Forbidden(DepotError):
    """The caller is known and may see the subject, but the rules refuse the action."""

    status = 403
    code = "forbidden"

    def __init__(self, message: str, *, rule: str = "", **extra: Any) -> None:
        super().__init__(message, rule=rule, **extra)
        self.rule = rule


class NotFound(DepotError):
    """No such thing — or one the caller may not know exists (the same answer)."""

    status = 404
    code = "not_found"


class Conflict(DepotError):
    """The request clashes with what is stored (a name taken, a file already there)."""

    status = 409
    code = "conflict"


class LengthRequired(DepotError):
    """An upload without a Content-Length."""

    status = 411
    code = "length_required"


class TooLarge(DepotError):
    """A body over the configured limit."""

    status = 413
    code = "too_large"


class RangeNotSatisfiable(DepotError):
    """A download's ``Range`` lies outside the file."""

    status = 416
    code = "range_not_satisfiable"


class IntegrityError(DepotError):
    """The bytes are not what the uploader declared (size or sha256); nothing stored."""

    status = 422
    code = "integrity_mismatch"


class Unavailable(DepotError):
    """A component the server needs (database, blob store, directory) is unreachable."""

    status = 503
    code = "unavailable"


def error_response(error: DepotError) -> tuple[Response, int]:
    """The JSON response for ``error``."""
    body: dict[str, Any] = {"error": error.code, "message": error.message}
    body.update({k: v for k, v in error.extra.items() if v not in (None, "")})
    response = jsonify(body)
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="depot"'
    return response, error.status


def register_error_handlers(app: Flask) -> None:
    """Map every exception to a JSON error (API) — the only such mapping in the server."""

    @app.errorhandler(DepotError)
    def _depot(error: DepotError) -> tuple[Response, int]:
        return error_response(error)

    @app.errorhandler(PolicyError)
    def _policy(error: PolicyError) -> tuple[Response, int]:
        return error_response(InvalidRequest(error.message, field=error.field))

    @app.errorhandler(IntegrityMismatch)
    def _integrity(error: IntegrityMismatch) -> tuple[Response, int]:
        return error_response(IntegrityError(str(error), kind=error.kind))

    @app.errorhandler(StorageUnavailable)
    def _storage(error: StorageUnavailable) -> tuple[Response, int]:
        log.error("blob store unavailable: %s", error)
        return error_response(Unavailable("the blob store is unavailable; try again later"))

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> tuple[Response, int]:
        status = error.code or 500
        codes = {
            404: "not_found",
            405: "method_not_allowed",
            413: "too_large",
            400: "invalid_request",
        }
        fake = DepotError(error.description or error.name)
        fake.status, fake.code = status, codes.get(status, "http_error")
        response, status = error_response(fake)
        allowed = getattr(error, "valid_methods", None)
        if allowed:  # a 405 says which methods the resource has (RFC 9110 §15.5.6)
            response.headers["Allow"] = ", ".join(allowed)
        return response, status

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> tuple[Response, int]:
        log.exception("unexpected error")
        return error_response(DepotError("internal server error; the incident is logged"))
