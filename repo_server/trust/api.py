"""API routes of the trust machinery: keyrings, a version's signed documents, the log's
checkpoints and proofs, personal keys (shapes: :mod:`repo_server.api.schemas.trust`). The
client's `depot trust`, `depot pull` (verified), `depot verify`, `depot keys` and
`depot audit verify` use these.
"""

from __future__ import annotations

from typing import Any

from repo_server.api.contract import Reply
from repo_server.api.http import bp, depot, signed_in
from repo_server.api.paging import Answer, answer, page_request, paged
from repo_server.api.schemas.trust import (
    CheckpointQuery,
    ConsistencyProof,
    ConsistencyQuery,
    Cosigned,
    Envelope,
    InclusionProof,
    InclusionQuery,
    KeyringSummary,
    KeysQuery,
    LogRecord,
    NewCosignature,
    NewKey,
    PersonKey,
    PersonKeyList,
    SignedCheckpoint,
    VersionDocuments,
)
from repo_server.errors import NotFound
from repo_server.ids import MAX_INTEGER
from repo_server.trust.queries import PersonKeyInfo

Json = dict[str, Any]
HIDDEN = {404: "no such version, not one of yours, or not checked in"}
LOG = {400: "the sizes or the index are outside the log"}


@bp.operation("GET", "/trust/keyring", auth="public", replies={200: Reply(KeyringSummary)})
def keyring_summary() -> Json:
    """The newest keyring's version, repository, expiry and the root fingerprint to pin.

    Public: a client needs it before it can trust anything.
    """
    return depot().trust.keyring_summary()


@bp.operation(
    "GET",
    "/trust/keyring/<int:version>",
    auth="public",
    replies={200: Reply(Envelope)},
    errors={404: "no such keyring version"},
)
def keyring(version: int) -> Json:
    """Keyring ``version`` exactly as the root keys signed it (a DSSE envelope).

    Public, as the newest keyring's summary.
    """
    if version > MAX_INTEGER:  # beyond the database's integer: no such version
        raise NotFound(f"keyring version {version} not found")
    return depot().trust.keyring(version)


@bp.operation(
    "GET",
    "/trust/seal/<int:version>",
    auth="public",
    replies={200: Reply(Envelope)},
    errors={404: "keyring version not rotated out, or rotated out before seals were made"},
)
def seal(version: int) -> Json:
    """The roots' seal of the log made when keyring ``version``'s online keys were retired.

    A bundle signed by those keys proves, with a consistency proof from its checkpoint to
    the sealed log, that it predates the rotation (``depot trust extend``). Public, as the
    keyrings.
    """
    if version > MAX_INTEGER:
        raise NotFound(f"no seal of keyring version {version}")
    return depot().trust.seal(version)


@bp.operation(
    "GET",
    "/trust/enrollment",
    auth="public",
    replies={200: Reply(Envelope)},
    errors={404: "no enrolment document has been signed yet"},
)
def enrollment() -> Json:
    """The newest enrolment document, as the offline enrolment officers signed it.

    Public, like the keyring: it names people's public keys and the groups whose
    check-ins need personal signatures, nothing secret. 404 before ``keys init``.
    """
    document = depot().trust.enrollment()
    if document is None:
        raise NotFound("no enrolment document has been signed yet")
    return document


@bp.operation(
    "GET",
    "/groups/<group>/products/<product>/versions/<version>/trust",
    replies={200: Reply(VersionDocuments)},
    errors=HIDDEN,
)
def version_documents(group: str, product: str, version: str) -> Json:
    """A checked-in version's manifest, statements, key certificates, status and log record."""
    return depot().trust.version_documents(signed_in(), group, product, version)


@bp.operation(
    "GET",
    "/groups/<group>/products/<product>/library",
    replies={200: Reply(Envelope)},
    errors={404: "no such product, or not one of yours"},
)
def library_index(group: str, product: str) -> Json:
    """The signed library index of a product: every version in the library, its manifest
    sha256 and state, a serial that only grows (a DSSE envelope, status role)."""
    return depot().trust.library_index(signed_in(), group, product)


@bp.operation(
    "GET",
    "/groups/<group>/products/<product>/versions/<version>/status",
    replies={200: Reply(Envelope)},
    errors=HIDDEN,
)
def version_status(group: str, product: str, version: str) -> Json:
    """The signed, short-lived status document of a checked-in version."""
    return depot().trust.status(signed_in(), group, product, version)


