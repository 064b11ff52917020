"""DSSE envelopes: Ed25519 signatures over the pre-authentication encoding of a payload.

The signature covers ``PAE(payloadType, payload)``, so a document of one type can never pass
for another, and the exact payload bytes travel with the signature: :func:`verify` checks
the type and the signatures and only then hands the bytes to a parser.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from policies.trust.canonical import canonical_bytes, parse_json, sha256_hex
from policies.trust.errors import TrustError
from policies.trust.keys import decode_base64, keyid_of

MANIFEST = "application/vnd.depot.manifest.v1+json"
STATEMENT = "application/vnd.depot.statement.v1+json"
STATUS = "application/vnd.depot.status.v1+json"
KEYRING = "application/vnd.depot.keyring.v1+json"
ENROLLMENT = "application/vnd.depot.enrollment.v1+json"
SEAL = "application/vnd.depot.seal.v1+json"

#: More signatures than this on one envelope is an attack on the verifier's time.
MAX_SIGNATURES = 16


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSEv1 pre-authentication encoding: the bytes that are actually signed."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


@dataclass(frozen=True)
class Signature:
    """One signature; ``keyid`` is a hint for finding the key, never trusted by itself."""

    keyid: str
    sig: bytes


@dataclass(frozen=True)
class Envelope:
    """A signed document: its type, its exact payload bytes and its signatures.

    The server stores and serves :meth:`to_bytes`; the client reads it back with
    :meth:`from_bytes` or :meth:`from_json` and calls :func:`verify` before parsing.
    """

    payload_type: str
    payload: bytes
    signatures: tuple[Signature, ...]

    def to_json(self) -> dict[str, Any]:
        """The DSSE JSON form (standard base64 for payload and signatures)."""
        return {
            "payloadType": self.payload_type,
            "payload": base64.b64encode(self.payload).decode(),
            "signatures": [
                {"keyid": s.keyid, "sig": base64.b64encode(s.sig).decode()} for s in self.signatures
            ],
        }

    @classmethod
    def from_json(cls, obj: Any) -> Envelope:
        """Read the DSSE JSON form strictly; anything malformed raises ``TrustError("envelope")``.

        Unknown fields, missing fields, wrong types, bad base64 and more than
        :data:`MAX_SIGNATURES` signatures are refused; the signatures are not checked here.
        """
        fields = _exact(obj, {"payloadType", "payload", "signatures"}, "an envelope")
        payload_type = fields["payloadType"]
        if not isinstance(payload_type, str) or not payload_type:
            raise TrustError("envelope", "the envelope's payloadType must be a non-empty string")
        payload = decode_base64(fields["payload"], "the envelope's payload", "envelope")
        raw = fields["signatures"]
        if not isinstance(raw, list):
            raise TrustError("envelope", "the envelope's signatures must be a list")
        if len(raw) > MAX_SIGNATURES:
            raise TrustError(
                "envelope", f"the envelope has {len(raw)} signatures; at most {MAX_SIGNATURES}"
            )
        signatures = []
        for i, item in enumerate(raw, 1):
            sig = _exact(item, {"keyid", "sig"}, f"signature {i}")
            if not isinstance(sig["keyid"], str):
                raise TrustError("envelope", f"the keyid of signature {i} must be a string")
            signatures.append(
                Signature(sig["keyid"], decode_base64(sig["sig"], f"signature {i}", "envelope"))
            )
        return cls(payload_type, payload, tuple(signatures))

    def to_bytes(self) -> bytes:
        """The canonical JSON bytes of :meth:`to_json` (what the server stores)."""
        return canonical_bytes(self.to_json())

    @classmethod
    def from_bytes(cls, data: bytes) -> Envelope:
        """Parse envelope bytes (the caller caps their size before reading them)."""
        try:
            obj = parse_json(data)
        except TrustError as error:
            raise TrustError("envelope", f"the envelope is not valid JSON: {error}") from None
        return cls.from_json(obj)

    def payload_sha256(self) -> str:
        """Hex sha256 of the payload bytes: "the hash of a document" everywhere in Depot."""
        return sha256_hex(self.payload)


def _exact(obj: Any, names: set[str], what: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise TrustError("envelope", f"{what} must be a JSON object")
    missing, extra = names - obj.keys(), obj.keys() - names
    if missing:
        raise TrustError("envelope", f"{what} lacks {', '.join(sorted(missing))}")
    if extra:
        raise TrustError("envelope", f"{what} has unknown fields {', '.join(sorted(extra))}")
    return obj


def sign(payload_type: str, payload: bytes, keys: Sequence[Ed25519PrivateKey]) -> Envelope:
    """Sign ``payload`` as ``payload_type`` with each key (the same key only once).

    Called by the server with its online keys and root keys, and by ``depot approve``
    with a person's key.
    """
    envelope = Envelope(payload_type, payload, ())
    for key in keys:
        envelope = add_signature(envelope, key)
    return envelope


def add_signature(env: Envelope, key: Ed25519PrivateKey) -> Envelope:
    """``env`` with a signature by ``key`` added (unchanged if that key already signed)."""
    keyid = keyid_of(key.public_key())
    if any(s.keyid == keyid for s in env.signatures):
        return env
    signature = Signature(keyid, key.sign(pae(env.payload_type, env.payload)))
    return Envelope(env.payload_type, env.payload, (*env.signatures, signature))


def valid_keyids(env: Envelope, keys: Mapping[str, Ed25519PublicKey]) -> tuple[set[str], set[str]]:
    """The key ids in ``keys`` with a valid signature on ``env``, and those with a bad one.

    Each signature is checked with the key the *caller* trusts under its key id; a key id
    the caller does not know is skipped. A key id counts once however often it appears.
    """
    message = pae(env.payload_type, env.payload)
    good: set[str] = set()
    bad: set[str] = set()
    for signature in env.signatures:
        key = keys.get(signature.keyid)
        if key is None or signature.keyid in good:
            continue
        try:
            key.verify(signature.sig, message)
        except InvalidSignature:
            bad.add(signature.keyid)
        else:
            good.add(signature.keyid)
    return good, bad - good


def verify(
    env: Envelope,
    payload_type: str,
    keys: Mapping[str, Ed25519PublicKey],
    threshold: int,
    role: str = "trusted",
) -> bytes:
    """Check ``env`` and return its payload bytes for the caller to parse.

    The payload type must be ``payload_type`` (``TrustError("payload_type")``), then at
    least ``threshold`` distinct keys of ``keys`` (key id → trusted key, e.g. one role of
    a keyring) must have signed it (``TrustError("threshold")``). ``role`` only names the
    keys in messages. Called by the client for every document, and by the server when
    it checks personal signatures and replays the log.
    """
    if threshold < 1:
        raise TrustError("threshold", f"a threshold must be at least 1, not {threshold}")
    if env.payload_type != payload_type:
        raise TrustError(
            "payload_type",
            f"expected a document of type {payload_type}, got {env.payload_type}",
        )
    if len(env.signatures) > MAX_SIGNATURES:
        raise TrustError(
            "envelope",
            f"the envelope has {len(env.signatures)} signatures; at most {MAX_SIGNATURES}",
        )
    good, bad = valid_keyids(env, keys)
    if len(good) >= threshold:
        return env.payload
    plural = "" if threshold == 1 else "s"
    message = f"needs {threshold} valid signature{plural} by {role} keys, found {len(good)}"
    if bad:
        message += (
            "; the signature of "
            + ", ".join(f"key {k[:16]}" for k in sorted(bad))
            + " does not match the document"
        )
    unknown = {s.keyid for s in env.signatures} - keys.keys()
    if unknown:
        message += f"; {len(unknown)} signature(s) by keys that are not {role} keys were ignored"
    raise TrustError("threshold", message)
