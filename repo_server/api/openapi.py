"""The OpenAPI 3.1 description of the JSON API, served at ``/api/openapi.json``.

Written by hand next to the routes; ``tests/repo_server/test_openapi.py`` checks that
every route is described here and every path here is a route.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue

from repo_server.api.document import openapi_document

bp = Blueprint("openapi", __name__)

V = "/api/v1"
GROUP = {"name": "group", "in": "path", "required": True, "schema": {"type": "string"}}
PRODUCT = {"name": "product", "in": "path", "required": True, "schema": {"type": "string"}}
VERSION = {"name": "version", "in": "path", "required": True, "schema": {"type": "string"}}
FILE = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _list(key: str, item: str) -> dict[str, Any]:
    return {"type": "object", "properties": {key: {"type": "array", "items": _ref(item)}}}


def _body(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"type": "object", "properties": properties, "required": required}
            }
        },
    }


ERRORS = {
    "400": {"$ref": "#/components/responses/Invalid"},
    "401": {"$ref": "#/components/responses/Unauthorized"},
    "403": {"$ref": "#/components/responses/Forbidden"},
    "404": {"$ref": "#/components/responses/NotFound"},
}


def _op(summary: str, responses: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"summary": summary, "responses": {**responses, **ERRORS}, **extra}


S = {"type": "string"}
I = {"type": "integer"}  # noqa: E741

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error", "message"],
        "properties": {"error": S, "message": S, "field": S, "rule": S},
    },
    "Token": {
        "type": "object",
        "properties": {
            "token": {**S, "description": "the secret; returned once, on creation only"},
            "id": S,
            "kind": {"enum": ["login", "group"]},
            "name": S,
            "owner": S,
            "group": {"type": ["string", "null"]},
            "scope": {"enum": ["read", "upload", None]},
            "created_at": S,
            "expires_at": S,
            "revoked_at": {"type": ["string", "null"]},
            "last_used_at": {"type": ["string", "null"]},
        },
    },
    "User": {
        "type": "object",
        "properties": {
            "username": S,
            "display_name": S,
            "email": S,
            "source": S,
            "active": {"type": "boolean"},
            "roles": {"type": "array", "items": S},
            "created_at": S,
            "last_login_at": {"type": ["string", "null"]},
        },
    },
    "Group": {
        "type": "object",
        "properties": {
            "name": S,
            "display_name": S,
            "description": S,
            "storage_area": S,
            "created_at": S,
            "created_by": S,
            "my_roles": {"type": "array", "items": S},
            "member_count": I,
        },
    },
    "Member": {
        "type": "object",
        "properties": {"username": S, "display_name": S, "roles": {"type": "array", "items": S}},
    },
    "Product": {
        "type": "object",
        "properties": {
            "group": S,
            "name": S,
            "ref": S,
            "category": {"enum": ["application", "system", "device_network"]},
            "origin": {"enum": ["in_house", "purchased"]},
            "vendor": {"type": ["string", "null"]},
            "description": S,
            "created_at": S,
            "created_by": S,
            "version_count": I,
        },
    },
    "File": {
        "type": "object",
        "properties": {
            "name": S,
            "role": {"enum": ["artifact", "document"]},
            "size": I,
            "sha256": S,
            "media_type": S,
            "uploaded_by": S,
            "uploaded_at": S,
        },
    },
    "Version": {
        "type": "object",
        "properties": {
            "group": S,
            "product": S,
            "version": S,
            "ref": S,
            "state": {
                "enum": ["draft", "submitted", "accepted", "rejected", "checked_in", "retired"]
            },
            "library_number": {"type": ["integer", "null"]},
            "manifest_sha256": {"type": ["string", "null"]},
            "description": S,
            "created_at": S,
            "created_by": S,
            "file_count": I,
            "total_size": I,
            "files": {"type": "array", "items": _ref("File")},
        },
    },
    "SearchHit": {
        "type": "object",
        "properties": {
            "kind": {"enum": ["product", "version", "file"]},
            "group": S,
            "product": S,
            "version": S,
            "file": S,
            "sha256": S,
            "size": I,
        },
    },
    "Request": {
        "type": "object",
        "properties": {
            "id": I,
            "kind": {"enum": ["upgrade", "acceptance", "checkin", "checkout"]},
            "state": {"enum": ["pending", "approved", "refused"]},
            "title": S,
            "group": S,
            "product": S,
            "version": S,
            "ref": S,
            "requester": S,
            "requester_role": S,
            "assigned_to": {"type": ["string", "null"]},
            "created_at": S,
            "decided_by": {"type": ["string", "null"]},
            "decided_role": {"type": ["string", "null"]},
            "decided_at": {"type": ["string", "null"]},
            "comment": S,
            "expires_at": {"type": ["string", "null"]},
            "details": {"type": "object"},
        },
    },
    "RequestDetail": {
        "allOf": [
            {"$ref": "#/components/schemas/Request"},
            {
                "type": "object",
                "properties": {
                    "acceptance": {
                        "oneOf": [{"$ref": "#/components/schemas/Request"}, {"type": "null"}]
                    },
                    "version_record": {
                        "oneOf": [{"$ref": "#/components/schemas/Version"}, {"type": "null"}]
                    },
                    "archive_items": {"type": "array", "items": {"type": "object"}},
                    "history": {
                        "type": "array",
                        "items": {"$ref": "#/components/schemas/AuditEvent"},
                    },
                    "you_may_approve": {"type": "boolean"},
                    "you_may_refuse": {"type": "boolean"},
                    "why_not": S,
                },
            },
        ]
    },
    "AuditEvent": {
        "type": "object",
        "properties": {
            "id": I,
            "at": S,
            "actor": S,
            "token": {"type": ["string", "null"]},
            "action": S,
            "outcome": {"enum": ["ok", "refused", "failed"]},
            "group": {"type": ["string", "null"]},
            "target": S,
            "rule": S,
            "reason": S,
            "remote_addr": S,
            "details": {"type": "object"},
        },
    },
}


def _error(description: str) -> dict[str, Any]:
    return _json(_ref("Error"), description)


def document() -> dict[str, Any]:
    from repo_server.api.openapi_trust import trust_paths

    """The whole OpenAPI document."""
    paths: dict[str, Any] = {
        **trust_paths(),
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Depot API",
            "version": "1",
            "description": "Governed artifact repository. Errors are JSON {error, message}.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": SCHEMAS,
            "responses": {
                "Invalid": _error("invalid request"),
                "Unauthorized": _error("missing, invalid, expired or revoked credentials"),
                "Forbidden": _error("refused by a rule (the rule is named)"),
                "NotFound": _error("does not exist, or not visible to you"),
            },
        },
    }


def with_plugins(found: dict[str, Any], parts: list[Mapping[str, Any]]) -> dict[str, Any]:
    """``found`` with the ``paths`` and ``schemas`` the plugins describe added (a plugin
    never replaces what the core or another plugin described)."""
    found["paths"] = dict(found["paths"])
    found["components"]["schemas"] = dict(found["components"]["schemas"])
    for part in parts:
        for path, item in dict(part.get("paths", {})).items():
            found["paths"].setdefault(path, item)
        for name, schema in dict(part.get("schemas", {})).items():
            found["components"]["schemas"].setdefault(name, schema)
    return found


@bp.get("/api/openapi.json")
def openapi_json() -> ResponseReturnValue:
    """The OpenAPI document: the declared routes (core and plugins), generated once, with
    the hand-written descriptions of the routes not yet declared."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    found = app.extensions.get("depot.openapi.merged")
    if found is None:
        found = _merged(
            openapi_document(app),
            with_plugins(document(), app.extensions["depot"].plugins.openapi()),
        )
        app.extensions["depot.openapi.merged"] = found
    return jsonify(found)


def _merged(generated: dict[str, Any], legacy: dict[str, Any]) -> dict[str, Any]:
    found = {**generated, "paths": {k: dict(v) for k, v in generated["paths"].items()}}
    components = dict(generated["components"])
    components["schemas"] = {**legacy["components"]["schemas"], **components["schemas"]}
    components["responses"] = legacy["components"]["responses"]
    found["components"] = components
    for path, item in legacy["paths"].items():
        target = found["paths"].setdefault(path, {})
        for key, value in item.items():
            target.setdefault(key, value)
    return found


#: Builders for plugins describing their routes (re-exported by the plugin API).
operation, json_response, request_body, schema_ref = _op, _json, _body, _ref
