"""The server's exception tree.

Every refusal reaches the client as ``{"error": code, "message": text}`` (or, on a page,
the error page) with the status below. Services raise these; views and API handlers never
build error responses: :mod:`repo_server.http_errors` maps this tree to HTTP, in one
place. A kernel module: it imports nothing.

A message a person may read on a page is written with :func:`N_`: it stays the English text
(the API's ``message``, the logs, the audit trail), and keeps its gettext message and
values, so that a page shows it in the page's language (:func:`repo_server.web.words.said`).
"""

from __future__ import annotations

from typing import Any


class Message(str):
    """An English message that a page can say in its own language: the text, with the
    gettext ``msgid`` it was made from and the ``values`` of its placeholders."""

    msgid: str
    values: dict[str, Any]

    def __new__(cls, msgid: str, values: dict[str, Any]) -> Message:
        made = super().__new__(cls, msgid % values if values else msgid)
        made.msgid, made.values = msgid, values
        return made


def N_(msgid: str, **values: Any) -> Message:  # gettext's name for "translate it later"
    """``msgid`` with its placeholders (``%(field)s``) filled in, marked for the catalogs
    (``make translations`` extracts ``N_``) and kept for a page to translate.

    Services raise ``InvalidRequest(N_("field '%(field)s' must not be blank", field=name))``:
    the API answers the English text, a page the translation, placeholders and all.
    """
    return Message(msgid, values)


class DepotError(Exception):
    """Base of every error the server answers with; ``status`` and ``code`` go on the wire.

    ``message`` is English; made with :func:`N_`, a page shows it in its own language."""

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


class NameClash(Conflict):
    """A file name equal, after NFKC and case folding, to another one of the version
    (``clashes_with`` names the stored one)."""


class LengthRequired(DepotError):
    """An upload without a Content-Length."""

    status = 411
    code = "length_required"


class TooLarge(DepotError):
    """A body over the configured limit."""

    status = 413
    code = "too_large"


class UnsupportedMediaType(DepotError):
    """A body in a media type the route does not read (JSON sent as ``text/plain``)."""

    status = 415
    code = "unsupported_media_type"


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


class TooManyAttempts(DepotError):
    """Too many failed sign-ins of an account or from an address: locked out for a while.

    ``retry_after`` (seconds) goes on the wire as the ``Retry-After`` header too."""

    status = 429
    code = "too_many_attempts"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, retry_after=retry_after)
        self.retry_after = retry_after
