"""The OpenAPI description of the service module's API (``/api/v1/service``), served in
``/api/openapi.json`` through the ``depot_openapi`` hook.

Written by hand next to :mod:`repo_server.plugins.product_service.api`; the plugins'
OpenAPI test checks that every route is described here and every path here is a route.
Schema names start with ``Service`` so that they never meet the core's or another
module's.
"""

from __future__ import annotations

from typing import Any

from repo_server.plugin_api import json_response, operation, request_body, schema_ref
from repo_server.plugins.product_service import rules
from repo_server.plugins.product_service.analysis import CSV_COLUMNS

V = "/api/v1/service"

S: dict[str, Any] = {"type": "string"}
I: dict[str, Any] = {"type": "integer"}  # noqa: E741
B: dict[str, Any] = {"type": "boolean"}
N: dict[str, Any] = {"type": "number"}
NS: dict[str, Any] = {"type": ["string", "null"]}
NI: dict[str, Any] = {"type": ["integer", "null"]}
NN: dict[str, Any] = {"type": ["number", "null"]}
WHEN: dict[str, Any] = {"type": ["string", "null"], "format": "date-time"}
DAY: dict[str, Any] = {"type": "string", "format": "date", "description": "YYYY-MM-DD"}

KIND: dict[str, Any] = {"enum": list(rules.KINDS)}
CHANNEL: dict[str, Any] = {"enum": list(rules.CHANNELS)}
NATURE: dict[str, Any] = {"enum": list(rules.NATURES)}
SEVERITY: dict[str, Any] = {"enum": list(rules.SEVERITIES)}
CHARGE: dict[str, Any] = {"enum": list(rules.CHARGES)}
STATUS: dict[str, Any] = {"enum": list(rules.STATUSES)}
#: The steps ``POST /tickets/{number}/{step}`` records (registration is ``POST /tickets``).
STEPS = [step for step in rules.STEPS if step != "register"]

NUMBER: dict[str, Any] = {
    "name": "number",
    "in": "path",
    "required": True,
    "schema": S,
    "description": "the ticket number, S-12 (or 12); anything else answers 404",
}
STEP: dict[str, Any] = {
    "name": "step",
    "in": "path",
    "required": True,
    "schema": {"enum": STEPS},
    "description": "the step to record (follow-up is accepted for follow_up); "
    "an unknown step answers 404",
}


def _error(description: str) -> dict[str, Any]:
    return json_response(schema_ref("Error"), description)


def _query(
    name: str, schema: dict[str, Any], description: str, *, required: bool = False
) -> dict[str, Any]:
    found: dict[str, Any] = {"name": name, "in": "query", "schema": schema}
    if description:
        found["description"] = description
    if required:
        found["required"] = True
    return found


def _flag(name: str, description: str) -> dict[str, Any]:
    schema = {"type": "string", "enum": ["1", "0", "true", "false", "yes", "no"]}
    return _query(name, schema, description + " (1/true/yes or 0/false/no; others answer 400)")


def _summary(unit: str) -> dict[str, Any]:
    return {
        "type": "object",
        "description": f"count, mean, median and worst (largest), in {unit}; "
        "null figures when there is none",
        "properties": {"count": I, "mean": NN, "median": NN, "worst": NN},
    }


def _counts(keys: list[str] | None, description: str) -> dict[str, Any]:
    found: dict[str, Any] = {
        "type": "object",
        "description": description,
        "additionalProperties": I,
    }
    if keys is not None:
        found["properties"] = dict.fromkeys(keys, I)
    return found


