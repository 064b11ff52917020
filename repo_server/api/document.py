"""The OpenAPI 3.1 document, generated from the routes' declarations once per app.

Served at ``/api/openapi.json`` by :mod:`repo_server.api.openapi`; read by
``tests/repo_server/test_openapi.py`` (checked with openapi-spec-validator) and by the
schemathesis run against a live server. Every :class:`ApiBlueprint` mounted on the app,
the core's and the plugins', contributes its :attr:`~ApiBlueprint.operations`; their models
become ``components/schemas`` through pydantic's ``models_json_schema``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from flask import Flask
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from repo_server.api.contract import ApiBlueprint, Header, Operation
from repo_server.api.schemas.common import ErrorBody

REF = "#/components/schemas/{model}"
_PATH_PART = re.compile(r"<(?:\w+:)?(\w+)>")
_STANDARD_ERRORS = {
    400: "invalid request (the field is named)",
    401: "missing, invalid, expired or revoked credentials",
    413: "JSON body over the size limit",
    415: "the body is not sent as JSON (Content-Type: application/json)",
}
SECURITY: dict[str, list[dict[str, list[str]]]] = {
    "public": [],
    "token": [{"bearer": []}],
    "optional": [{"bearer": []}, {}],
}


def openapi_document(app: Flask) -> dict[str, Any]:
    """The document of ``app``'s API, built on the first call and kept with the app."""
    found: dict[str, Any] | None = app.extensions.get("depot.openapi")
    if found is None:
        found = build(app)
        app.extensions["depot.openapi"] = found
    return found


def declared(app: Flask) -> Iterator[tuple[str, str, Operation]]:
    """``(path, operationId, operation)`` for every declared route mounted on ``app``."""
    rules = {rule.endpoint: rule.rule for rule in app.url_map.iter_rules()}
    for blueprint in app.blueprints.values():
        if not isinstance(blueprint, ApiBlueprint):
            continue
        for op in blueprint.operations:
            endpoint = f"{blueprint.name}.{op.endpoint}"
            operation_id = op.endpoint if blueprint.name == "api" else endpoint
            yield _PATH_PART.sub(r"{\1}", rules[endpoint]), operation_id, op


def build(app: Flask) -> dict[str, Any]:
    """The whole document (see :func:`openapi_document`, which caches it)."""
    operations = list(declared(app))
    wanted: list[tuple[type[BaseModel], JsonSchemaMode]] = [(ErrorBody, "serialization")]
    for _, _, op in operations:
        if op.body is not None:
            wanted.append((op.body, "validation"))
        wanted.extend((r.model, "serialization") for r in op.replies.values() if r.model)
    refs, defs = models_json_schema(list(dict.fromkeys(wanted)), ref_template=REF)
    error_ref = refs[(ErrorBody, "serialization")]
    paths: dict[str, dict[str, Any]] = {}
    for path, operation_id, op in operations:
        item = paths.setdefault(path, {})
        for method in op.methods:
            item[method.lower()] = _operation(op, operation_id, method, refs, error_ref)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Depot API",
            "version": _version(),
            "description": "Governed artifact repository. Every refusal is a JSON body "
            '{"error": code, "message": text} (see the ErrorBody schema).',
        },
        "servers": [{"url": "/"}],
        "security": SECURITY["token"],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": defs.get("$defs", {}),
        },
    }


def _operation(
    op: Operation,
    operation_id: str,
    method: str,
    refs: Mapping[tuple[Any, JsonSchemaMode], Any],
    error_ref: Mapping[str, Any],
) -> dict[str, Any]:
    suffix = "" if len(op.methods) == 1 else f"_{method.lower()}"
    found: dict[str, Any] = {
        "operationId": operation_id + suffix,
        "summary": op.summary,
        "security": SECURITY[op.auth],
        "parameters": _parameters(op),
        "responses": {},
    }
    if op.description:
        found["description"] = op.description
    if op.tags:
        found["tags"] = list(op.tags)
    if op.body is not None:
        schema = op.body.model_json_schema()
        found["requestBody"] = {
            "required": bool(schema.get("required")),
            "content": {"application/json": {"schema": refs[(op.body, "validation")]}},
        }
    elif op.raw_body is not None:
        found["requestBody"] = dict(op.raw_body)
    for status, reply in sorted(op.replies.items()):
        answer: dict[str, Any] = {"description": reply.description}
        if reply.model is not None:
            answer["content"] = {reply.media_type: {"schema": refs[(reply.model, "serialization")]}}
        elif reply.media_type != "application/json":
            answer["content"] = {
                reply.media_type: {"schema": {"type": "string", "format": "binary"}}
            }
        if reply.headers:
            answer["headers"] = {name: _header(h) for name, h in reply.headers.items()}
        found["responses"][str(status)] = answer
    for status, description in sorted(_errors(op).items()):
        found["responses"][str(status)] = {
            "description": description,
            "content": {"application/json": {"schema": error_ref}},
        }
    return found


def _errors(op: Operation) -> dict[int, str]:
    errors = dict(op.errors)
    if op.auth != "public":
        errors.setdefault(401, _STANDARD_ERRORS[401])
    if op.body is not None or op.query is not None or op.path_parameters():
        errors.setdefault(400, _STANDARD_ERRORS[400])
    if op.body is not None:
        errors.setdefault(413, _STANDARD_ERRORS[413])
        errors.setdefault(415, _STANDARD_ERRORS[415])
    return errors


def _parameters(op: Operation) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": dict(schema)}
        for name, schema in op.path_parameters().items()
    ]
    if op.query is not None:
        schema = op.query.model_json_schema()
        required = set(schema.get("required", ()))
        for name, prop in schema.get("properties", {}).items():
            parameter: dict[str, Any] = {
                "name": name,
                "in": "query",
                "required": name in required,
                "schema": {k: v for k, v in prop.items() if k not in ("title", "description")},
            }
            if prop.get("description"):
                parameter["description"] = prop["description"]
            found.append(parameter)
    for name, header in op.request_headers.items():
        found.append({"name": name, "in": "header", **_header(header)})
    return found


def _header(header: Header) -> dict[str, Any]:
    found: dict[str, Any] = {"description": header.description, "schema": dict(header.schema)}
    if header.required:
        found["required"] = True
    return found


def _version() -> str:
    try:
        return version("depot")
    except PackageNotFoundError:
        return "unknown"