@bp.operation(
    "GET",
    "/log/checkpoint",
    query=CheckpointQuery,
    replies={200: Reply(SignedCheckpoint)},
    errors={404: "no checkpoint carries that many cosignatures of those witnesses"},
)
def checkpoint(query: CheckpointQuery) -> SignedCheckpoint:
    """The log's newest checkpoint, a C2SP signed note by the log key with the witnesses'
    cosignatures; with ``witnessed=K``: the newest one that K witnesses cosigned (of the
    verifier keys given, comma-separated, as ``witnesses``, when any)."""
    signed_in()
    if query.witnessed is not None:
        pinned = [v for v in query.witnesses.split(",") if v]
        found = depot().checkpoints.witnessed(query.witnessed, pinned)
    else:
        found = depot().checkpoints.latest()
    return SignedCheckpoint(**found.to_json())


@bp.operation(
    "GET",
    "/log/checkpoints/<int:size>",
    replies={200: Reply(SignedCheckpoint)},
    errors={400: "the size is outside 0…2^63-1", 404: "no checkpoint of that size was signed"},
)
def checkpoint_at(size: int) -> SignedCheckpoint:
    """The checkpoint of ``size`` entries as signed, with its cosignatures."""
    signed_in()
    return SignedCheckpoint(**depot().checkpoints.at(size).to_json())


@bp.operation(
    "POST",
    "/log/cosignatures",
    body=NewCosignature,
    replies={201: Reply(Cosigned, "the cosignature is stored")},
    errors={
        400: "not a verifier key or signature line, or it does not verify",
        404: "no checkpoint of that size was signed",
    },
)
def cosign(body: NewCosignature) -> tuple[Json, int]:
    """A witness posts its cosignature (tlog-cosignature/v1) of the checkpoint of ``size``:
    ``vkey`` is its verifier key, ``cosignature`` the signature line."""
    done = depot().checkpoints.cosign(signed_in(), body.size, body.vkey, body.cosignature)
    return done, 201


@bp.operation(
    "GET",
    "/log/proof/inclusion",
    query=InclusionQuery,
    replies={200: Reply(InclusionProof)},
    errors=LOG,
)
def inclusion_proof(query: InclusionQuery) -> Json:
    """The audit path of leaf ``index`` in the tree of ``size`` leaves (hex hashes)."""
    signed_in()
    return depot().trust.inclusion_proof(query.index, query.size)


@bp.operation(
    "GET",
    "/log/proof/consistency",
    query=ConsistencyQuery,
    replies={200: Reply(ConsistencyProof)},
    errors=LOG,
)
def consistency_proof(query: ConsistencyQuery) -> Json:
    """The proof that the log of ``new`` entries extends the log of ``old`` entries."""
    signed_in()
    return depot().trust.consistency_proof(query.old, query.new)


@bp.operation(
    "GET",
    "/log/entries/<int:index>",
    replies={200: Reply(LogRecord)},
    errors={403: "auditors and admins only", 404: "no such entry"},
)
def log_entry(index: int) -> Json:
    """One log record exactly as hashed (base64), for auditors."""
    return depot().trust.leaf(signed_in(), index)


@bp.operation(
    "GET",
    "/keys",
    query=KeysQuery,
    replies={200: paged(PersonKeyList)},
    errors={403: "another person's keys are for admins"},
)
def list_keys(query: KeysQuery) -> Answer:
    """The caller's personal keys, oldest first (an admin may name ``user``)."""
    page = depot().trust.keys_of(signed_in(), query.user, page_request(query))
    return answer({"keys": page.items}, page)


@bp.operation(
    "POST",
    "/keys",
    body=NewKey,
    replies={201: Reply(PersonKey, "registered, with its certificate")},
    errors={403: "a group token has no personal key", 409: "that key is registered"},
)
def register_key(body: NewKey) -> tuple[PersonKeyInfo, int]:
    """Register a personal public key (``public``: ``ed25519:<base64>``).

    The key waits for the enrolment officers (``depot-server keys enroll``); the answer
    says whether it is enrolled.
    """
    return depot().trust.register_key(signed_in(), body.public), 201


@bp.operation(
    "POST",
    "/keys/<keyid>/revoke",
    replies={200: Reply(PersonKey, "revoked")},
    errors={403: "not your key", 404: "no such key"},
)
def revoke_key(keyid: str) -> PersonKeyInfo:
    """Revoke a personal key: statements it signs from now on are refused."""
    return depot().trust.revoke_key(signed_in(), keyid)
