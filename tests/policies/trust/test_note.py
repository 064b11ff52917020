"""C2SP signed notes and tlog-cosignature/v1: the spec's own examples, and hostile notes."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from policies.trust.documents import Checkpoint
from policies.trust.errors import TrustError
from policies.trust.note import (
    COSIGNATURE_V1,
    ED25519,
    MAX_SIGNATURES,
    NoteSignature,
    SignedNote,
    VerifierKey,
    check_key_name,
    sign_note,
    verify_note,
)
from policies.trust.witness import (
    check_against_witness,
    cosign,
    cosigned_message,
    verify_cosignature,
    verify_cosignatures,
)

# The example of c2sp.org/signed-note ("Verifier keys", "Example").
SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = (
    "This is an example message.\n\n"
    "\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOB"
    "H3mFXmRKuwHjG1Yu72IneyaQM=\n"
).encode()

LOG = Ed25519PrivateKey.generate()
WITNESS = Ed25519PrivateKey.generate()
OTHER = Ed25519PrivateKey.generate()
ORIGIN = "https://depot.bank.example"
TEXT = Checkpoint(ORIGIN, 11, bytes(range(32))).to_payload()
NOW = datetime(2026, 12, 1, 21, 0, tzinfo=UTC)
T = int(NOW.timestamp())
LOG_KEY = VerifierKey(ORIGIN, ED25519, LOG.public_key())
W1 = VerifierKey("audit.bank.example/w1", COSIGNATURE_V1, WITNESS.public_key())
W2 = VerifierKey("audit.bank.example/w2", COSIGNATURE_V1, OTHER.public_key())


def refused(check: str, fragment: str, fn, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TrustError) as caught:
        fn(*args, **kwargs)
    assert caught.value.check == check, caught.value
    assert fragment in str(caught.value), caught.value


def test_the_spec_example_verifies_with_its_vkey() -> None:
    key = VerifierKey.parse(SPEC_VKEY, ED25519)
    assert key.text() == SPEC_VKEY and key.keyid.hex() == "530d903a"
    note = SignedNote.parse(SPEC_NOTE)
    assert note.text == b"This is an example message.\n" and note.to_bytes() == SPEC_NOTE
    assert verify_note(note, [key], 1, what="the example") == {key.keyid}


def test_vkeys_that_are_wrong() -> None:
    refused("key", "is not a verifier key", VerifierKey.parse, "example.com/foo+530d903a", ED25519)
    refused("key", "is not a verifier key", VerifierKey.parse, SPEC_VKEY.replace("530d", "530D"),
            ED25519)  # fmt: skip
    refused("key", "type 0x04", VerifierKey.parse, SPEC_VKEY, COSIGNATURE_V1)
    refused("key", "wrong key id", VerifierKey.parse, SPEC_VKEY.replace("530d903a", "530d903b"),
            ED25519)  # fmt: skip
    refused("note", "not a note key name", VerifierKey.parse, " +530d903a+AA==", ED25519)
    refused("note", "not a note key name", check_key_name, "")


def test_sign_and_verify_a_checkpoint_note() -> None:
    note = sign_note(TEXT, ORIGIN, LOG)
    assert verify_note(note, [LOG_KEY], 1, what="cp") == {LOG_KEY.keyid}
    refused("note", "ends in a newline", sign_note, b"no newline", ORIGIN, LOG)
    # Unknown keys are ignored, so a note signed only by them has no valid signature.
    refused("threshold", "0 valid signature", verify_note, note,
            [VerifierKey(ORIGIN, ED25519, OTHER.public_key())], 1, what="cp")  # fmt: skip
    # A cosigner key of the same name and public key is not a note-signing key.
    cosigner_as_log = VerifierKey(ORIGIN, COSIGNATURE_V1, LOG.public_key())
    fake = SignedNote(TEXT, (NoteSignature(ORIGIN, cosigner_as_log.keyid, b"x" * 64),))
    refused("threshold", "0 valid", verify_note, fake, [cosigner_as_log], 1, what="cp")
    # A known key whose signature fails refuses the whole note.
    forged = SignedNote(TEXT.replace(b"11", b"12"), note.signatures)
    refused("note", "is not valid", verify_note, forged, [LOG_KEY], 1, what="cp")


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"\xff\n\n", "not UTF-8"),
        (b"text\x07\n\n\xe2\x80\x94 a AAAAAAA=\n", "control character"),
        (b"text\n", "no blank line"),
        (b"text\n\n\xe2\x80\x94 a AAAAAAA=", "no blank line"),
        (b"text\n\nsignature\n", "not a signature line"),
        (b"text\n\n\xe2\x80\x94 nospace\n", "has no signature"),
        (b"text\n\n\xe2\x80\x94 a+b AAAAAAA=\n", "not a note key name"),
        (b"text\n\n\xe2\x80\x94 a AAAA\n", "too short"),
        (b"text\n\n\xe2\x80\x94 a !!!!\n", "not valid base64"),
        (b"x" * 70000, "at most"),
    ],
)
def test_malformed_notes(data: bytes, fragment: str) -> None:
    refused("note", fragment, SignedNote.parse, data)


def test_too_many_signatures() -> None:
    line = NoteSignature("a", b"abcd", b"e").line() + "\n"
    data = b"text\n\n" + (line * (MAX_SIGNATURES + 1)).encode()
    refused("note", "more than", SignedNote.parse, data)


def test_with_signatures_adds_each_line_once() -> None:
    note = sign_note(TEXT, ORIGIN, LOG)
    line = cosign(TEXT, W1.name, WITNESS, T)
    twice = note.with_signatures([line, line, note.signatures[0]])
    assert twice.signatures == (note.signatures[0], line)


def test_cosignatures_of_pinned_witnesses() -> None:
    note = sign_note(TEXT, ORIGIN, LOG).with_signatures(
        [cosign(TEXT, W1.name, WITNESS, T), cosign(TEXT, W2.name, OTHER, T - 60)]
    )
    found = verify_cosignatures(note, [W1, W2], 2, now=NOW)
    assert [(c.witness, c.time) for c in found] == [
        (W1.name, NOW),
        (W2.name, NOW - timedelta(seconds=60)),
    ]
    assert cosigned_message(TEXT, T).startswith(b"cosignature/v1\ntime %d\n" % T)
    refused("witness", "cosigned by 1 pinned witness(es) (audit.bank.example/w1), 2 required",
            verify_cosignatures, note, [W1], 2, now=NOW)  # fmt: skip
    refused("witness", "(none), 1 required", verify_cosignatures,
            sign_note(TEXT, ORIGIN, LOG), [W1], 1, now=NOW)  # fmt: skip
    # The log's own line, or a second line of one witness, does not count twice.
    again = note.with_signatures([cosign(TEXT, W1.name, WITNESS, T - 5)])
    assert len(verify_cosignatures(again, [W1], 1, now=NOW)) == 1


def test_hostile_cosignatures() -> None:
    line = cosign(TEXT, W1.name, WITNESS, T)
    other_text = Checkpoint(ORIGIN, 12, bytes(32)).to_payload()
    refused("witness", "does not verify", verify_cosignature, other_text, line, W1)
    refused("witness", "is not by", verify_cosignature, TEXT, line, W2)
    short = NoteSignature(line.name, line.keyid, line.signature[:40])
    refused("witness", "not timestamped Ed25519", verify_cosignature, TEXT, short, W1)
    huge = NoteSignature(line.name, line.keyid, b"\xff" * 8 + line.signature[8:])
    refused("witness", "has time", verify_cosignature, TEXT, huge, W1)
    retimed = NoteSignature(line.name, line.keyid, (T + 1).to_bytes(8, "big") + line.signature[8:])
    refused("witness", "does not verify", verify_cosignature, TEXT, retimed, W1)
    refused("witness", "0…2^63-1", cosign, TEXT, W1.name, WITNESS, -1)
    future = sign_note(TEXT, ORIGIN, LOG).with_signatures(
        [cosign(TEXT, W1.name, WITNESS, T + 3600)]
    )
    refused("witness", "in the future", verify_cosignatures, future, [W1], 1, now=NOW)


def test_the_log_against_a_witnessed_checkpoint() -> None:
    witnessed = Checkpoint(ORIGIN, 11, bytes(range(32)))
    check_against_witness(witnessed, 11, bytes(range(32)))
    check_against_witness(witnessed, 20, bytes(range(32)))
    refused("witness", "log holds 10: entries were removed", check_against_witness,
            witnessed, 10, None)  # fmt: skip
    refused("witness", "history was rewritten", check_against_witness,
            witnessed, 11, bytes(32))  # fmt: skip


def test_key_names_in_vkeys_round_trip() -> None:
    assert VerifierKey.parse(W1.text(), COSIGNATURE_V1) == W1
    assert base64.b64decode(W1.text().split("+", 2)[2])[0] == COSIGNATURE_V1


def test_a_vkey_whose_base64_holds_a_plus() -> None:
    seed = next(
        i
        for i in range(1000)
        if "+" in VerifierKey("w", COSIGNATURE_V1, _key(i).public_key()).text().split("+", 2)[2]
    )
    key = VerifierKey("w", COSIGNATURE_V1, _key(seed).public_key())
    assert VerifierKey.parse(key.text(), COSIGNATURE_V1).keyid == key.keyid


def _key(seed: int) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(seed.to_bytes(32, "big"))
