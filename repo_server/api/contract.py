"""Routes that declare their shapes once: the declaration validates, serialises and documents.

Every ``api.py`` of the core and of the plugins adds its routes through an
:class:`ApiBlueprint`: ``@bp.operation("POST", "/groups", body=NewGroup, replies={201:
Reply(Group)}, errors={409: "..."})``. The wrapper it puts around the handler

1. authenticates first (a route that needs a token answers 401 before it reads anything, so
   an anonymous caller learns nothing of the shape from a 400);
2. validates the query string and the JSON body with the declared pydantic models and
   passes them to the handler as ``query=`` and ``body=`` (a 400 ``invalid_request`` naming
   the field otherwise);
3. serialises what the handler returns (a model, a frozen dataclass of a service, or a dict
   of them) through the model declared for the status.

:mod:`repo_server.api.document` reads :attr:`ApiBlueprint.operations` of every mounted
blueprint to write the OpenAPI document, once per app.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property, wraps
from typing import Any, Literal

from flask import Blueprint, Response, current_app, g, request
from pydantic import BaseModel, TypeAdapter, ValidationError
from werkzeug.exceptions import HTTPException

from repo_server.errors import (
    DepotError,
    InvalidRequest,
    TooLarge,
    Unauthorized,
    UnsupportedMediaType,
)
from repo_server.ids import MAX_BIG_INTEGER

#: Who may call an operation: anyone (``public``), a signed-in caller (``token``: 401 before
#: anything else), or anyone with the answer depending on who (``optional``: group-scoped
#: routes, where an anonymous caller gets the same 404 as for a group that does not exist).
Auth = Literal["public", "token", "optional"]

SIGN_IN = "authentication required: sign in with `depot login` or send a token"
_CONVERTED = re.compile(r"<(?:(\w+):)?(\w+)>")


@dataclass(frozen=True)
class Header:
    """A response or request header as the document describes it."""

    description: str
    schema: Mapping[str, Any] = field(default_factory=lambda: {"type": "string"})
    required: bool = False


@dataclass(frozen=True)
class Reply:
    """One successful answer: its model (``None``: no JSON body), description, headers."""

    model: type[BaseModel] | None = None
    description: str = "OK"
    media_type: str = "application/json"
    headers: Mapping[str, Header] = field(default_factory=dict)
    #: Leave out the fields that are ``None`` (the document marks them not required).
    exclude_none: bool = False

    @cached_property
    def adapter(self) -> TypeAdapter[Any]:
        """Built once: validating and dumping through it is pydantic-core's compiled code."""
        assert self.model is not None, "a reply without a model has no JSON body"
        return TypeAdapter(self.model)

    def render(self, value: Any, status: int, headers: Mapping[str, str] | None) -> Response:
        """``value`` as this reply's JSON (read from attributes: a frozen dataclass works)."""
        adapter = self.adapter
        found = adapter.validate_python(value, from_attributes=True)
        data = adapter.dump_json(found, exclude_none=self.exclude_none)
        return Response(data, status, headers=headers, mimetype="application/json")


@dataclass(frozen=True)
class Operation:
    """One route and method with everything the document says about it."""

    endpoint: str
    methods: tuple[str, ...]
    rule: str
    summary: str
    description: str
    auth: Auth
    replies: Mapping[int, Reply]
    errors: Mapping[int, str]
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    raw_body: Mapping[str, Any] | None = None
    request_headers: Mapping[str, Header] = field(default_factory=dict)
    path_schemas: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    tags: tuple[str, ...] = ()

    def path_parameters(self) -> dict[str, Mapping[str, Any]]:
        """The rule's ``<name>`` parts with their schemas (``int:`` ones are integers)."""
        found: dict[str, Mapping[str, Any]] = {}
        for converter, name in _CONVERTED.findall(self.rule):
            default: Mapping[str, Any] = (
                {"type": "integer", "minimum": 0, "maximum": MAX_BIG_INTEGER}
                if converter == "int"
                else {"type": "string"}
            )
            found[name] = self.path_schemas.get(name, default)
        return found


