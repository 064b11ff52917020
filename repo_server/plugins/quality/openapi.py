"""The OpenAPI description of the quality module's API (``/api/v1/quality``), served in
``/api/openapi.json`` through the ``depot_openapi`` hook.

Written by hand next to :mod:`repo_server.plugins.quality.api`; the plugins' OpenAPI test
checks that every route is described here and every path here is a route. Schema names
start with ``Quality`` so that they never meet the core's or another module's.
"""

from __future__ import annotations

from typing import Any

from repo_server.plugin_api import json_response, operation, request_body, schema_ref
from repo_server.plugins.quality import rules

Q = "/api/v1/quality"

S: dict[str, Any] = {"type": "string"}
I: dict[str, Any] = {"type": "integer"}  # noqa: E741
B: dict[str, Any] = {"type": "boolean"}
NS: dict[str, Any] = {"type": ["string", "null"]}
NDAY: dict[str, Any] = {"type": ["string", "null"], "format": "date", "description": "YYYY-MM-DD"}
REF: dict[str, Any] = {"type": "string", "description": "GROUP/PRODUCT@VERSION"}
CLASS: dict[str, Any] = {"enum": list(rules.CLASSES)}


def _path(name: str, description: str = "") -> dict[str, Any]:
    found: dict[str, Any] = {"name": name, "in": "path", "required": True, "schema": S}
    if description:
        found["description"] = description
    return found


NUMBER = _path("number", "the issue number, Q-17 (or 17)")
GROUP = _path("group")
PRODUCT = _path("product")
VERSION = _path("version")
SUPPLIER = _path("name", "the supplier's name")


def _flag(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "schema": B, "description": description}


def _list(key: str, item: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {key: {"type": "array", "items": schema_ref(item)}},
        "required": [key],
    }


def _conflict(description: str) -> dict[str, Any]:
    return {"409": json_response(schema_ref("Error"), description)}


def _optional(body: dict[str, Any]) -> dict[str, Any]:
    """A request body that may be left out (an empty body counts as ``{}``)."""
    return {**body, "required": False}


def _closed(body: dict[str, Any]) -> dict[str, Any]:
    """A request body whose schema refuses fields it does not name (a 400 naming it)."""
    schema = body["content"]["application/json"]["schema"]
    content = {"application/json": {"schema": {**schema, "additionalProperties": False}}}
    return {**body, "content": content}


SCHEMAS: dict[str, Any] = {
    "QualityIssue": {
        "type": "object",
        "properties": {
            "number": {**S, "description": "Q-<n>"},
            "ref": REF,
            "group": S,
            "product": S,
            "version": S,
            "title": S,
            "description": S,
            "class": CLASS,
            "supplier": NS,
            "status": {"enum": list(rules.STATUSES)},
            "cause": {"enum": [*rules.CAUSES, None]},
            "resolution": NS,
            "reported_by": S,
            "reported_at": S,
            "decided_by": NS,
            "decided_at": NS,
            "closed_by": NS,
            "closed_at": NS,
            "active_quarantines": {
                **I,
                "description": "how many quarantines of the issue are active",
            },
        },
    },
    "QualityIssueEvent": {
        "type": "object",
        "properties": {
            "at": S,
            "actor": S,
            "step": {
                "enum": ["report", "classify", "confirm", "dismiss", "handle", "lift", "close"]
            },
            "text": S,
        },
    },
    "QualityIssueDetail": {
        "allOf": [
            schema_ref("QualityIssue"),
            {
                "type": "object",
                "properties": {
                    "events": {"type": "array", "items": schema_ref("QualityIssueEvent")},
                    "quarantines": {
                        "type": "array",
                        "items": schema_ref("QualityQuarantine"),
                        "description": "the issue's quarantines in groups the caller may see",
                    },
                    "quarantines_elsewhere": {
                        **I,
                        "description": "quarantines of the issue in groups the caller cannot "
                        "see (never named)",
                    },
                },
            },
        ]
    },
    "QualityQuarantine": {
        "type": "object",
        "properties": {
            "issue": {**S, "description": "the issue that quarantined the version, Q-<n>"},
            "ref": REF,
            "group": S,
            "product": S,
            "version": S,
            "batch": {
                "type": "array",
                "items": S,
                "description": "the build identifiers of the batch",
            },
            "active": B,
            "started_at": S,
            "started_by": S,
            "lifted_at": NS,
            "lifted_by": NS,
            "lift_reason": NS,
        },
    },
    "QualityTrendMonth": {
        "type": "object",
        "properties": {
            "month": {**S, "description": "YYYY-MM"},
            "general": I,
            "serious": I,
            "total": I,
        },
    },
    "QualityArchiveEntry": {
        "type": "object",
        "properties": {
            "ref": REF,
            "group": S,
            "product": S,
            "version": S,
            "build_batch": {"type": "array", "items": S},
            "build_batch_source": {
                "enum": ["archive", "upload"],
                "description": "recorded in the archive, or the build identifiers of the upload",
            },
            "build_date": NDAY,
            "end_of_support": NDAY,
            "past_end_of_support": B,
            "updated_by": NS,
            "updated_at": NS,
        },
    },
    "QualitySupplier": {
        "type": "object",
        "properties": {
            "name": S,
            "qualification": S,
            "qualified_until": NDAY,
            "qualification_expired": B,
            "contact": S,
            "status": {"enum": list(rules.SUPPLIER_STATUSES)},
            "created_by": S,
            "created_at": S,
        },
    },
    "QualitySupplierSummary": {
        "allOf": [
            schema_ref("QualitySupplier"),
            {
                "type": "object",
                "properties": {
                    "latest_score": {"type": ["integer", "null"]},
                    "latest_period": NS,
                },
            },
        ]
    },
    "QualitySupplierDetail": {
        "allOf": [
            schema_ref("QualitySupplier"),
            {
                "type": "object",
                "properties": {
                    "evaluations": {
                        "type": "array",
                        "items": schema_ref("QualityEvaluation"),
                        "description": "newest first",
                    },
                    "issues": {
                        "type": "array",
                        "items": schema_ref("QualityIssue"),
                        "description": "the linked issues the caller may see",
                    },
                },
            },
        ]
    },
    "QualityEvaluation": {
        "type": "object",
        "properties": {
            "supplier": {**S, "description": "on creation only"},
            "period": S,
            "score": {**I, "minimum": 1, "maximum": 5},
            "notes": S,
            "evaluator": S,
            "at": S,
        },
    },
}


