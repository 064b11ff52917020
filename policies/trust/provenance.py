"""Signed build provenance: an in-toto attestation (statement v1, SLSA provenance v1
predicate) in a DSSE envelope, as a CI pipeline makes it.

The server calls :func:`check_attestation` when a pipeline attaches one to a version
(signature by a key the group trusts, every subject a stored file with the same sha256),
and records a :class:`ProvenanceRef` for it in the manifest at check-in. The client calls
:func:`verify_provenance` offline: each attestation the signed manifest names must be there,
have that payload sha256, be signed by the key the manifest recorded, and name only files
of the manifest with their sha256.

Envelopes are the standard DSSE JSON (:class:`policies.trust.dsse.Envelope`); the payload
is the in-toto JSON as its producer wrote it (not necessarily canonical), parsed strictly
(no duplicate keys, no floats). A signature's ``keyid`` is only a hint: producers compute
it their own way (securesystemslib, cosign), so every trusted key is tried.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from policies.trust.canonical import parse_json
from policies.trust.dsse import MAX_SIGNATURES, Envelope, pae
from policies.trust.errors import TrustError
from policies.trust.fields import HEX64, Reader, check_filename
from policies.trust.keys import keyid_of, public_from_text

#: The DSSE payload type of in-toto attestations.
IN_TOTO = "application/vnd.in-toto+json"
STATEMENT_V1 = "https://in-toto.io/Statement/v1"
SLSA_PROVENANCE_V1 = "https://slsa.dev/provenance/v1"
#: More subjects than this in one attestation is refused (a build tree of 500 files fits).
MAX_SUBJECTS = 10_000
#: A group trusts at most this many provenance keys (each is tried on every signature).
MAX_KEYS = 32
#: A version carries at most this many attestations (a pipeline attaches one per build;
#: the bound keeps a version's provenance one record that a client verifies as a whole).
MAX_ATTESTATIONS = 64


@dataclass(frozen=True)
class Attestation:
    """What a verified attestation says: its subjects (name → sha256) and its build."""

    payload_sha256: str
    subjects: Mapping[str, str]
    builder_id: str
    build_type: str
    invocation_id: str | None

    def to_json(self) -> dict[str, Any]:
        """The summary the API and the CLI show."""
        return {
            "payload_sha256": self.payload_sha256,
            "subjects": dict(self.subjects),
            "builder_id": self.builder_id,
            "build_type": self.build_type,
            "invocation_id": self.invocation_id,
        }


@dataclass(frozen=True)
class ProvenanceRef:
    """One attestation as the manifest records it: its payload sha256 and the key that
    signed it (key id and ``ed25519:`` public key), as the group trusted it at check-in."""

    sha256: str
    keyid: str
    public: str

    def to_json(self) -> dict[str, str]:
        return {"sha256": self.sha256, "keyid": self.keyid, "public": self.public}

    @classmethod
    def from_json(cls, obj: Any, what: str = "a provenance entry") -> ProvenanceRef:
        r = Reader(obj, what, ("sha256", "keyid", "public"))
        ref = cls(r.digest("sha256"), r.digest("keyid"), r.text("public"))
        try:
            key = public_from_text(ref.public)
        except TrustError:
            raise r.fail("public", "an ed25519: public key") from None
        if keyid_of(key) != ref.keyid:
            raise r.fail("keyid", "the key id of its public key")
        return ref


def _text(obj: Mapping[str, Any], name: str, what: str, *, optional: bool = False) -> Any:
    value = obj.get(name)
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value:
        raise TrustError("provenance", f"{what} needs {name!r}, a non-empty string")
    return value


def _object(obj: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(obj, dict):
        raise TrustError("provenance", f"{what} must be a JSON object")
    return obj


def read_attestation(envelope: Envelope) -> Attestation:
    """Parse the statement in ``envelope`` (call it after the signature checked out).

    ``TrustError("provenance")`` names what is wrong: another payload type, statement
    type or predicate type, a subject without a sha256 digest or with an unsafe name,
    a name twice, no subject, or no builder id or build type.
    """
    if envelope.payload_type != IN_TOTO:
        raise TrustError(
            "provenance", f"the attestation's payload type must be {IN_TOTO}, not "
            f"{envelope.payload_type[:100]}",
        )  # fmt: skip
    try:
        statement = _object(parse_json(envelope.payload), "the attestation's statement")
    except TrustError as error:
        if error.check == "provenance":
            raise
        raise TrustError("provenance", f"the attestation is not valid JSON: {error}") from None
    if statement.get("_type") != STATEMENT_V1:
        raise TrustError("provenance", f"the attestation's _type must be {STATEMENT_V1}")
    if statement.get("predicateType") != SLSA_PROVENANCE_V1:
        raise TrustError(
            "provenance", f"the attestation's predicateType must be {SLSA_PROVENANCE_V1}"
        )
    raw = statement.get("subject")
    if not isinstance(raw, list) or not raw or len(raw) > MAX_SUBJECTS:
        raise TrustError(
            "provenance", f"the attestation needs a list of 1 to {MAX_SUBJECTS} subjects"
        )
    subjects: dict[str, str] = {}
    for i, item in enumerate(raw, 1):
        subject = _object(item, f"subject {i}")
        name = _text(subject, "name", f"subject {i}")
        try:
            check_filename(name)
        except TrustError as error:
            raise TrustError("provenance", f"subject {i}: {error}") from None
        digest = _object(subject.get("digest"), f"the digest of subject {i}").get("sha256")
        if not isinstance(digest, str) or not HEX64.fullmatch(digest):
            raise TrustError("provenance", f"subject {name!r} has no sha256 digest (64 hex)")
        if name in subjects:
            raise TrustError("provenance", f"the attestation names {name!r} twice")
        subjects[name] = digest
    predicate = _object(statement.get("predicate"), "the SLSA predicate")
    definition = _object(predicate.get("buildDefinition"), "the buildDefinition")
    run = _object(predicate.get("runDetails"), "the runDetails")
    builder = _object(run.get("builder"), "the runDetails' builder")
    metadata = _object(run.get("metadata", {}), "the runDetails' metadata")
    return Attestation(
        payload_sha256=envelope.payload_sha256(),
        subjects=subjects,
        builder_id=_text(builder, "id", "the builder"),
        build_type=_text(definition, "buildType", "the buildDefinition"),
        invocation_id=_text(metadata, "invocationId", "the metadata", optional=True),
    )


def signer(envelope: Envelope, keys: Mapping[str, Ed25519PublicKey]) -> str:
    """The key id (of ``keys``) of a key with a valid signature on ``envelope``.

    ``TrustError("provenance_signature")`` when none of them signed it: the signature does
    not match the payload (tampered), or the signer is not trusted.
    """
    if len(envelope.signatures) > MAX_SIGNATURES:
        raise TrustError("envelope", f"the attestation has more than {MAX_SIGNATURES} signatures")
    message = pae(envelope.payload_type, envelope.payload)
    for signature in envelope.signatures:
        hinted = [signature.keyid] if signature.keyid in keys else []
        for keyid in [*hinted, *(k for k in keys if k != signature.keyid)]:
            try:
                keys[keyid].verify(signature.sig, message)
            except InvalidSignature:
                continue
            return keyid
    raise TrustError(
        "provenance_signature",
        "the attestation is not signed by a provenance key the group trusts (or its "
        f"signature does not match its content); {len(keys)} key(s) trusted",
    )


def check_subjects(attestation: Attestation, files: Mapping[str, str], ref: str) -> None:
    """Every subject of ``attestation`` must be a file of ``files`` (name → sha256) with the
    same sha256; ``TrustError("provenance_subject")`` names the first that is not."""
    for name, digest in attestation.subjects.items():
        stored = files.get(name)
        if stored is None:
            raise TrustError(
                "provenance_subject", f"the attestation names {name!r}, which {ref} does not hold"
            )
        if stored != digest:
            raise TrustError(
                "provenance_subject",
                f"the attestation gives {name!r} the sha256 {digest}, but {ref} holds "
                f"{stored} under that name",
            )


def check_attestation(
    envelope: Envelope,
    keys: Sequence[str],
    files: Mapping[str, str],
    ref: str,
) -> tuple[Attestation, ProvenanceRef]:
    """The server's check when an attestation is attached to ``ref``: signed by one of
    ``keys`` (``ed25519:`` public keys the group trusts), a valid SLSA provenance
    statement, every subject a stored file of ``files`` with its sha256. Returns what it
    says and what the manifest will record."""
    trusted = {keyid_of(key): key for key in (public_from_text(text) for text in keys)}
    keyid = signer(envelope, trusted)
    attestation = read_attestation(envelope)
    check_subjects(attestation, files, ref)
    return attestation, ProvenanceRef(attestation.payload_sha256, keyid, _text_of(keys, keyid))


def _text_of(keys: Sequence[str], keyid: str) -> str:
    return next(text for text in keys if keyid_of(public_from_text(text)) == keyid)


def verify_provenance(
    refs: Sequence[ProvenanceRef],
    envelopes: Sequence[Envelope],
    files: Mapping[str, str],
    ref: str,
) -> tuple[Attestation, ...]:
    """The client's check of the attestations a signed manifest names (offline too).

    Each of ``refs`` needs an envelope of ``envelopes`` with that payload sha256
    (``TrustError("provenance_missing")``: removed, or edited since the check-in), signed by
    the key the manifest recorded, naming only files of ``files`` (the manifest's,
    name → sha256) with their sha256. Envelopes the manifest does not name are ignored.
    """
    by_digest = {envelope.payload_sha256(): envelope for envelope in envelopes}
    verified = []
    for entry in refs:
        envelope = by_digest.get(entry.sha256)
        if envelope is None:
            raise TrustError(
                "provenance_missing",
                f"the signed manifest of {ref} names the attestation {entry.sha256[:16]}…, "
                "but none with that content was given (removed or altered after the check-in)",
            )
        signer(envelope, {entry.keyid: public_from_text(entry.public)})
        attestation = read_attestation(envelope)
        check_subjects(attestation, files, ref)
        verified.append(attestation)
    return tuple(verified)
