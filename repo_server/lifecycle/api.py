"""API routes of the lifecycle: filing requests, deciding them, reading them."""

from __future__ import annotations

import base64
from typing import Any

from flask import request

from repo_server.api.http import bp, depot, field, json_body, principal, signed_in
from repo_server.errors import InvalidRequest

Json = tuple[dict[str, Any], int] | dict[str, Any]
PRODUCT_PATH = "/groups/<group>/products/<product>"
VERSION_PATH = PRODUCT_PATH + "/versions/<version>"


@bp.post(PRODUCT_PATH + "/upgrades")
def request_upgrade(group: str, product: str) -> Json:
    """File an upgrade request (software manager)."""
    body = json_body()
    info = depot().lifecycle.request_upgrade(
        principal(),
        group,
        product,
        field(body, "target_version", str, required=True),
        field(body, "reason", str, required=True),
        field(body, "scope", str, ""),
    )
    return info.to_json(), 201


@bp.get(PRODUCT_PATH + "/upgrades")
def list_upgrades(group: str, product: str) -> Json:
    """The upgrade requests of a product, newest first."""
    return {
        "requests": [r.to_json() for r in depot().requests.upgrades(principal(), group, product)]
    }


@bp.post(VERSION_PATH + "/submit")
def submit(group: str, product: str, version: str) -> Json:
    """Deliver a draft for acceptance (software manager); ``to`` names one officer."""
    body = json_body()
    info = depot().lifecycle.submit(
        principal(),
        group,
        product,
        version,
        to=field(body, "to", str),
        comment=field(body, "comment", str, ""),
    )
    return info.to_json(), 201


@bp.post(VERSION_PATH + "/checkin")
def request_checkin(group: str, product: str, version: str) -> Json:
    """File a check-in request with the archive information (software manager)."""
    body = json_body()
    documents = body.get("documents") or []
    items = body.get("items") or []
    if not isinstance(documents, list) or not all(isinstance(d, str) for d in documents):
        raise InvalidRequest("documents must be a list of file names", field="documents")
    if not isinstance(items, list):
        raise InvalidRequest("items must be a list of objects", field="items")
    info = depot().lifecycle.request_checkin(
        principal(),
        group,
        product,
        version,
        release_notes=field(body, "release_notes", str, required=True),
        documents=documents,
        items=items,
    )
    return info.to_json(), 201


@bp.post(VERSION_PATH + "/checkout")
def request_checkout(group: str, product: str, version: str) -> Json:
    """File a check-out request with its purpose (software manager)."""
    body = json_body()
    info = depot().lifecycle.request_checkout(
        principal(),
        group,
        product,
        version,
        purpose=field(body, "purpose", str, required=True),
        days=field(body, "days", int),
    )
    return info.to_json(), 201


@bp.post(VERSION_PATH + "/retire")
def retire(group: str, product: str, version: str) -> Json:
    """Retire a checked-in version (version manager)."""
    body = json_body()
    refused = depot().library.retire(
        principal(), group, product, version, field(body, "reason", str, "")
    )
    info = depot().catalog.get_version(principal(), group, product, version)
    return {**info.to_json(), "refused_checkouts": refused}


@bp.get(VERSION_PATH + "/feedback")
def list_feedback(group: str, product: str, version: str) -> Json:
    """Usage feedback on a version."""
    entries = depot().requests.feedback(principal(), group, product, version)
    return {"feedback": [f.to_json() for f in entries]}


@bp.post(VERSION_PATH + "/feedback")
def add_feedback(group: str, product: str, version: str) -> Json:
    """Record usage feedback on a checked-in version (acceptance officer)."""
    body = json_body()
    depot().library.add_feedback(principal(), group, product, version, field(body, "text", str, ""))
    return list_feedback(group, product, version), 201  # type: ignore[return-value]


@bp.get(VERSION_PATH + "/history")
def history(group: str, product: str, version: str) -> Json:
    """Everything that happened to a version, oldest first."""
    events = depot().requests.history(principal(), group, product, version)
    return {"ref": f"{group}/{product}@{version}", "events": [e.to_json() for e in events]}


@bp.get(VERSION_PATH + "/requests")
def version_requests(group: str, product: str, version: str) -> Json:
    """The requests about a version, oldest first."""
    found = depot().requests.for_version(principal(), group, product, version)
    return {"requests": [r.to_json() for r in found]}


@bp.get("/requests")
def list_requests() -> Json:
    """``view=inbox`` (default): waiting for my decision; ``mine``: filed by me; ``all``:
    every request I may see (filter by ``group``, ``state``, ``kind``)."""
    caller = signed_in()
    view = request.args.get("view", "inbox")
    queries = depot().requests
    if view == "inbox":
        found = queries.inbox(caller)
    elif view == "mine":
        found = queries.mine(caller)
    elif view == "all":
        found = queries.search(
            caller,
            group=request.args.get("group") or None,
            state=request.args.get("state") or None,
            kind=request.args.get("kind") or None,
        )
    else:
        raise InvalidRequest("view must be inbox, mine or all", field="view")
    return {"view": view, "requests": [r.to_json() for r in found]}


def _request_id(raw: str) -> int:
    try:
        return int(raw.lstrip("#"))
    except ValueError:
        raise InvalidRequest("a request id is a number", field="id") from None


@bp.get("/requests/<request_id>")
def get_request(request_id: str) -> Json:
    """One request with its version, files, report, archive information and history."""
    return depot().requests.get(signed_in(), _request_id(request_id)).to_json()


@bp.post("/requests/<request_id>/approve")
def approve(request_id: str) -> Json:
    """Approve a request (for an acceptance: record a pass, naming the ``report``)."""
    body = json_body()
    info = depot().decisions.decide(
        signed_in(),
        _request_id(request_id),
        approve=True,
        comment=field(body, "comment", str, ""),
        report=field(body, "report", str),
        statement=field(body, "statement", dict),
    )
    return info.to_json()


@bp.post("/requests/<request_id>/statement")
def statement_to_sign(request_id: str) -> Json:
    """The approval statement to sign with a personal key before deciding.

    Body: ``decision`` (``approve`` or ``refuse``) and the ``comment`` the decision will
    carry. Sign the returned payload (DSSE, type ``payloadType``) and send the envelope
    as ``statement`` with the decision within ten minutes.
    """
    body = json_body()
    decision = field(body, "decision", str, "approve")
    if decision not in ("approve", "refuse"):
        raise InvalidRequest("decision must be approve or refuse", field="decision")
    payload_type, payload = depot().decisions.expected_statement(
        signed_in(),
        _request_id(request_id),
        approve=decision == "approve",
        comment=field(body, "comment", str, ""),
    )
    return {"payloadType": payload_type, "payload": base64.b64encode(payload).decode()}


@bp.post("/requests/<request_id>/refuse")
def refuse(request_id: str) -> Json:
    """Refuse a request with a comment (for an acceptance: record a fail, with the ``report``)."""
    body = json_body()
    info = depot().decisions.decide(
        signed_in(),
        _request_id(request_id),
        approve=False,
        comment=field(body, "comment", str, ""),
        report=field(body, "report", str),
        statement=field(body, "statement", dict),
    )
    return info.to_json()