SCHEMAS: dict[str, Any] = {
    "ServiceOverdue": {
        "type": "object",
        "description": "a complaint clock that ran out without its step",
        "properties": {
            "clock": {"enum": ["response", "verification"]},
            "due_at": {"type": "string", "format": "date-time"},
            "late_seconds": I,
            "late": {**S, "description": "how late, e.g. '2 d 3 h late'"},
        },
    },
    "ServiceTicket": {
        "type": "object",
        "properties": {
            "number": {**S, "description": "S-<n>"},
            "id": I,
            "ref": {**S, "description": "GROUP/PRODUCT@VERSION"},
            "group": S,
            "product": S,
            "version": S,
            "kind": KIND,
            "channel": CHANNEL,
            "customer": S,
            "contact": {
                "type": "object",
                "properties": {"name": S, "phone": S, "email": S},
            },
            "description": S,
            "delivered_on": DAY,
            "charge": {**CHARGE, "description": "free within the warranty days of delivery"},
            "status": STATUS,
            "open": {**B, "description": "not closed"},
            "registered_by": S,
            "registered_at": {"type": "string", "format": "date-time"},
            "response_due_at": {**WHEN, "description": "complaints only"},
            "responded_at": WHEN,
            "verification_due_at": {**WHEN, "description": "complaints only"},
            "assessed_at": WHEN,
            "nature": {"enum": [*rules.NATURES, None]},
            "severity": {"enum": [*rules.SEVERITIES, None]},
            "problem": NS,
            "technician": NS,
            "completed_at": WHEN,
            "confirmed_by": NS,
            "satisfaction": {**NI, "minimum": 1, "maximum": 5},
            "survey_comment": NS,
            "followed_up_at": WHEN,
            "closed_at": WHEN,
            "is_overdue": B,
            "overdue": {"type": "array", "items": schema_ref("ServiceOverdue")},
            "next_steps": {"type": "array", "items": {"enum": STEPS}},
        },
    },
    "ServiceTicketEvent": {
        "type": "object",
        "description": "one step of a ticket's record",
        "properties": {
            "at": {"type": "string", "format": "date-time"},
            "actor": S,
            "step": {"enum": list(rules.STEPS)},
            "text": S,
            "details": {"type": "object", "description": "the step's fields"},
        },
    },
    "ServiceTicketDetail": {
        "allOf": [
            schema_ref("ServiceTicket"),
            {
                "type": "object",
                "properties": {
                    "record": {
                        "type": "array",
                        "items": schema_ref("ServiceTicketEvent"),
                        "description": "every step, oldest first",
                    }
                },
            },
        ]
    },
    "ServiceAnalysis": {
        "type": "object",
        "properties": {
            "group": S,
            "product": S,
            "version": {**NS, "description": "null: every version of the product"},
            "at": {"type": "string", "format": "date-time"},
            "tickets": I,
            "by_kind": _counts(list(rules.KINDS), "tickets by kind"),
            "by_status": _counts(None, "tickets by status (statuses with tickets only)"),
            "by_channel": _counts(list(rules.CHANNELS), "tickets by channel"),
            "by_charge": _counts(list(rules.CHARGES), "tickets by charge"),
            "by_version": _counts(None, "tickets by version"),
            "first_response_hours": _summary("hours from registration to the first response"),
            "verification_working_days": _summary(
                "working days from registration to the assessment"
            ),
            "completion_hours": _summary("hours from registration to the completion"),
            "complaints": {
                "type": "object",
                "properties": {
                    "count": I,
                    "overdue_now": I,
                    "late": {**I, "description": "complaints that missed a clock"},
                    "share_late": {**NN, "description": "late / count (null: no complaint)"},
                },
            },
            "satisfaction": {
                "type": "object",
                "properties": {
                    "count": I,
                    "mean": NN,
                    "distribution": _counts(
                        [str(n) for n in range(1, 6)], "surveys by score 1 to 5"
                    ),
                },
            },
            "top_problems": {
                "type": "array",
                "description": "the 10 most frequent problems (case and spacing ignored)",
                "items": {
                    "type": "object",
                    "properties": {
                        "problem": S,
                        "count": I,
                        "nature": {**NATURE, "description": "the most frequent nature"},
                        "natures": _counts(list(rules.NATURES), "the problem's tickets by nature"),
                    },
                },
            },
        },
    },
}


def _register_body() -> dict[str, Any]:
    body = request_body(
        {
            "group": {**S, "maxLength": 100},
            "product": {**S, "maxLength": 100},
            "version": {**S, "maxLength": 100, "description": "a version the caller can see"},
            "kind": KIND,
            "channel": {**CHANNEL, "description": "how the customer reported it"},
            "customer": {**S, "maxLength": 200, "description": "the organisation"},
            "contact": {**S, "maxLength": 200, "description": "the contact's name"},
            "contact_phone": {**S, "maxLength": 64, "description": "phone or e-mail required"},
            "contact_email": {**S, "maxLength": 200, "description": "phone or e-mail required"},
            "description": {**S, "maxLength": 10000},
            "delivered_on": {
                **DAY,
                "description": "YYYY-MM-DD, not after today; default the day the version's "
                "check-in was approved (required for a version not checked in)",
            },
        },
        ["group", "product", "version", "kind", "channel", "customer", "contact", "description"],
    )
    schema = body["content"]["application/json"]["schema"]
    schema["anyOf"] = [{"required": ["contact_phone"]}, {"required": ["contact_email"]}]
    return body


