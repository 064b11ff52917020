"""The provenance routes: a group's provenance keys, a version's build attestations."""

from __future__ import annotations

from typing import Any

from repo_server.api.contract import Reply
from repo_server.api.http import bp, depot, principal
from repo_server.api.schemas.provenance import (
    Attestation,
    AttestationList,
    NewAttestation,
    NewProvenanceKey,
    ProvenanceKey,
    ProvenanceKeyList,
)
from repo_server.provenance.services import AttestationInfo, KeyInfo, VersionProvenance

VERSION_PATH = "/groups/<group>/products/<product>/versions/<version>"
HIDDEN = {404: "no such group, product or version, or not one of yours"}


@bp.operation(
    "GET",
    "/groups/<group>/provenance-keys",
    auth="optional",
    replies={200: Reply(ProvenanceKeyList)},
    errors={404: "no such group, or not one of yours"},
)
def list_provenance_keys(group: str) -> dict[str, Any]:
    """The Ed25519 keys a group trusts to sign its pipelines' build attestations."""
    return {"keys": depot().provenance.list_keys(principal(), group)}


@bp.operation(
    "POST",
    "/groups/<group>/provenance-keys",
    body=NewProvenanceKey,
    auth="optional",
    replies={201: Reply(ProvenanceKey, "trusted")},
    errors={
        400: "not an Ed25519 public key",
        403: "software managers of the group only",
        404: "no such group",
        409: "the key is trusted already, or the group trusts as many keys as it may",
    },
)
def add_provenance_key(group: str, body: NewProvenanceKey) -> tuple[KeyInfo, int]:
    """Trust a key to sign the group's build attestations (the group's software manager)."""
    return depot().provenance.add_key(principal(), group, body.name, body.public), 201


@bp.operation(
    "DELETE",
    "/groups/<group>/provenance-keys/<keyid>",
    auth="optional",
    replies={200: Reply(ProvenanceKey, "no longer trusted")},
    errors={403: "software managers of the group only", 404: "no such group or key"},
)
def remove_provenance_key(group: str, keyid: str) -> KeyInfo:
    """Stop trusting a provenance key for new attestations (attached ones stay recorded)."""
    return depot().provenance.remove_key(principal(), group, keyid)


@bp.operation(
    "GET",
    VERSION_PATH + "/provenance",
    auth="optional",
    replies={200: Reply(AttestationList)},
    errors=HIDDEN,
)
def list_attestations(group: str, product: str, version: str) -> VersionProvenance:
    """A version's signed build attestations, and whether its build fields are proven."""
    return depot().provenance.attestations(principal(), group, product, version)


@bp.operation(
    "POST",
    VERSION_PATH + "/provenance",
    body=NewAttestation,
    auth="optional",
    replies={201: Reply(Attestation, "attached (or attached already)")},
    errors={
        400: "not a signed in-toto SLSA provenance attestation of this version's files by a "
        "key the group trusts (nothing stored)",
        403: "refused by a rule (the rule is named): uploads are closed for this version",
        409: "the version already carries the most attestations it may (64)",
        **HIDDEN,
    },
)
def attach_attestation(
    group: str, product: str, version: str, body: NewAttestation
) -> tuple[AttestationInfo, int]:
    """Attach a signed build attestation to a version before its check-in."""
    envelope = body.envelope.model_dump(by_alias=True)
    info = depot().provenance.attach(principal(), group, product, version, envelope)
    return info, 201