class ApiBlueprint(Blueprint):
    """A Flask blueprint whose routes declare their shapes (see the module docstring)."""

    def __init__(
        self,
        name: str,
        import_name: str,
        *,
        url_prefix: str | None = None,
        path_schemas: Mapping[str, Mapping[str, Any]] | None = None,
        tag: str = "",
    ) -> None:
        super().__init__(name, import_name, url_prefix=url_prefix)
        self.operations: list[Operation] = []
        self.path_schemas = dict(path_schemas or {})
        self.tag = tag

    def operation(
        self,
        methods: str | tuple[str, ...],
        rule: str,
        *,
        replies: Mapping[int, Reply],
        summary: str = "",
        body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        auth: Auth = "token",
        errors: Mapping[int, str] | None = None,
        raw_body: Mapping[str, Any] | None = None,
        request_headers: Mapping[str, Header] | None = None,
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Register the decorated handler for ``rule``; its first docstring line is the
        summary unless ``summary`` says otherwise."""

        def decorate(handler: Callable[..., Any]) -> Callable[..., Any]:
            doc = (handler.__doc__ or "").strip()
            first, _, rest = doc.partition("\n\n")
            op = Operation(
                endpoint=handler.__name__,
                methods=(methods,) if isinstance(methods, str) else tuple(methods),
                rule=rule,
                summary=summary or " ".join(first.split()),
                description=" ".join(rest.split()),
                auth=auth,
                replies=dict(replies),
                errors=dict(errors or {}),
                body=body,
                query=query,
                raw_body=raw_body,
                request_headers=dict(request_headers or {}),
                path_schemas=self.path_schemas,
                tags=(self.tag,) if self.tag else (),
            )
            # A file name's empty segment (``files//etc``) is refused, not redirected.
            self.add_url_rule(
                rule,
                handler.__name__,
                _bind(op, handler),
                methods=op.methods,
                merge_slashes="<path:" not in rule,
            )
            self.operations.append(op)
            return handler

        return decorate


def dump(model: type[BaseModel], value: Any) -> Any:
    """``value`` (a service's dataclass, or a dict of them) in ``model``'s JSON form, as the
    API sends it: for ``depot-server``'s ``--json`` output, which shows the same shapes."""
    return model.model_validate(value, from_attributes=True).model_dump(mode="json", by_alias=True)


def _bind(op: Operation, handler: Callable[..., Any]) -> Callable[..., Any]:
    ok = min(op.replies)

    @wraps(handler)
    def view(**path: Any) -> Any:
        known = _authenticated(op.auth)
        if op.query is not None:
            path["query"] = _validated(op.query, request.args.to_dict(), known, strict=False)
        if op.body is not None:
            path["body"] = _validated(op.body, json_body(), known, strict=True)
        return _answer(op, ok, handler(**path))

    return view


def _authenticated(auth: Auth) -> bool:
    """Whether a 400 may tell the caller what is wrong with the input (a public route, or
    valid credentials); a 401 at once if the route needs credentials."""
    if auth == "public":
        return True  # nothing to hide: anyone may call it, and learn its shape
    principal = g.get("principal")
    known = principal is not None and principal.authenticated
    if auth == "token" and not known:
        raise Unauthorized(SIGN_IN)
    return known


def _validated(model: type[BaseModel], data: Any, known: bool, *, strict: bool) -> BaseModel:
    try:
        return model.model_validate(data, strict=strict)
    except ValidationError as error:
        if not known:  # an anonymous caller learns nothing of the shape
            raise Unauthorized(SIGN_IN) from None
        raise invalid(error) from None


def invalid(error: ValidationError) -> InvalidRequest:
    """The first problem pydantic found, as the server's 400 naming the field."""
    problems = error.errors(include_url=False)
    # A misspelt field explains the missing one that follows it: name it first.
    problem = next((p for p in problems if p["type"] == "extra_forbidden"), problems[0])
    name = ".".join(str(part) for part in problem["loc"]) or "body"
    kind = problem["type"]
    if kind == "missing":
        return InvalidRequest(f"missing field {name!r}", field=name)
    if kind == "extra_forbidden":
        return InvalidRequest(f"unknown field {name!r}", field=name)
    message = problem["msg"][0].lower() + problem["msg"][1:]
    return InvalidRequest(f"field {name!r}: {message}", field=name)


#: How deeply a JSON body may nest objects and arrays (the API's deepest body needs 4).
MAX_JSON_DEPTH = 32
#: The largest integer (either sign) a JSON body may hold: the database's largest.
MAX_JSON_INTEGER = 2**63 - 1


class RequestBody:
    """The request's body stream, whose read errors are the client's: a chunked body cut
    off mid-chunk, a malformed chunk size, a body shorter than its Content-Length. Each is
    a 400 (the server's ``InvalidRequest``), raised wherever the body is read (a JSON body
    here, an upload inside the blob store's pump, which then discards what it stored)."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def read(self, n: int = -1, /) -> bytes:
        try:
            data: bytes = self._stream.read(n)
        except (DepotError, HTTPException):
            raise  # the server's own answers: a stalled body's 408, a disconnected client's 400
        except Exception as error:  # gunicorn's NoMoreData, InvalidChunkSize, ...
            raise InvalidRequest(
                "the request body ended before its end, or its chunked encoding is "
                f"malformed ({type(error).__name__}); nothing was stored"
            ) from None
        return data


def request_body() -> RequestBody:
    """The current request's body (see :class:`RequestBody`)."""
    return RequestBody(request.stream)


def is_json(media_type: str) -> bool:
    """``application/json`` or a ``+json`` type (RFC 6839), parameters aside."""
    found = media_type.split(";")[0].strip().lower()
    return found == "application/json" or (
        found.startswith("application/") and found.endswith("+json")
    )


def json_body() -> dict[str, Any]:
    """The request's JSON object, within the size limit; a 400, 413 or 415 otherwise.

    Besides valid JSON, the body must be sent as JSON (``Content-Type: application/json``
    or a ``+json`` type), nest at most :data:`MAX_JSON_DEPTH` levels, hold no integer
    beyond :data:`MAX_JSON_INTEGER`, no ``NaN`` or ``Infinity``, and no string (nor key)
    with a NUL character or a lone surrogate, which no database column can store. A number
    with no fraction (``87.0``) is the integer it equals, as in JSON (and JSON Schema's
    ``integer``)."""
    limit: int = current_app.extensions["depot"].settings.max_json_size
    if request.content_length is not None and request.content_length > limit:
        raise TooLarge(f"JSON body over the limit of {limit} bytes")
    if request.mimetype and not is_json(request.mimetype) and request.content_length != 0:
        raise _not_json()  # before reading: nothing else may have read it as a form either
    raw = request_body().read(limit + 1)
    if len(raw) > limit:
        raise TooLarge(f"JSON body over the limit of {limit} bytes")
    if not raw.strip():
        return {}
    if not is_json(request.mimetype):
        raise _not_json()
    try:
        body = json.loads(
            raw,
            object_pairs_hook=_no_duplicates,
            parse_constant=_no_constant,
            parse_float=_number,
        )
    except RecursionError:
        raise _too_deep() from None
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidRequest(f"request body is not valid JSON: {error}") from None
    if not isinstance(body, dict):
        raise InvalidRequest("request body must be a JSON object")
    _check_values(body)
    return body


def _not_json() -> UnsupportedMediaType:
    sent = request.mimetype or "no Content-Type"
    return UnsupportedMediaType(
        f"send the body as JSON with Content-Type: application/json (not {sent!r})"
    )


def _too_deep() -> InvalidRequest:
    return InvalidRequest(f"request body is nested deeper than {MAX_JSON_DEPTH} levels")


def _number(text: str) -> float | int:
    """A JSON number written with a fraction or an exponent: the integer it equals when it
    has no fraction, else the float."""
    value = float(text)
    return int(value) if value.is_integer() and abs(value) <= MAX_JSON_INTEGER else value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _check_values(body: dict[str, Any]) -> None:
    """Walk ``body`` (without recursion) for what :func:`json_body` refuses."""
    stack: list[tuple[Any, tuple[str, ...]]] = [(body, ())]
    while stack:
        value, path = stack.pop()
        if isinstance(value, dict | list):
            if len(path) >= MAX_JSON_DEPTH:
                raise _too_deep()
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str):
                    _check_text(key, (*path, key))
                stack.append((item, (*path, str(key))))
        elif isinstance(value, str):
            _check_text(value, path)
        elif isinstance(value, int) and abs(value) > MAX_JSON_INTEGER:
            name = _field(path)
            raise InvalidRequest(
                f"field {name!r}: an integer beyond ±(2^63-1), the largest the server stores",
                field=name,
            )


def _check_text(text: str, path: tuple[str, ...]) -> None:
    if "\x00" in text:
        name = _field(path)
        raise InvalidRequest(
            f"field {name!r}: contains a NUL character (U+0000), which cannot be stored",
            field=name,
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        name = _field(path)
        raise InvalidRequest(
            f"field {name!r}: contains a lone surrogate (not a Unicode character)", field=name
        ) from None


def _field(path: tuple[str, ...]) -> str:
    """The field's name as the 400 says it (control characters escaped)."""
    name = ".".join(path) or "body"
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in name)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _answer(op: Operation, ok: int, result: Any) -> Any:
    if isinstance(result, Response):
        return result
    status, headers = ok, None
    if isinstance(result, tuple):
        result, status, *extra = result
        headers = extra[0] if extra else None
    reply = op.replies.get(status)
    if reply is None or reply.model is None:
        return (result, status, headers) if headers else (result, status)
    return reply.render(result, status, headers)