def _issue_paths() -> dict[str, Any]:
    issue = json_response(schema_ref("QualityIssue"))
    comment = {**S, "description": "recorded on the issue"}
    step = _conflict("the step does not fit the issue's state")
    return {
        f"{Q}/issues": {
            "get": operation(
                "Quality issues the caller may see, newest first",
                {"200": json_response(_list("issues", "QualityIssue"))},
                parameters=[
                    _flag("open", "only issues not closed"),
                    {"name": "status", "in": "query", "schema": {"enum": list(rules.STATUSES)}},
                    {"name": "class", "in": "query", "schema": CLASS},
                    {"name": "version", "in": "query", "schema": REF},
                    {
                        "name": "supplier",
                        "in": "query",
                        "schema": S,
                        "description": "issues linked to this supplier",
                    },
                ],
            ),
            "post": operation(
                "Report a quality issue against a version (a person who can see it)",
                {"201": json_response(schema_ref("QualityIssue"), "reported")},
                requestBody=request_body(
                    {
                        "version": REF,
                        "title": {**S, "maxLength": 200},
                        "description": S,
                        "class": CLASS,
                        "supplier": {
                            **S,
                            "maxLength": 200,
                            "description": "a supplier of the register",
                        },
                    },
                    ["version", "title", "description", "class"],
                ),
            ),
        },
        f"{Q}/issues/{{number}}": {
            "parameters": [NUMBER],
            "get": operation(
                "One quality issue with its events and quarantines",
                {"200": json_response(schema_ref("QualityIssueDetail"))},
            ),
        },
        f"{Q}/issues/{{number}}/classify": {
            "parameters": [NUMBER],
            "post": operation(
                "Class an open issue general or serious again (quality manager)",
                {"200": issue, **step},
                requestBody=request_body({"class": CLASS, "comment": comment}, ["class"]),
            ),
        },
        f"{Q}/issues/{{number}}/confirm": {
            "parameters": [NUMBER],
            "post": operation(
                "Confirm an open serious issue and quarantine its build batch (quality manager)",
                {"200": issue, **step},
                requestBody=_optional(
                    request_body(
                        {
                            "cause": {
                                "enum": ["product"],
                                "default": "product",
                                "description": "not caused by use or maintenance",
                            },
                            "comment": comment,
                        },
                        [],
                    )
                ),
            ),
        },
        f"{Q}/issues/{{number}}/dismiss": {
            "parameters": [NUMBER],
            "post": operation(
                "Dismiss an open serious issue caused by use or maintenance (quality manager)",
                {"200": issue, **step},
                requestBody=request_body(
                    {"cause": {"enum": list(rules.DISMISS_CAUSES)}, "comment": comment},
                    ["cause"],
                ),
            ),
        },
        f"{Q}/issues/{{number}}/handle": {
            "parameters": [NUMBER],
            "post": operation(
                "Record a handling step on an issue not closed (quality manager)",
                {"200": issue, **step},
                requestBody=request_body({"note": S}, ["note"]),
            ),
        },
        f"{Q}/issues/{{number}}/lift": {
            "parameters": [NUMBER],
            "post": operation(
                "Lift the issue's active quarantines (quality manager)",
                {
                    "200": json_response(
                        {
                            "allOf": [
                                schema_ref("QualityIssue"),
                                {
                                    "type": "object",
                                    "properties": {
                                        "released": {
                                            "type": "array",
                                            "items": REF,
                                            "description": "versions no other issue still "
                                            "quarantines",
                                        }
                                    },
                                },
                            ]
                        }
                    ),
                    **_conflict("the issue has no active quarantine"),
                },
                requestBody=request_body({"reason": S}, ["reason"]),
            ),
        },
        f"{Q}/issues/{{number}}/close": {
            "parameters": [NUMBER],
            "post": operation(
                "Close an issue with its resolution (quality manager; a general issue also "
                "the group's software manager)",
                {"200": issue, **step},
                requestBody=request_body({"resolution": S}, ["resolution"]),
            ),
        },
        f"{Q}/quarantines": {
            "get": operation(
                "Active quarantines of versions the caller may see (lifted ones too with all)",
                {"200": json_response(_list("quarantines", "QualityQuarantine"))},
                parameters=[_flag("all", "lifted quarantines too")],
            )
        },
        f"{Q}/trends": {
            "get": operation(
                "Quality issues reported per month by class, the last 12 months",
                {"200": json_response(_list("months", "QualityTrendMonth"))},
            )
        },
    }


