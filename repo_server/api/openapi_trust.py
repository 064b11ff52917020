"""OpenAPI description of the trust routes: keyrings, signed documents, log proofs, keys."""

from __future__ import annotations

from typing import Any

from repo_server.api.openapi_parts import GROUP, PRODUCT, VERSION, I, S, V, _body, _json, _op

ENVELOPE = {
    "type": "object",
    "description": "a DSSE envelope: payloadType, payload (base64), signatures [{keyid, sig}]",
    "properties": {"payloadType": S, "payload": S, "signatures": {"type": "array"}},
}
CHECKPOINT = {
    "type": "object",
    "description": "a checkpoint: its size, the signed note (text), how many cosignatures",
    "properties": {"size": I, "note": S, "cosignatures": I},
}
KEY = {
    "type": "object",
    "properties": {
        "keyid": S,
        "username": S,
        "public": S,
        "registered_at": S,
        "revoked": {"type": "boolean"},
        "enrolled": {"type": "boolean"},
        "enrolled_version": {"type": ["integer", "null"]},
        "revoked_from": {"type": ["integer", "null"]},
    },
}


def _query(*names: str) -> list[dict[str, Any]]:
    return [{"name": n, "in": "query", "required": True, "schema": I} for n in names]


def trust_paths() -> dict[str, Any]:
    """The routes clients use to verify what they download."""
    version = f"{V}/groups/{{group}}/products/{{product}}/versions/{{version}}"
    keyid = {"name": "keyid", "in": "path", "required": True, "schema": S}
    return {
        f"{V}/trust/keyring": {
            "get": _op(
                "The newest keyring's version and the root fingerprint to pin",
                {"200": _json({"type": "object"})},
            )
        },
        f"{V}/trust/keyring/{{version}}": {
            "parameters": [{"name": "version", "in": "path", "required": True, "schema": I}],
            "get": _op(
                "A keyring version exactly as the root keys signed it", {"200": _json(ENVELOPE)}
            ),
        },
        f"{V}/trust/enrollment": {
            "get": _op(
                "The newest enrolment document, signed by the offline enrolment officers",
                {"200": _json(ENVELOPE)},
            )
        },
        f"{version}/trust": {
            "parameters": [GROUP, PRODUCT, VERSION],
            "get": _op(
                "A checked-in version's manifest, statements, enrolment document, status and "
                "check-in log record",
                {"200": _json({"type": "object"})},
            ),
        },
        f"{V}/groups/{{group}}/products/{{product}}/library": {
            "parameters": [GROUP, PRODUCT],
            "get": _op(
                "The signed library index of a product: every version in the library with "
                "its manifest sha256 and state, a serial that only grows",
                {"200": _json(ENVELOPE)},
            ),
        },
        f"{version}/status": {
            "parameters": [GROUP, PRODUCT, VERSION],
            "get": _op(
                "The signed, short-lived status of a checked-in version", {"200": _json(ENVELOPE)}
            ),
        },
        f"{V}/log/checkpoint": {
            "get": _op(
                "The log's newest checkpoint (a C2SP signed note with the witnesses' "
                "cosignatures); with `witnessed=K`, the newest one K witnesses cosigned (of "
                "the comma-separated verifier keys `witnesses`, if given)",
                {"200": _json(CHECKPOINT)},
                parameters=[
                    {"name": "witnessed", "in": "query", "schema": I},
                    {"name": "witnesses", "in": "query", "schema": S},
                ],
            )
        },
        f"{V}/log/checkpoints/{{size}}": {
            "parameters": [{"name": "size", "in": "path", "required": True, "schema": I}],
            "get": _op(
                "The checkpoint of `size` entries with its cosignatures", {"200": _json(CHECKPOINT)}
            ),
        },
        f"{V}/log/cosignatures": {
            "post": _op(
                "A witness posts its tlog-cosignature/v1 line on the checkpoint of `size`",
                {
                    "201": _json(
                        {
                            "type": "object",
                            "properties": {"size": I, "witness": S, "cosigned_at": S},
                        }
                    )
                },
                requestBody=_body(
                    {"size": I, "vkey": S, "cosignature": S}, ["size", "vkey", "cosignature"]
                ),
            )
        },
        f"{V}/log/proof/inclusion": {
            "get": _op(
                "Audit path of a leaf (hex hashes)",
                {"200": _json({"type": "object"})},
                parameters=_query("index", "size"),
            )
        },
        f"{V}/log/proof/consistency": {
            "get": _op(
                "Proof that the log of `new` entries extends that of `old` entries",
                {"200": _json({"type": "object"})},
                parameters=_query("old", "new"),
            )
        },
        f"{V}/log/entries/{{index}}": {
            "parameters": [{"name": "index", "in": "path", "required": True, "schema": I}],
            "get": _op("One log record as hashed (auditors)", {"200": _json({"type": "object"})}),
        },
        f"{V}/keys": {
            "get": _op(
                "Your personal keys (or those of `user`)",
                {
                    "200": _json(
                        {"type": "object", "properties": {"keys": {"type": "array", "items": KEY}}}
                    )
                },
                parameters=[{"name": "user", "in": "query", "schema": S}],
            ),
            "post": _op(
                "Register a personal public key (ed25519:<base64>)",
                {"201": _json(KEY)},
                requestBody=_body({"public": S}, ["public"]),
            ),
        },
        f"{V}/keys/{{keyid}}/revoke": {
            "parameters": [keyid],
            "post": _op("Revoke a personal key", {"200": _json(KEY)}),
        },
    }
