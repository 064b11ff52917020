"""The trust machinery on the wire: keyrings, signed documents, log proofs, personal keys."""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field

from repo_server.api.paging import Paged, PageQuery
from repo_server.api.schemas.common import Body, Out, Query, UserName

Proof = list[Annotated[str, Field(description="a hash, hex")]]
Size = Annotated[int, Field(ge=0, le=2**62)]


class Signature(Out):
    """One signature of an envelope."""

    model_config = ConfigDict(from_attributes=True, frozen=True, extra="allow")

    keyid: str
    sig: str = Field(description="base64")


class Envelope(Out):
    """A DSSE envelope: the payload (base64), its type and its signatures."""

    model_config = ConfigDict(from_attributes=True, frozen=True, extra="allow")

    payloadType: str
    payload: str
    signatures: list[Signature]


class KeyringSummary(Out):
    """The newest keyring: its version, repository, expiry and the root fingerprint to pin."""

    version: int
    repository: str
    expires: str
    root_fingerprint: str


class LogRecord(Out):
    """One log record exactly as hashed (base64) and its index."""

    index: int
    record: str


class VersionDocuments(Out):
    """A checked-in version's signed documents and its check-in log record."""

    manifest: Envelope
    statements: list[Envelope]
    checkouts: list[Envelope]
    enrollment: Envelope | None = Field(
        description="the newest enrolment document (binds the personal keys); null before "
        "the first enrolment"
    )
    status: Envelope
    manifest_sha256: str | None
    checkin_record: LogRecord | None


class InclusionQuery(Query):
    """Leaf ``index`` in the tree of ``size`` leaves."""

    index: Size
    size: Size


class InclusionProof(Out):
    """The audit path of a leaf."""

    index: int
    size: int
    proof: Proof


class ConsistencyQuery(Query):
    """The log of ``old`` entries and the log of ``new`` entries."""

    old: Size
    new: Size


class ConsistencyProof(Out):
    """The proof that the log of ``new_size`` entries extends that of ``old_size``."""

    old_size: int
    new_size: int
    proof: Proof


class PersonKey(Out):
    """A registered personal key and whether the offline enrolment officers enrolled it."""

    keyid: str
    username: str
    public: str
    registered_at: str
    revoked: bool
    enrolled: bool
    enrolled_version: int | None = Field(
        description="the enrolment document that first lists it; null until enrolled"
    )
    revoked_from: int | None = Field(
        description="the log index from which the enrolment document revokes it"
    )


class PersonKeyList(Paged):
    """A page of personal keys, oldest first."""

    keys: list[PersonKey]


class KeysQuery(PageQuery):
    """Whose keys (an admin may name another person)."""

    user: UserName | None = None


class NewKey(Body):
    """A personal public key."""

    public: Annotated[
        str,
        Field(
            max_length=200,
            pattern=r"^ed25519:[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$",
            description="ed25519:<base64>",
        ),
    ]


class CheckpointQuery(Query):
    """Which checkpoint: the newest, or (``witnessed=K``) the newest that K witnesses
    cosigned, of those whose verifier keys ``witnesses`` names (comma-separated) if given."""

    witnessed: Annotated[int, Field(ge=1, le=32)] | None = None
    witnesses: Annotated[str, Field(max_length=32 * 300)] = ""


class SignedCheckpoint(Out):
    """A log checkpoint: its size, the C2SP signed note (log key and witnesses' cosignature
    lines) and how many cosignatures it carries."""

    size: int
    note: str
    cosignatures: int


class NewCosignature(Body):
    """A witness's cosignature (tlog-cosignature/v1) of the checkpoint of ``size``."""

    size: Size
    vkey: Annotated[str, Field(min_length=1, max_length=300, description="its verifier key")]
    cosignature: Annotated[
        str, Field(min_length=1, max_length=400, description="the signature line")
    ]


class Cosigned(Out):
    """A cosignature stored."""

    size: int
    witness: str
    cosigned_at: str
