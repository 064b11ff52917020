"""API routes of the trust machinery: keyrings, a version's signed documents, the log's
checkpoints and proofs, personal keys. The client's `depot trust`, `depot pull` (verified),
`depot verify`, `depot keys` and `depot audit verify` use these.
"""

from __future__ import annotations

from typing import Any

from flask import request

from repo_server.api.http import bp, depot, field, json_body, signed_in
from repo_server.errors import InvalidRequest

Json = dict[str, Any]


def _int_arg(name: str) -> int:
    raw = request.args.get(name)
    if raw is None:
        raise InvalidRequest(f"missing query parameter {name!r}", field=name)
    try:
        return int(raw)
    except ValueError:
        raise InvalidRequest(f"{name} must be an integer", field=name) from None


@bp.get("/trust/keyring")
def keyring_summary() -> Json:
    """The newest keyring's version, repository, expiry and the root fingerprint to pin.

    Public: a client needs it before it can trust anything.
    """
    return depot().trust.keyring_summary()


@bp.get("/trust/keyring/<int:version>")
def keyring(version: int) -> Json:
    """Keyring ``version`` exactly as the root keys signed it (a DSSE envelope)."""
    return depot().trust.keyring(version)


@bp.get("/groups/<group>/products/<product>/versions/<version>/trust")
def version_documents(group: str, product: str, version: str) -> Json:
    """A checked-in version's manifest, statements, key certificates, status and log record."""
    return depot().trust.version_documents(signed_in(), group, product, version)


@bp.get("/groups/<group>/products/<product>/library")
def library_index(group: str, product: str) -> Json:
    """The signed library index of a product: every version in the library, its manifest
    sha256 and state, a serial that only grows (a DSSE envelope, status role)."""
    return depot().trust.library_index(signed_in(), group, product)


@bp.get("/groups/<group>/products/<product>/versions/<version>/status")
def version_status(group: str, product: str, version: str) -> Json:
    """The signed, short-lived status document of a checked-in version."""
    return depot().trust.status(signed_in(), group, product, version)


@bp.get("/log/checkpoint")
def checkpoint() -> Json:
    """The log's newest checkpoint (size and root), signed by the log key."""
    signed_in()
    return depot().trust.checkpoint()


@bp.get("/log/proof/inclusion")
def inclusion_proof() -> Json:
    """The audit path of leaf ``index`` in the tree of ``size`` leaves (hex hashes)."""
    signed_in()
    return depot().trust.inclusion_proof(_int_arg("index"), _int_arg("size"))


@bp.get("/log/proof/consistency")
def consistency_proof() -> Json:
    """The proof that the log of ``new`` entries extends the log of ``old`` entries."""
    signed_in()
    return depot().trust.consistency_proof(_int_arg("old"), _int_arg("new"))


@bp.get("/log/entries/<int:index>")
def log_entry(index: int) -> Json:
    """One log record exactly as hashed (base64), for auditors."""
    return depot().trust.leaf(signed_in(), index)


@bp.get("/keys")
def list_keys() -> Json:
    """The caller's personal keys (an admin may name ``user``)."""
    return {
        "keys": [k.to_json() for k in depot().trust.keys_of(signed_in(), request.args.get("user"))]
    }


@bp.post("/keys")
def register_key() -> tuple[Json, int]:
    """Register a personal public key (``public``: ``ed25519:<base64>``).

    Returns the key with the certificate the server signed for it.
    """
    body = json_body()
    info = depot().trust.register_key(signed_in(), field(body, "public", str, required=True))
    return info.to_json(), 201


@bp.post("/keys/<keyid>/revoke")
def revoke_key(keyid: str) -> Json:
    """Revoke a personal key: statements it signs from now on are refused."""
    return depot().trust.revoke_key(signed_in(), keyid).to_json()