def _archive_paths() -> dict[str, Any]:
    entry = json_response(schema_ref("QualityArchiveEntry"))
    return {
        f"{Q}/archive": {
            "get": operation(
                "Versions the caller may see past their end of support, oldest end first",
                {"200": json_response(_list("versions", "QualityArchiveEntry"))},
            )
        },
        f"{Q}/archive/{{group}}/{{product}}/{{version}}": {
            "parameters": [GROUP, PRODUCT, VERSION],
            "get": operation("The quality archive of a version", {"200": entry}),
            "put": operation(
                "Set the end of support, build date or build batch of a version (quality "
                "manager, version manager, the group's software manager)",
                {"200": entry},
                requestBody=_closed(
                    request_body(
                        {
                            "end_of_support": {
                                **NDAY,
                                "description": "YYYY-MM-DD; null or empty: none",
                            },
                            "build_date": {
                                **NDAY,
                                "description": "YYYY-MM-DD; null or empty: the first upload's day",
                            },
                            "build_batch": {
                                "type": ["array", "null"],
                                "items": S,
                                "description": "build identifiers (no commas); null or empty: "
                                "those recorded at upload",
                            },
                        },
                        [],
                    )
                ),
            ),
        },
    }


def _supplier_paths() -> dict[str, Any]:
    supplier = json_response(schema_ref("QualitySupplier"))
    status = {"enum": list(rules.SUPPLIER_STATUSES)}
    return {
        f"{Q}/suppliers": {
            "get": operation(
                "The supplier register, by name, with each supplier's latest score",
                {"200": json_response(_list("suppliers", "QualitySupplierSummary"))},
            ),
            "post": operation(
                "Add a supplier to the register (quality manager)",
                {
                    "201": json_response(schema_ref("QualitySupplier"), "added"),
                    **_conflict("a supplier of that name is in the register"),
                },
                requestBody=_closed(
                    request_body(
                        {
                            "name": {**S, "maxLength": 200},
                            "qualification": S,
                            "qualified_until": NDAY,
                            "contact": {**S, "maxLength": 500},
                            "status": {**status, "default": "active"},
                        },
                        ["name", "qualification"],
                    )
                ),
            ),
        },
        f"{Q}/suppliers/{{name}}": {
            "parameters": [SUPPLIER],
            "get": operation(
                "One supplier with its evaluations and linked issues",
                {"200": json_response(schema_ref("QualitySupplierDetail"))},
            ),
            "patch": operation(
                "Change a supplier's qualification, contact or status (quality manager)",
                {"200": supplier},
                requestBody=_closed(
                    request_body(
                        {
                            "qualification": S,
                            "qualified_until": NDAY,
                            "contact": {**S, "maxLength": 500},
                            "status": status,
                        },
                        [],
                    )
                ),
            ),
        },
        f"{Q}/suppliers/{{name}}/evaluations": {
            "parameters": [SUPPLIER],
            "post": operation(
                "Record a supplier's evaluation for a period (quality manager)",
                {
                    "201": json_response(schema_ref("QualityEvaluation"), "recorded"),
                    **_conflict("the supplier is already evaluated for that period"),
                },
                requestBody=request_body(
                    {
                        "period": {
                            **S,
                            "pattern": r"^[0-9]{4}(-(H[12]|Q[1-4]|0[1-9]|1[0-2]))?$",
                            "description": "2026, 2026-H1, 2026-Q3 or 2026-07",
                        },
                        "score": {**I, "minimum": 1, "maximum": 5},
                        "notes": S,
                    },
                    ["period", "score"],
                ),
            ),
        },
    }


def description() -> dict[str, Any]:
    """The quality module's part of the OpenAPI document: ``{"paths", "schemas"}``."""
    paths: dict[str, Any] = {
        f"{Q}/": {
            "get": operation(
                "The quality module is enabled (its name and API version)",
                {
                    "200": json_response(
                        {
                            "type": "object",
                            "properties": {"module": {"const": "quality"}, "version": I},
                        }
                    )
                },
            )
        },
        **_issue_paths(),
        **_archive_paths(),
        **_supplier_paths(),
    }
    return {"paths": paths, "schemas": SCHEMAS}
