"""The OpenAPI 3.1 description of the JSON API, served at ``/api/openapi.json``.

Written by hand next to the routes; ``tests/repo_server/test_openapi.py`` checks that
every route is described here and every path here is a route.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue

from repo_server.api.openapi_parts import (
    FILE,
    GROUP,
    PRODUCT,
    VERSION,
    I,
    S,
    V,
    _body,
    _json,
    _list,
    _op,
    _ref,
)
from repo_server.api.openapi_trust import trust_paths

bp = Blueprint("openapi", __name__)

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


def lifecycle_paths() -> dict[str, Any]:
    """The routes of the governed lifecycle."""
    product = f"{V}/groups/{{group}}/products/{{product}}"
    version = product + "/versions/{version}"
    request_id = {"name": "request_id", "in": "path", "required": True, "schema": S}
    request = _json(_ref("Request"))
    requests = _json(_list("requests", "Request"))
    refused = {"409": _error("conflicts with a pending request or an existing version")}
    decision = _body(
        {
            "comment": S,
            "report": {**S, "description": "acceptance: the report file"},
            "statement": {
                "type": "object",
                "description": "the statement from .../statement, signed with your personal key "
                "(a DSSE envelope)",
            },
        },
        [],
    )
    return {
        f"{product}/upgrades": {
            "parameters": [GROUP, PRODUCT],
            "get": _op("Upgrade requests of a product", {"200": requests}),
            "post": _op(
                "File an upgrade request (software manager)",
                {"201": request, **refused},
                requestBody=_body(
                    {"target_version": S, "reason": S, "scope": S}, ["target_version", "reason"]
                ),
            ),
        },
        f"{version}/submit": {
            "parameters": [GROUP, PRODUCT, VERSION],
            "post": _op(
                "Deliver a draft for acceptance (software manager)",
                {"201": request},
                requestBody=_body(
                    {"to": {**S, "description": "one acceptance officer"}, "comment": S}, []
                ),
            ),
        },
        f"{version}/checkin": {
            "parameters": [GROUP, PRODUCT, VERSION],
            "post": _op(
                "File a check-in request with the archive information (software manager)",
                {"201": request, **refused},
                requestBody=_body(
                    {
                        "release_notes": S,
                        "documents": {"type": "array", "items": S},
                        "items": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "kind": S,
                                    "label": S,
                                    "location": S,
                                    "custodian": S,
                                },
                            },
                        },
                    },
                    ["release_notes"],
                ),
            ),
        },
        f"{version}/checkout": {
            "parameters": [GROUP, PRODUCT, VERSION],
            "post": _op(
                "File a check-out request (software manager)",
                {"201": request},
                requestBody=_body({"purpose": S, "days": I}, ["purpose"]),
            ),
        },
        f"{version}/retire": {
            "parameters": [GROUP, PRODUCT, VERSION],
            "post": _op(
                "Retire a checked-in version (version manager)",
                {"200": _json(_ref("Version"))},
                requestBody=_body({"reason": S}, ["reason"]),
            ),
        },
        f"{version}/feedback": {
            "parameters": [GROUP, PRODUCT, VERSION],
            "get": _op("Usage feedback on a version", {"200": _json({"type": "object"})}),
            "post": _op(
                "Record usage feedback (acceptance officer)",
                {"201": _json({"type": "object"})},
                requestBody=_body({"text": S}, ["text"]),
            ),
        },
        f"{version}/history": {
            "parameters": [GROUP, PRODUCT, VERSION],
            "get": _op(
                "Everything that happened to a version",
                {"200": _json(_list("events", "AuditEvent"))},
            ),
        },
        f"{version}/requests": {
            "parameters": [GROUP, PRODUCT, VERSION],
            "get": _op("Requests about a version", {"200": requests}),
        },
        f"{V}/requests": {
            "get": _op(
                "My inbox (view=inbox), my requests (view=mine) or all I may see (view=all)",
                {"200": requests},
                parameters=[
                    {"name": "view", "in": "query", "schema": {"enum": ["inbox", "mine", "all"]}},
                    {"name": "group", "in": "query", "schema": S},
                    {"name": "state", "in": "query", "schema": S},
                    {"name": "kind", "in": "query", "schema": S},
                ],
            )
        },
        f"{V}/requests/{{request_id}}": {
            "parameters": [request_id],
            "get": _op("One request in full", {"200": _json(_ref("RequestDetail"))}),
        },
        f"{V}/requests/{{request_id}}/approve": {
            "parameters": [request_id],
            "post": _op("Approve (accept: record a pass)", {"200": request}, requestBody=decision),
        },
        f"{V}/requests/{{request_id}}/statement": {
            "parameters": [request_id],
            "post": _op(
                "The approval statement to sign with your personal key before deciding",
                {"200": _json({"type": "object"})},
                requestBody=_body({"decision": {"enum": ["approve", "refuse"]}, "comment": S}, []),
            ),
        },
        f"{V}/requests/{{request_id}}/refuse": {
            "parameters": [request_id],
            "post": _op(
                "Refuse with a comment (accept: record a fail)",
                {"200": request},
                requestBody=decision,
            ),
        },
    }


def document() -> dict[str, Any]:
    """The whole OpenAPI document."""
    file_params = [GROUP, PRODUCT, VERSION, FILE]
    version_params = [GROUP, PRODUCT, VERSION]
    paths: dict[str, Any] = {
        f"{V}/health": {
            "get": {
                "summary": "Database and blob store reachable",
                "security": [],
                "responses": {
                    "200": _json({"type": "object"}),
                    "503": _error("a component is down"),
                },
            }
        },
        f"{V}/plugins": {
            "get": {
                "summary": "The plugins this server runs (enabled business modules)",
                "security": [],
                "responses": {
                    "200": _json(
                        {"type": "object", "properties": {"plugins": {"type": "array", "items": S}}}
                    )
                },
            }
        },
        f"{V}/auth/login": {
            "post": _op(
                "Exchange user name and password for a sign-in token",
                {"201": _json(_ref("Token"), "signed in")},
                security=[],
                requestBody=_body(
                    {"username": S, "password": S, "client": S}, ["username", "password"]
                ),
            )
        },
        f"{V}/auth/logout": {
            "post": _op("Revoke the token of this request", {"200": _json({"type": "object"})})
        },
        f"{V}/auth/whoami": {
            "get": _op(
                "The caller, their roles and token limits", {"200": _json({"type": "object"})}
            )
        },
        f"{V}/auth/password": {
            "put": _op(
                "Change your own password",
                {"200": _json({"type": "object"})},
                requestBody=_body(
                    {"current_password": S, "new_password": S}, ["current_password", "new_password"]
                ),
            )
        },
        f"{V}/users": {
            "get": _op("Every account (admin)", {"200": _json(_list("users", "User"))}),
            "post": _op(
                "Create a local account (admin)",
                {"201": _json(_ref("User")), "409": _error("exists")},
                requestBody=_body(
                    {
                        "username": S,
                        "password": S,
                        "display_name": S,
                        "email": S,
                        "roles": {"type": "array", "items": S},
                    },
                    ["username"],
                ),
            ),
        },
        f"{V}/users/{{username}}": {
            "parameters": [{"name": "username", "in": "path", "required": True, "schema": S}],
            "get": _op("One account", {"200": _json(_ref("User"))}),
            "patch": _op(
                "Change an account (admin)",
                {"200": _json(_ref("User"))},
                requestBody=_body(
                    {
                        "active": {"type": "boolean"},
                        "display_name": S,
                        "email": S,
                        "password": S,
                        "roles": {"type": "array", "items": S},
                    },
                    [],
                ),
            ),
        },
        f"{V}/tokens": {
            "get": _op("Your tokens", {"200": _json(_list("tokens", "Token"))}),
            "post": _op(
                "Create a group token for a CI pipeline",
                {"201": _json(_ref("Token"))},
                requestBody=_body(
                    {
                        "group": S,
                        "scope": {"enum": ["read", "upload"]},
                        "expires_in_days": I,
                        "name": S,
                    },
                    ["group", "scope"],
                ),
            ),
        },
        f"{V}/tokens/{{token_id}}": {
            "parameters": [{"name": "token_id", "in": "path", "required": True, "schema": S}],
            "delete": _op("Revoke a token", {"200": _json(_ref("Token"))}),
        },
        f"{V}/groups": {
            "get": _op(
                "Your groups (all groups with all=true, admin)",
                {"200": _json(_list("groups", "Group"))},
                parameters=[{"name": "all", "in": "query", "schema": {"type": "boolean"}}],
            ),
            "post": _op(
                "Create a group and its storage area (admin)",
                {"201": _json(_ref("Group")), "409": _error("exists")},
                requestBody=_body({"name": S, "display_name": S, "description": S}, ["name"]),
            ),
        },
        f"{V}/groups/{{group}}": {
            "parameters": [GROUP],
            "get": _op("One group", {"200": _json(_ref("Group"))}),
            "patch": _op(
                "Change a group (admins)",
                {"200": _json(_ref("Group"))},
                requestBody=_body(
                    {
                        "display_name": S,
                        "description": S,
                        "require_personal_checkin": {"type": "boolean"},
                    },
                    [],
                ),
            ),
        },
        f"{V}/groups/{{group}}/members": {
            "parameters": [GROUP],
            "get": _op("Members and their roles", {"200": _json(_list("members", "Member"))}),
            "post": _op(
                "Give a person a role in the group",
                {"201": _json(_ref("Member"))},
                requestBody=_body(
                    {
                        "username": S,
                        "role": {"enum": ["member", "software_manager", "acceptance_officer"]},
                    },
                    ["username"],
                ),
            ),
        },
        f"{V}/groups/{{group}}/members/{{username}}/{{role}}": {
            "parameters": [
                GROUP,
                {"name": "username", "in": "path", "required": True, "schema": S},
                {"name": "role", "in": "path", "required": True, "schema": S},
            ],
            "delete": _op("Take a role in the group away", {"200": _json({"type": "object"})}),
        },
        f"{V}/groups/{{group}}/products": {
            "parameters": [GROUP],
            "get": _op("Products of the group", {"200": _json(_list("products", "Product"))}),
            "post": _op(
                "Register a product",
                {"201": _json(_ref("Product")), "409": _error("exists")},
                requestBody=_body(
                    {
                        "name": S,
                        "category": SCHEMAS["Product"]["properties"]["category"],
                        "origin": SCHEMAS["Product"]["properties"]["origin"],
                        "vendor": S,
                        "description": S,
                    },
                    ["name", "category", "origin"],
                ),
            ),
        },
        f"{V}/groups/{{group}}/products/{{product}}": {
            "parameters": [GROUP, PRODUCT],
            "get": _op("One product", {"200": _json(_ref("Product"))}),
        },
        f"{V}/groups/{{group}}/products/{{product}}/versions": {
            "parameters": [GROUP, PRODUCT],
            "get": _op("Versions, newest first", {"200": _json(_list("versions", "Version"))}),
            "post": _op(
                "Create a draft version",
                {"201": _json(_ref("Version")), "409": _error("exists")},
                requestBody=_body({"version": S, "description": S}, ["version"]),
            ),
        },
        f"{V}/groups/{{group}}/products/{{product}}/versions/{{version}}": {
            "parameters": version_params,
            "get": _op("One version with its files", {"200": _json(_ref("Version"))}),
        },
        f"{V}/groups/{{group}}/products/{{product}}/versions/{{version}}/files": {
            "parameters": version_params,
            "get": _op("Files of a version", {"200": _json(_list("files", "File"))}),
        },
        f"{V}/groups/{{group}}/products/{{product}}/versions/{{version}}/files/{{name}}": {
            "parameters": file_params,
            "put": _op(
                "Upload a file (raw body) with its declared sha256",
                {
                    "200": _json(
                        _ref("File"), "these exact bytes were already stored: nothing changed"
                    ),
                    "201": _json(_ref("File"), "stored"),
                    "409": _error("the version holds other bytes under this name, or is closed"),
                    "411": _error("no Content-Length"),
                    "413": _error("over the upload limit"),
                    "422": _error("size or sha256 not what was declared; nothing stored"),
                },
                parameters=[
                    {
                        "name": "X-Checksum-Sha256",
                        "in": "header",
                        "schema": S,
                        "description": "hex sha256 of the body",
                    },
                    {
                        "name": "Content-Digest",
                        "in": "header",
                        "schema": S,
                        "description": "RFC 9530 alternative",
                    },
                    {
                        "name": "X-Depot-Size",
                        "in": "header",
                        "schema": I,
                        "description": "declared size",
                    },
                    {
                        "name": "role",
                        "in": "query",
                        "schema": {"enum": ["artifact", "document", "report"]},
                    },
                ],
                requestBody={
                    "required": True,
                    "content": {
                        "application/octet-stream": {
                            "schema": {"type": "string", "format": "binary"}
                        }
                    },
                },
            ),
            "get": _op(
                "Download a file (Range supported)",
                {
                    "200": {
                        "description": "the bytes",
                        "content": {"application/octet-stream": {}},
                    },
                    "206": {"description": "a range of the bytes"},
                    "304": {"description": "not modified (If-None-Match)"},
                    "416": {"description": "range not satisfiable"},
                },
            ),
            "head": _op("Size and sha256 of a file", {"200": {"description": "headers only"}}),
        },
        **lifecycle_paths(),
        **trust_paths(),
        f"{V}/search": {
            "get": _op(
                "Search your groups by name or sha256",
                {"200": _json(_list("results", "SearchHit"))},
                parameters=[
                    {"name": "q", "in": "query", "schema": S},
                    {"name": "sha256", "in": "query", "schema": S},
                ],
            )
        },
        f"{V}/audit": {
            "get": _op(
                "Audit records (auditor, admin)",
                {"200": _json(_list("events", "AuditEvent"))},
                parameters=[
                    {"name": name, "in": "query", "schema": I if name in ("after", "limit") else S}
                    for name in (
                        "group",
                        "actor",
                        "action",
                        "target",
                        "since",
                        "until",
                        "after",
                        "limit",
                    )
                ],
            )
        },
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
    """The OpenAPI document: the core's routes and those of the enabled plugins."""
    depot = current_app.extensions["depot"]
    return jsonify(with_plugins(document(), depot.plugins.openapi()))


#: Builders for plugins describing their routes (re-exported by the plugin API).
operation, json_response, request_body, schema_ref = _op, _json, _body, _ref
