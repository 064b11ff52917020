"""API routes of the lifecycle: filing requests, deciding them, reading them (shapes:
:mod:`repo_server.api.schemas.lifecycle`)."""

from __future__ import annotations

import base64
from typing import Any

from repo_server.api.contract import Reply
from repo_server.api.http import bp, depot, principal, signed_in
from repo_server.api.paging import Answer, PageQuery, answer, page_request, paged
from repo_server.api.schemas.lifecycle import (
    CheckinRequest,
    CheckoutRequest,
    Decision,
    DecisionCheck,
    FeedbackList,
    FeedbackText,
    History,
    Inbox,
    Request,
    RequestDetail,
    RequestList,
    RequestsQuery,
    Retired,
    Retirement,
    Statement,
    StatementAsk,
    Submission,
    UpgradeRequest,
)
from repo_server.errors import InvalidRequest, NotFound
from repo_server.ids import MAX_INTEGER
from repo_server.lifecycle.facts import RequestInfo

PRODUCT_PATH = "/groups/<group>/products/<product>"
VERSION_PATH = PRODUCT_PATH + "/versions/<version>"
HIDDEN = {404: "no such group, product or version, or not one of yours"}
REFUSED = {403: "refused by a rule (the rule is named)", **HIDDEN}
PENDING = {409: "conflicts with a pending request or the version's state"}
FILED = {201: Reply(Request, "filed")}
DECIDE = {
    403: "refused by a rule (four eyes, your role, a missing signature)",
    404: "no such request, or not one you may see",
    409: "the request is decided already",
}


@bp.operation(
    "POST",
    PRODUCT_PATH + "/upgrades",
    auth="optional",
    body=UpgradeRequest,
    replies=FILED,
    errors={**REFUSED, **PENDING},
)
def request_upgrade(group: str, product: str, body: UpgradeRequest) -> tuple[RequestInfo, int]:
    """File an upgrade request (software manager)."""
    info = depot().lifecycle.request_upgrade(
        principal(), group, product, body.target_version, body.reason, body.scope
    )
    return info, 201


@bp.operation(
    "GET",
    PRODUCT_PATH + "/upgrades",
    auth="optional",
    query=PageQuery,
    replies={200: paged(RequestList)},
    errors=HIDDEN,
)
def list_upgrades(group: str, product: str, query: PageQuery) -> Answer:
    """The upgrade requests of a product, newest first."""
    page = depot().requests.upgrades(principal(), group, product, page_request(query))
    return answer({"requests": page.items}, page)


@bp.operation(
    "POST",
    VERSION_PATH + "/submit",
    auth="optional",
    body=Submission,
    replies=FILED,
    errors={**REFUSED, **PENDING},
)
def submit(group: str, product: str, version: str, body: Submission) -> tuple[RequestInfo, int]:
    """Deliver a draft for acceptance (software manager); ``to`` names one officer."""
    info = depot().lifecycle.submit(
        principal(), group, product, version, to=body.to, comment=body.comment
    )
    return info, 201


@bp.operation(
    "POST",
    VERSION_PATH + "/checkin",
    auth="optional",
    body=CheckinRequest,
    replies=FILED,
    errors={**REFUSED, **PENDING},
)
def request_checkin(
    group: str, product: str, version: str, body: CheckinRequest
) -> tuple[RequestInfo, int]:
    """File a check-in request with the archive information (software manager)."""
    info = depot().lifecycle.request_checkin(
        principal(),
        group,
        product,
        version,
        release_notes=body.release_notes,
        documents=list(body.documents),
        items=[item.model_dump() for item in body.items],
    )
    return info, 201


@bp.operation(
    "POST",
    VERSION_PATH + "/checkout",
    auth="optional",
    body=CheckoutRequest,
    replies=FILED,
    errors={**REFUSED, **PENDING},
)
def request_checkout(
    group: str, product: str, version: str, body: CheckoutRequest
) -> tuple[RequestInfo, int]:
    """File a check-out request with its purpose (software manager)."""
    info = depot().lifecycle.request_checkout(
        principal(), group, product, version, purpose=body.purpose, days=body.days
    )
    return info, 201


@bp.operation(
    "POST",
    VERSION_PATH + "/retire",
    auth="optional",
    body=Retirement,
    replies={200: Reply(Retired, "retired")},
    errors={**REFUSED, 409: "the version is not checked in"},
)
def retire(group: str, product: str, version: str, body: Retirement) -> dict[str, Any]:
    """Retire a checked-in version (version manager)."""
    refused = depot().library.retire(principal(), group, product, version, body.reason)
    info = depot().catalog.get_version(principal(), group, product, version)
    return {**vars(info), "ref": info.ref, "refused_checkouts": refused}


@bp.operation(
    "GET",
    VERSION_PATH + "/feedback",
    auth="optional",
    query=PageQuery,
    replies={200: paged(FeedbackList)},
    errors=HIDDEN,
)
def list_feedback(group: str, product: str, version: str, query: PageQuery) -> Answer:
    """Usage feedback on a version, oldest first."""
    page = depot().requests.feedback(principal(), group, product, version, page_request(query))
    return answer({"feedback": page.items}, page)


@bp.operation(
    "POST",
    VERSION_PATH + "/feedback",
    auth="optional",
    body=FeedbackText,
    replies={201: paged(FeedbackList, "recorded; the first page of the feedback on the version")},
    errors={**REFUSED, 409: "the version is not checked in"},
)
def add_feedback(group: str, product: str, version: str, body: FeedbackText) -> Answer:
    """Record usage feedback on a checked-in version (acceptance officer)."""
    depot().library.add_feedback(principal(), group, product, version, body.text)
    found, _, headers = list_feedback(group, product, version, PageQuery())
    return found, 201, headers


