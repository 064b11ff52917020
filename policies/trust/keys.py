"""Ed25519 keys: key ids, the text form of a public key, PEM files for private keys.

A key id is only a lookup hint (DSSE: it "MUST NOT be used for security decisions"): the
verifier takes the key from its trusted keyring by that id and checks the signature with
that key, so a misleading id makes a signature fail, never pass.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from policies.trust.canonical import sha256_hex
from policies.trust.errors import TrustError

#: The prefix of :func:`public_text`: the algorithm is named with the key, never guessed.
SCHEME = "ed25519"


def keyid_of(public: Ed25519PublicKey) -> str:
    """The key id of ``public``: sha256 hex of its DER SubjectPublicKeyInfo."""
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return sha256_hex(der)


def public_text(public: Ed25519PublicKey) -> str:
    """``ed25519:`` + standard base64 of the 32 raw bytes: how keyrings and people write a key."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return f"{SCHEME}:{base64.b64encode(raw).decode()}"


def decode_base64(text: str, what: str, check: str) -> bytes:
    """Strict standard base64 (padding required, no other characters, one spelling only).

    Raises ``TrustError(check)`` naming ``what``; shared by keys, envelopes and checkpoints.
    """
    if not isinstance(text, str):
        raise TrustError(check, f"{what} must be a base64 string, not a {type(text).__name__}")
    try:
        data = binascii.a2b_base64(text.encode("ascii"), strict_mode=True)
    except (UnicodeEncodeError, binascii.Error, ValueError):
        raise TrustError(check, f"{what} is not valid base64") from None
    if base64.b64encode(data).decode() != text:
        raise TrustError(check, f"{what} is not canonical base64")
    return data


def public_from_text(text: str) -> Ed25519PublicKey:
    """Read a key written by :func:`public_text`; anything else raises ``TrustError("key")``."""
    if not isinstance(text, str) or not text.startswith(SCHEME + ":"):
        raise TrustError("key", f"{text!r} is not an Ed25519 public key like 'ed25519:<base64>'")
    raw = decode_base64(text[len(SCHEME) + 1 :], "the public key", "key")
    if len(raw) != 32:
        raise TrustError("key", f"an Ed25519 public key has 32 bytes, not {len(raw)}")
    try:
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:  # pragma: no cover - every 32-byte string loads; kept for other backends
        raise TrustError("key", "the public key is not a valid Ed25519 point") from None


def private_to_pem(key: Ed25519PrivateKey, passphrase: bytes | None) -> bytes:
    """``key`` as PKCS#8 PEM, encrypted with ``passphrase`` unless it is ``None`` or empty.

    Called by ``depot keys generate`` and by the server when it writes its online keys.
    """
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def private_from_pem(data: bytes, passphrase: bytes | None) -> Ed25519PrivateKey:
    """Load an Ed25519 private key from PEM; a clear ``TrustError("key")`` on any failure.

    Wrong or missing passphrase, a passphrase for an unencrypted key, garbage and keys of
    another algorithm are each named in the message.
    """
    try:
        key = serialization.load_pem_private_key(data, passphrase or None)
    except TypeError:
        if passphrase:
            raise TrustError(
                "key", "the key is not encrypted, but a passphrase was given"
            ) from None
        raise TrustError("key", "the key is encrypted: a passphrase is needed") from None
    except (ValueError, UnsupportedAlgorithm):
        if passphrase and b"ENCRYPTED" in data:
            raise TrustError("key", "the passphrase is wrong for this key") from None
        raise TrustError("key", "the data is not a PEM private key this program can read") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise TrustError("key", f"the key is {type(key).__name__}, not an Ed25519 private key")
    return key
