"""Signed build provenance on the wire: a group's provenance keys and the in-toto
attestations (DSSE envelopes) attached to versions."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from repo_server.api.schemas.common import Body, Moment, Out

HEX64 = r"^[0-9a-f]{64}$"
BASE64 = r"^[A-Za-z0-9+/=]*$"


class NewProvenanceKey(Body):
    """An Ed25519 public key the group trusts to sign its pipelines' build attestations."""

    name: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._ -]+$")]
    public: Annotated[
        str, Field(max_length=100, pattern=r"^ed25519:[A-Za-z0-9+/]{43}=$",
                   description="`ed25519:` and the standard base64 of the 32-byte key")
    ]  # fmt: skip


class ProvenanceKey(Out):
    """A key a group trusts for build attestations."""

    group: str
    name: str
    keyid: Annotated[str, Field(description="sha256 hex of the key's DER SubjectPublicKeyInfo")]
    public: str
    created_by: str
    created_at: Moment


class ProvenanceKeyList(Out):
    """The provenance keys of a group, oldest first."""

    keys: list[ProvenanceKey]


class DsseSignature(BaseModel):
    """One DSSE signature: ``keyid`` is a hint only, ``sig`` standard base64."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    keyid: Annotated[str, Field(max_length=200)]
    sig: Annotated[str, Field(max_length=2000, pattern=BASE64)]


class DsseEnvelope(BaseModel):
    """A DSSE envelope as in-toto tooling writes it."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", validate_by_name=True, validate_by_alias=True,
        serialize_by_alias=True,
    )  # fmt: skip

    payload_type: Annotated[
        str, Field(alias="payloadType", min_length=1, max_length=200,
                   examples=["application/vnd.in-toto+json"])
    ]  # fmt: skip
    payload: Annotated[str, Field(max_length=8 << 20, pattern=BASE64)]
    signatures: Annotated[list[DsseSignature], Field(min_length=1, max_length=16)]


class NewAttestation(Body):
    """An in-toto attestation (statement v1, SLSA provenance v1 predicate) for the
    version's files, signed by a key the group trusts."""

    envelope: DsseEnvelope


class Signer(Out):
    """The provenance key that signed an attestation, as the group trusted it."""

    keyid: str
    name: str
    public: str


class Attestation(Out):
    """A verified build attestation attached to a version."""

    payload_sha256: Annotated[
        str, Field(description="sha256 of the envelope's payload: what the manifest records")
    ]
    signer: Signer
    builder_id: Annotated[str, Field(description="the SLSA predicate's runDetails.builder.id")]
    build_type: str
    invocation_id: str | None
    subjects: Annotated[dict[str, str], Field(description="file name → sha256")]
    uploaded_by: str
    uploaded_at: Moment
    in_manifest: Annotated[
        bool, Field(description="the version was checked in since: its signed manifest names it")
    ]
    envelope: DsseEnvelope


class AttestationList(Out):
    """A version's attestations, in the order they came, and what its pushed build fields
    are worth: ``signed`` when an attestation covers every artifact, else ``stated, not
    proven``."""

    attestations: list[Attestation]
    build_fields: Annotated[str, Field(description="`signed` or `stated, not proven`")]