@bp.operation(
    "GET",
    VERSION_PATH + "/history",
    auth="optional",
    query=PageQuery,
    replies={200: paged(History)},
    errors=HIDDEN,
)
def history(group: str, product: str, version: str, query: PageQuery) -> Answer:
    """Everything that happened to a version, oldest first."""
    page = depot().requests.history(principal(), group, product, version, page_request(query))
    return answer({"ref": f"{group}/{product}@{version}", "events": page.items}, page)


@bp.operation(
    "GET",
    VERSION_PATH + "/requests",
    auth="optional",
    query=PageQuery,
    replies={200: paged(RequestList)},
    errors=HIDDEN,
)
def version_requests(group: str, product: str, version: str, query: PageQuery) -> Answer:
    """The requests about a version, oldest first."""
    page = depot().requests.for_version(principal(), group, product, version, page_request(query))
    return answer({"requests": page.items}, page)


@bp.operation("GET", "/requests", query=RequestsQuery, replies={200: paged(Inbox)})
def list_requests(query: RequestsQuery) -> Answer:
    """My inbox (``view=inbox``, the default: oldest first), my requests (``mine``: newest
    first) or every request I may see (``all``, newest first, filtered by ``group``,
    ``state``, ``kind``)."""
    caller = signed_in()
    queries = depot().requests
    wanted = page_request(query)
    if query.view == "inbox":
        found = queries.inbox(caller, wanted)
    elif query.view == "mine":
        found = queries.mine(caller, wanted)
    else:
        found = queries.search(
            caller,
            group=query.group or None,
            state=query.state or None,
            kind=query.kind or None,
            page=wanted,
        )
    return answer({"view": query.view, "requests": found.items}, found)


#: The largest id a request can have (the database's integer column).
MAX_REQUEST_ID = MAX_INTEGER


def _request_id(raw: str) -> int:
    try:
        number = int(raw.lstrip("#"))
    except ValueError:
        raise InvalidRequest("a request id is a number", field="id") from None
    if not 0 < number <= MAX_REQUEST_ID:
        raise NotFound(f"request #{number} not found")
    return number


@bp.operation(
    "GET",
    "/requests/<request_id>",
    replies={200: Reply(RequestDetail)},
    errors={404: "no such request, or not one you may see"},
)
def get_request(request_id: str) -> dict[str, Any]:
    """One request with its version, files, report, archive information and history."""
    detail = depot().requests.get(signed_in(), _request_id(request_id))
    return {
        **Request.model_validate(detail.request, from_attributes=True).model_dump(),
        "version_record": detail.version,
        "acceptance": detail.acceptance,
        "archive_items": list(detail.archive_items),
        "history": detail.history,
        "you_may_approve": detail.approve.allowed,
        "you_may_refuse": detail.refuse.allowed,
        "why_not": "" if detail.approve.allowed else detail.approve.reason,
    }


@bp.operation(
    "POST",
    "/requests/<request_id>/approve",
    body=Decision,
    replies={200: Reply(Request, "approved")},
    errors=DECIDE,
)
def approve(request_id: str, body: Decision) -> RequestInfo:
    """Approve a request (for an acceptance: record a pass, naming the ``report``)."""
    return depot().decisions.decide(
        signed_in(),
        _request_id(request_id),
        approve=True,
        comment=body.comment,
        report=body.report,
        statement=body.statement,
    )


@bp.operation(
    "POST",
    "/requests/<request_id>/statement",
    body=StatementAsk,
    replies={200: Reply(Statement)},
    errors=DECIDE,
)
def statement_to_sign(request_id: str, body: StatementAsk) -> dict[str, str]:
    """The approval statement to sign with a personal key before deciding.

    Body: ``decision`` (``approve`` or ``refuse``) and the ``comment`` the decision will
    carry. Sign the returned payload (DSSE, type ``payloadType``) and send the envelope
    as ``statement`` with the decision within ten minutes.
    """
    payload_type, payload = depot().decisions.expected_statement(
        signed_in(),
        _request_id(request_id),
        approve=body.decision == "approve",
        comment=body.comment,
    )
    return {"payloadType": payload_type, "payload": base64.b64encode(payload).decode()}


@bp.operation(
    "POST",
    "/requests/<request_id>/check",
    body=StatementAsk,
    replies={200: Reply(DecisionCheck, "the rules allow it now")},
    errors=DECIDE,
)
def check_decision(request_id: str, body: StatementAsk) -> dict[str, Any]:
    """Ask whether the decision (``approve`` or ``refuse``, with its ``comment``) would be
    allowed now, before storing what goes with it (an acceptance's report). A refusal is
    a 403 naming the rule and is audited like the decision itself; nothing changes."""
    decision = depot().decisions.check(
        signed_in(),
        _request_id(request_id),
        approve=body.decision == "approve",
        comment=body.comment,
    )
    return {"allowed": decision.allowed, "rule": decision.rule, "reason": decision.reason}


@bp.operation(
    "POST",
    "/requests/<request_id>/refuse",
    body=Decision,
    replies={200: Reply(Request, "refused")},
    errors=DECIDE,
)
def refuse(request_id: str, body: Decision) -> RequestInfo:
    """Refuse a request with a comment (for an acceptance: record a fail, with the ``report``)."""
    return depot().decisions.decide(
        signed_in(),
        _request_id(request_id),
        approve=False,
        comment=body.comment,
        report=body.report,
        statement=body.statement,
    )
