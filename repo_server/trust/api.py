"""API routes of the trust machinery: keyrings, a version's signed documents, the log's
checkpoints and proofs, personal keys. The client's `depot trust`, `depot pull` (verified),
`depot verify`, `depot keys` and `depot audit verify` use these.
"""

from __future__ import annotations

from typing import Any

from flask import request

from repo_server.api.http import bp, depot, field, json_body, signed_in
from repo_server.errors import InvalidRequest, NotFound

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


@bp.get("/trust/enrollment")
def enrollment() -> Json:
    """The newest enrolment document, as the offline enrolment officers signed it.

    Public, like the keyring: it names people's public keys and the groups whose
    check-ins need personal signatures, nothing secret. 404 before ``keys init``.
    """
    document = depot().trust.enrollment()
    if document is None:
        raise NotFound("no enrolment document has been signed yet")
    return document


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
    """The log's newest checkpoint, a C2SP signed note by the log key with the witnesses'
    cosignatures; with ``witnessed=K``: the newest one that K witnesses cosigned (of the
    verifier keys given, comma-separated, as ``witnesses``, when any)."""
    signed_in()
    if request.args.get("witnessed") is not None:
        pinned = [v for v in request.args.get("witnesses", "").split(",") if v]
        return depot().checkpoints.witnessed(_int_arg("witnessed"), pinned).to_json()
    return depot().checkpoints.latest().to_json()


@bp.get("/log/checkpoints/<int:size>")
def checkpoint_at(size: int) -> Json:
    """The checkpoint of ``size`` entries as signed, with its cosignatures."""
    signed_in()
    return depot().checkpoints.at(size).to_json()


@bp.post("/log/cosignatures")
def cosign() -> tuple[Json, int]:
    """A witness posts its cosignature (tlog-cosignature/v1) of the checkpoint of ``size``:
    ``vkey`` is its verifier key, ``cosignature`` the signature line."""
    body = json_body()
    done = depot().checkpoints.cosign(
        signed_in(),
        field(body, "size", int, required=True),
        field(body, "vkey", str, required=True),
        field(body, "cosignature", str, required=True),
    )
    return done, 201


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

    The key waits for the enrolment officers (``depot-server keys enroll``); the answer
    says whether it is enrolled.
    """
    body = json_body()
    info = depot().trust.register_key(signed_in(), field(body, "public", str, required=True))
    return info.to_json(), 201


@bp.post("/keys/<keyid>/revoke")
def revoke_key(keyid: str) -> Json:
    """Revoke a personal key: statements it signs from now on are refused."""
    return depot().trust.revoke_key(signed_in(), keyid).to_json()