def _step_body() -> dict[str, Any]:
    body = request_body(
        {
            "note": {
                **S,
                "maxLength": 10000,
                "description": "service and follow_up: required (up to 10000 characters); "
                "respond, assess, complete and close: optional (up to 5000)",
            },
            "nature": {**NATURE, "description": "assess: required"},
            "severity": {**SEVERITY, "description": "assess: required"},
            "problem": {**S, "maxLength": 200, "description": "assess: required, a short label"},
            "technician": {
                **S,
                "maxLength": 64,
                "description": "dispatch: required, an active Depot account (dispatch again "
                "to hand over)",
            },
            "confirmed_by": {
                **S,
                "maxLength": 200,
                "description": "complete: required, who confirmed the completion",
            },
            "score": {
                "type": ["integer", "string"],
                "minimum": 1,
                "maximum": 5,
                "description": "survey: required, satisfaction 1 to 5 (digits as text accepted)",
            },
            "comment": {**S, "maxLength": 5000, "description": "survey: optional"},
        },
        [],
    )
    body["required"] = False  # an empty body counts as {} (respond, close)
    body["description"] = (
        "the step's fields: respond {note}; assess {nature, severity, problem, note}; "
        "dispatch {technician}; service {note}; complete {confirmed_by, note}; "
        "survey {score, comment}; follow_up {note}; close {note}. Other fields are ignored."
    )
    return body


def _scope() -> list[dict[str, Any]]:
    return [
        _query("group", S, "", required=True),
        _query("product", S, "", required=True),
        _query("version", S, "one version only (default: every version of the product)"),
    ]


def service_openapi() -> dict[str, Any]:
    """The paths and schemas of the service module's API."""
    detail = json_response(schema_ref("ServiceTicketDetail"))
    too_large = {"413": _error("JSON body over the size limit")}
    tickets = {
        "type": "object",
        "properties": {"tickets": {"type": "array", "items": schema_ref("ServiceTicket")}},
        "required": ["tickets"],
    }
    paths: dict[str, Any] = {
        f"{V}/tickets": {
            "get": operation(
                "Service tickets of the groups you see, newest first",
                {"200": json_response(tickets)},
                parameters=[
                    _query("group", S, ""),
                    _query("product", S, ""),
                    _query("version", S, ""),
                    _query("kind", KIND, ""),
                    _flag("open", "only tickets not closed"),
                    _flag("overdue", "only complaints with a clock run out"),
                    _query(
                        "limit",
                        {**I, "minimum": 1, "maximum": 5000, "default": 500},
                        "at most this many tickets",
                    ),
                ],
            ),
            "post": operation(
                "Register a service ticket or complaint against a version (people only)",
                {
                    "201": json_response(schema_ref("ServiceTicketDetail"), "registered"),
                    **too_large,
                },
                requestBody=_register_body(),
            ),
        },
        f"{V}/tickets/{{number}}": {
            "parameters": [NUMBER],
            "get": operation("One service ticket with its record and next steps", {"200": detail}),
        },
        f"{V}/tickets/{{number}}/{{step}}": {
            "parameters": [NUMBER, STEP],
            "post": operation(
                "Record the next step of a service ticket (people only)",
                {
                    "200": detail,
                    "409": _error("the step is out of order (says what must come first)"),
                    **too_large,
                },
                requestBody=_step_body(),
            ),
        },
        f"{V}/analysis": {
            "get": operation(
                "Analysis of the service tickets of a product or version",
                {"200": json_response(schema_ref("ServiceAnalysis"))},
                parameters=_scope(),
            ),
        },
        f"{V}/analysis.csv": {
            "get": operation(
                "The service tickets of a product or version as CSV, one row per ticket",
                {
                    "200": {
                        "description": "streamed; the first line names the columns: "
                        + ", ".join(CSV_COLUMNS)
                        + ". Cells starting with = + - @ are prefixed with '",
                        "headers": {
                            "Content-Disposition": {
                                "schema": S,
                                "description": 'attachment; filename="service-G-P[-V].csv"',
                            }
                        },
                        "content": {"text/csv": {"schema": S}},
                    }
                },
                parameters=_scope(),
            ),
        },
    }
    return {"paths": paths, "schemas": SCHEMAS}
