"""DSSE envelopes: the type is signed with the payload, and each trusted key counts once."""

from __future__ import annotations

import base64
import re

import pytest

from policies.trust.dsse import (
    MANIFEST,
    MAX_SIGNATURES,
    STATUS,
    Envelope,
    Signature,
    add_signature,
    pae,
    sign,
    verify,
)
from policies.trust.errors import TrustError
from tests.policies.trust.factory import flip, key, kid

A, B, C = key(1), key(2), key(3)
KEYS = {kid(k): k.public_key() for k in (A, B, C)}


def test_pae_matches_the_dsse_spec_example() -> None:
    # secure-systems-lab/dsse protocol.md: PAE("http://example.com/HelloWorld", "hello world")
    assert pae("http://example.com/HelloWorld", b"hello world") == (
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )
    assert pae("t", "é".encode()) == b"DSSEv1 1 t 2 \xc3\xa9"
    assert pae("é", b"") == b"DSSEv1 2 \xc3\xa9 0 "


def test_sign_and_verify_with_a_threshold() -> None:
    env = sign(MANIFEST, b"{}", [A, B, A])
    assert [s.keyid for s in env.signatures] == [kid(A), kid(B)]
    assert verify(env, MANIFEST, KEYS, 2) == b"{}"
    assert add_signature(env, A) is env
    assert verify(add_signature(env, C), MANIFEST, KEYS, 3) == b"{}"


def test_json_round_trip() -> None:
    env = sign(MANIFEST, b'{"a":1}', [A])
    obj = env.to_json()
    assert obj["payload"] == base64.b64encode(b'{"a":1}').decode()
    assert Envelope.from_json(obj) == env
    assert Envelope.from_bytes(env.to_bytes()) == env
    assert (
        env.payload_sha256() == "015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862"
    )


def test_payload_type_is_checked_first() -> None:
    env = sign(MANIFEST, b"{}", [A])
    with pytest.raises(TrustError, match=re.escape(f"type {STATUS}, got {MANIFEST}")) as info:
        verify(env, STATUS, {}, 1)
    assert info.value.check == "payload_type"


def test_threshold_counts_each_key_once_and_names_bad_and_unknown_signatures() -> None:
    env = sign(MANIFEST, b"{}", [A])
    repeated = Envelope(MANIFEST, b"{}", env.signatures * 3)
    with pytest.raises(TrustError, match="needs 2 valid signatures by release keys, found 1"):
        verify(repeated, MANIFEST, KEYS, 2, role="release")
    forged = Envelope(MANIFEST, b"{}", (*env.signatures, Signature(kid(B), b"\xff" * 64)))
    with pytest.raises(TrustError, match=f"signature of key {kid(B)[:16]} does not match"):
        verify(forged, MANIFEST, KEYS, 2)
    stranger = add_signature(env, key(9))
    with pytest.raises(TrustError, match="1 signature\\(s\\) by keys that are not root keys"):
        verify(stranger, MANIFEST, KEYS, 2, role="root")


def test_a_good_signature_after_a_bad_one_of_the_same_key_counts() -> None:
    good = sign(MANIFEST, b"{}", [A]).signatures[0]
    env = Envelope(MANIFEST, b"{}", (Signature(kid(A), b"x"), good))
    assert verify(env, MANIFEST, KEYS, 1) == b"{}"


def test_threshold_must_be_positive_and_signatures_bounded() -> None:
    env = sign(MANIFEST, b"{}", [A])
    with pytest.raises(TrustError, match="at least 1") as info:
        verify(env, MANIFEST, KEYS, 0)
    assert info.value.check == "threshold"
    many = Envelope(MANIFEST, b"{}", env.signatures * (MAX_SIGNATURES + 1))
    with pytest.raises(TrustError, match="at most 16") as info:
        verify(many, MANIFEST, KEYS, 1)
    assert info.value.check == "envelope"


def test_flipped_payload_or_signature_fails() -> None:
    env = sign(MANIFEST, b'{"a":1}', [A])
    bad_payload = Envelope(MANIFEST, flip(env.payload, 2), env.signatures)
    bad_sig = Envelope(MANIFEST, env.payload, (Signature(kid(A), flip(env.signatures[0].sig, 10)),))
    for bad in (bad_payload, bad_sig):
        with pytest.raises(TrustError) as info:
            verify(bad, MANIFEST, KEYS, 1)
        assert info.value.check == "threshold"


GOOD = sign(MANIFEST, b"{}", [A]).to_json()


@pytest.mark.parametrize(
    ("obj", "match"),
    [
        ([], "must be a JSON object"),
        ({k: v for k, v in GOOD.items() if k != "payload"}, "lacks payload"),
        ({**GOOD, "extra": 1}, "unknown fields extra"),
        ({**GOOD, "payloadType": ""}, "non-empty string"),
        ({**GOOD, "payloadType": 5}, "non-empty string"),
        ({**GOOD, "payload": "!!!"}, "payload is not valid base64"),
        ({**GOOD, "payload": 5}, "must be a base64 string"),
        ({**GOOD, "signatures": {}}, "must be a list"),
        ({**GOOD, "signatures": GOOD["signatures"] * 17}, "17 signatures; at most 16"),
        ({**GOOD, "signatures": ["x"]}, "signature 1 must be a JSON object"),
        ({**GOOD, "signatures": [{"keyid": 1, "sig": "AA=="}]}, "keyid of signature 1"),
        ({**GOOD, "signatures": [{"keyid": "k", "sig": "A"}]}, "signature 1 is not valid"),
        ({**GOOD, "signatures": [{"keyid": "k"}]}, "signature 1 lacks sig"),
    ],
)
def test_from_json_is_strict(obj: object, match: str) -> None:
    with pytest.raises(TrustError, match=match) as info:
        Envelope.from_json(obj)
    assert info.value.check == "envelope"


def test_from_bytes_refuses_bad_json() -> None:
    with pytest.raises(TrustError, match="not valid JSON") as info:
        Envelope.from_bytes(b'{"payload":"","payload":""}')
    assert info.value.check == "envelope"


def test_an_envelope_without_signatures_parses_but_never_verifies() -> None:
    env = Envelope.from_json({**GOOD, "signatures": []})
    with pytest.raises(TrustError, match="found 0"):
        verify(env, MANIFEST, KEYS, 1)
