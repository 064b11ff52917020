"""No listing escapes paging: the served OpenAPI document (core and both business modules)
is walked, and every GET whose answer carries an array takes ``limit`` and ``cursor``,
answers ``next`` and documents the ``Link`` header — unless it is one record whose arrays
are parts of it (listed below, each with why), not a listing.

A new listing fails here until it is declared the paged way (docs/api.md, "Listings are
paged"): query model from ``PageQuery``, answer from ``Paged``, reply ``paged(Model)``,
the handler returning ``answer({...}, page)`` of a service page read by
``repo_server.paging.fetch`` / ``by_id``."""

from __future__ import annotations

from typing import Any

from tests.plugins.conftest import MakeWorld

#: GET routes answering one record (or a bounded document) whose arrays are its parts.
RECORDS = {
    "/api/v1/auth/whoami": "the caller: their global roles",
    "/api/v1/users/{username}": "one account: its global roles",
    "/api/v1/groups/{group}": "one group: the caller's roles in it",
    "/api/v1/groups/{group}/products/{product}/versions/{version}": (
        "one version's record; its files page at .../files"
    ),
    "/api/v1/groups/{group}/products/{product}/library": "a signed document: its signatures",
    "/api/v1/groups/{group}/products/{product}/versions/{version}/status": (
        "a signed document: its signatures"
    ),
    "/api/v1/groups/{group}/products/{product}/versions/{version}/provenance": (
        "a version's provenance, judged as one: at most MAX_ATTESTATIONS (64) attestations"
    ),
    "/api/v1/groups/{group}/products/{product}/versions/{version}/uploads/{session_id}": (
        "one upload session: the parts it holds (at most 10,000)"
    ),
    "/api/v1/groups/{group}/provenance-keys": "a group's provenance keys: at most MAX_KEYS (32)",
    "/api/v1/groups/{group}/products/{product}/versions/{version}/trust": (
        "a version's trust bundle: its statements and check-outs, verified as one"
    ),
    "/api/v1/trust/enrollment": "a signed document: its signatures",
    "/api/v1/trust/keyring/{version}": "a signed document: its signatures",
    "/api/v1/trust/seal/{version}": "a signed document: its signatures",
    "/api/v1/log/proof/consistency": "a Merkle proof: log2(size) hashes",
    "/api/v1/log/proof/inclusion": "a Merkle proof: log2(size) hashes",
    "/api/v1/health/ready": "the readiness checks, one per dependency",
    "/api/v1/plugins": "the enabled plugins",
    "/api/v1/requests/{request_id}": "one request: its archive items and history",
    "/api/v1/items/{identifier}": "one physical item: its custody events",
    "/api/v1/register/export": "the whole register as one JSON file (an export, like the CSV)",
    "/api/v1/register/statistics": "figures: counts per group and category, per month",
    "/api/v1/quality/trends": "figures: the last 12 months",
    "/api/v1/quality/issues/{number}": "one issue: its events, quarantines and notices",
    "/api/v1/quality/archive/{group}/{product}/{version}": "one archive entry: its build batch",
    "/api/v1/quality/suppliers/{name}": "one supplier: its evaluations and linked issues",
    "/api/v1/service/analysis": "figures: the top problems of a period",
    "/api/v1/service/tickets/{number}": "one ticket: its record, escalations and next steps",
}


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _is_array(document: dict[str, Any], schema: dict[str, Any]) -> bool:
    schema = _resolve(document, schema)
    options = schema.get("anyOf", []) + schema.get("oneOf", [])
    return schema.get("type") == "array" or any(_is_array(document, o) for o in options)


def _arrays(document: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    """The names of the array properties of ``schema`` (``<answer>``: it is one)."""
    schema = _resolve(document, schema)
    if _is_array(document, schema):
        return ["<answer>"]
    return [
        name for name, field in schema.get("properties", {}).items() if _is_array(document, field)
    ]


def test_every_get_answering_an_array_is_paged(make_world: MakeWorld) -> None:
    world = make_world("quality", "product_service")
    document: dict[str, Any] = world.call("GET", "/api/openapi.json").json
    unpaged: dict[str, list[str]] = {}
    paged: list[str] = []
    for path, item in sorted(document["paths"].items()):
        op = item.get("get")
        ok = (op or {}).get("responses", {}).get("200", {})
        content = ok.get("content", {}).get("application/json")
        if content is None:
            continue
        arrays = _arrays(document, content["schema"])
        if not arrays or path in RECORDS:
            continue
        parameters = {p["name"]: p for p in op.get("parameters", []) if p["in"] == "query"}
        answer = _resolve(document, content["schema"])
        if not (
            {"limit", "cursor"} <= set(parameters)
            and "next" in answer.get("required", [])
            and "Link" in ok.get("headers", {})
        ):
            unpaged[path] = arrays
            continue
        limit = parameters["limit"]["schema"]
        assert limit["minimum"] == 1 and limit["maximum"] == 500 and limit["default"] == 50, path
        paged.append(path)
    assert unpaged == {}, "listings without limit, cursor, next and Link: page them"
    # The records listed above are still there (a stale entry would hide nothing, but lie).
    assert set(RECORDS) <= set(document["paths"]), set(RECORDS) - set(document["paths"])
    for listing in (
        "/api/v1/groups/{group}/members",
        "/api/v1/groups/{group}/oidc-trusts",
        "/api/v1/keys",
        "/api/v1/groups/{group}/products/{product}/versions/{version}/feedback",
        "/api/v1/groups/{group}/products/{product}/versions/{version}/history",
        "/api/v1/quality/quarantines",
        "/api/v1/quality/notices",
        "/api/v1/quality/archive",
        "/api/v1/quality/suppliers",
    ):
        assert listing in paged, listing
