"""Key ids, the text form of public keys, and PEM files for private keys."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from policies.trust.errors import TrustError
from policies.trust.keys import (
    keyid_of,
    private_from_pem,
    private_to_pem,
    public_from_text,
    public_text,
)
from tests.policies.trust.factory import key


def test_keyid_is_sha256_of_the_spki_der() -> None:
    public = key(1).public_key()
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert keyid_of(public) == hashlib.sha256(der).hexdigest()
    assert keyid_of(public) != keyid_of(key(2).public_key())


def test_public_text_round_trip() -> None:
    public = key(1).public_key()
    text = public_text(public)
    assert text.startswith("ed25519:") and len(base64.b64decode(text[8:])) == 32
    assert public_from_text(text) == public


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("ecdsa:AAAA", "not an Ed25519 public key"),
        (b"ed25519:AAAA", "not an Ed25519 public key"),
        ("ed25519:" + base64.b64encode(b"x" * 31).decode(), "32 bytes, not 31"),
        ("ed25519:not base64!", "not valid base64"),
        ("ed25519:" + base64.b64encode(b"x" * 32).decode().rstrip("="), "not valid base64"),
        ("ed25519:é", "not valid base64"),
    ],
)
def test_public_from_text_refuses_anything_else(text: str, match: str) -> None:
    with pytest.raises(TrustError, match=match) as info:
        public_from_text(text)
    assert info.value.check == "key"


def test_non_canonical_base64_is_refused() -> None:
    raw = base64.b64encode(b"x" * 32).decode()  # ends in "=", last char carries spare bits
    tweaked = raw[:-2] + chr(ord(raw[-2]) + 1) + "="
    assert base64.b64decode(tweaked) == b"x" * 32
    with pytest.raises(TrustError, match="not canonical base64"):
        public_from_text("ed25519:" + tweaked)


def test_private_pem_round_trip_with_and_without_passphrase() -> None:
    private = key(5)
    for passphrase in (b"correct horse", None):
        pem = private_to_pem(private, passphrase)
        assert (b"ENCRYPTED" in pem) is bool(passphrase)
        assert keyid_of(private_from_pem(pem, passphrase).public_key()) == keyid_of(
            private.public_key()
        )


@pytest.mark.parametrize(
    ("passphrase_written", "passphrase_given", "match"),
    [
        (b"right", b"wrong", "passphrase is wrong"),
        (b"right", None, "a passphrase is needed"),
        (None, b"extra", "not encrypted, but a passphrase was given"),
    ],
)
def test_private_from_pem_says_what_is_wrong(
    passphrase_written: bytes | None, passphrase_given: bytes | None, match: str
) -> None:
    pem = private_to_pem(key(5), passphrase_written)
    with pytest.raises(TrustError, match=match) as info:
        private_from_pem(pem, passphrase_given)
    assert info.value.check == "key"


def test_private_from_pem_refuses_garbage_and_other_algorithms() -> None:
    with pytest.raises(TrustError, match="not a PEM private key"):
        private_from_pem(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", None)
    with pytest.raises(TrustError, match="not a PEM private key"):
        private_from_pem(b"garbage", b"pw")
    other = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(TrustError, match="not an Ed25519 private key") as info:
        private_from_pem(other, None)
    assert info.value.check == "key"
