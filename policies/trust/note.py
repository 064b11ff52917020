"""C2SP signed notes (c2sp.org/signed-note): text signed by one or more Ed25519 keys.

The log's checkpoints are signed notes (the log key's signature line, key name = the log's
origin), and witnesses add their cosignature lines to the same note
(:mod:`policies.trust.witness`). Written here rather than taken from a library: no
maintained Python package implements signed notes and cosignatures (sigstore-python's
checkpoint code is private and verifies Rekor checkpoints only), and the format is small.

A note is ``text`` (ending in a newline), a blank line, then lines
``— <name> base64(key id[4] ‖ signature)``. The key id of an Ed25519 key is
``SHA-256(name ‖ 0x0A ‖ type ‖ public key)[:4]``, with type 0x01 for plain note signatures
and 0x04 for tlog-cosignature/v1; a verifier key ("vkey") is
``<name>+<hex key id>+base64(type ‖ public key)``. Verifiers ignore signatures by keys they
do not know (name *and* id), and refuse the note when a known key's signature fails.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from policies.trust.errors import TrustError
from policies.trust.keys import decode_base64

#: Signature type of an Ed25519 note signature (the log's own line).
ED25519 = 0x01
#: Signature type of a timestamped Ed25519 checkpoint cosignature (tlog-cosignature/v1).
COSIGNATURE_V1 = 0x04
#: Most signature lines read from one note (the spec asks for at least 16).
MAX_SIGNATURES = 64
#: Most bytes read as one note.
MAX_NOTE_BYTES = 1 << 16

_DASH = "\u2014 "
_NAME = re.compile(r"[^\s+]+")
_HEX8 = re.compile(r"[0-9a-f]{8}", re.ASCII)


def raw_public(public: Ed25519PublicKey) -> bytes:
    """The 32 bytes of an Ed25519 public key (RFC 8032)."""
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def check_key_name(name: str) -> str:
    """A key name: non-empty, no Unicode space, no ``+`` (else ``TrustError("note")``)."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise TrustError("note", f"{name!r} is not a note key name (non-empty, no spaces, no '+')")
    return name


def key_id(name: str, sig_type: int, public: Ed25519PublicKey) -> bytes:
    """``SHA-256(name ‖ 0x0A ‖ type ‖ public key)[:4]``: the note key id of ``public``."""
    check_key_name(name)
    return hashlib.sha256(name.encode() + b"\n" + bytes([sig_type]) + raw_public(public)).digest()[
        :4
    ]


@dataclass(frozen=True)
class VerifierKey:
    """A (name, key id, type, public key) a verifier trusts; its text form is a vkey."""

    name: str
    sig_type: int
    public: Ed25519PublicKey

    @property
    def keyid(self) -> bytes:
        return key_id(self.name, self.sig_type, self.public)

    def text(self) -> str:
        """``<name>+<hex key id>+base64(type ‖ public key)``."""
        blob = base64.b64encode(bytes([self.sig_type]) + raw_public(self.public)).decode()
        return f"{self.name}+{self.keyid.hex()}+{blob}"

    @classmethod
    def parse(cls, text: str, sig_type: int) -> VerifierKey:
        """Read a vkey of signature type ``sig_type``; anything else is ``TrustError("key")``."""
        parts = text.split("+", 2) if isinstance(text, str) else []
        if len(parts) != 3 or not _HEX8.fullmatch(parts[1]):
            raise TrustError("key", f"{text!r} is not a verifier key <name>+<key id>+<key>")
        name = check_key_name(parts[0])
        blob = decode_base64(parts[2], "the verifier key", "key")
        if len(blob) != 33 or blob[0] != sig_type:
            raise TrustError(
                "key", f"the verifier key of {name} is not an Ed25519 key of type {sig_type:#04x}"
            )
        key = cls(name, sig_type, Ed25519PublicKey.from_public_bytes(blob[1:]))
        if key.keyid.hex() != parts[1]:
            raise TrustError("key", f"the verifier key of {name} names the wrong key id")
        return key


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: the key's name, its 4-byte id and the signature bytes after it."""

    name: str
    keyid: bytes
    signature: bytes

    def line(self) -> str:
        """``— <name> base64(key id ‖ signature)`` (without the newline)."""
        return f"{_DASH}{self.name} {base64.b64encode(self.keyid + self.signature).decode()}"

    @classmethod
    def parse_line(cls, line: str) -> NoteSignature:
        """Read one signature line (without its newline)."""
        if not line.startswith(_DASH):
            raise TrustError("note", f"the note line {line[:40]!r} is not a signature line")
        name, space, blob = line[len(_DASH) :].partition(" ")
        if not space:
            raise TrustError("note", f"the signature line of {name!r} has no signature")
        check_key_name(name)
        raw = decode_base64(blob, f"the signature of {name}", "note")
        if len(raw) < 5:
            raise TrustError("note", f"the signature of {name} is too short")
        return cls(name, raw[:4], raw[4:])


@dataclass(frozen=True)
class SignedNote:
    """A note's text (with its final newline) and its signature lines, in order."""

    text: bytes
    signatures: tuple[NoteSignature, ...]

    def to_bytes(self) -> bytes:
        """The note as served: text, a blank line, one line per signature."""
        lines = "".join(s.line() + "\n" for s in self.signatures)
        return self.text + b"\n" + lines.encode()

    def with_signatures(self, extra: Sequence[NoteSignature]) -> SignedNote:
        """This note with ``extra`` lines added (a line already present is not repeated)."""
        lines = list(self.signatures)
        for signature in extra:
            if signature not in lines:
                lines.append(signature)
        return SignedNote(self.text, tuple(lines))

    @classmethod
    def parse(cls, data: bytes) -> SignedNote:
        """Read a signed note strictly; its text is *not* trusted until verified."""
        if not isinstance(data, bytes) or len(data) > MAX_NOTE_BYTES:
            raise TrustError("note", f"a signed note is at most {MAX_NOTE_BYTES} bytes")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise TrustError("note", "the signed note is not UTF-8 text") from None
        if any(ch < " " and ch != "\n" for ch in text):
            raise TrustError("note", "the signed note holds a control character")
        split = text.rfind("\n\n")
        if split < 0 or not text.endswith("\n"):
            raise TrustError("note", "the note has no blank line before its signatures")
        body, lines = text[: split + 1], text[split + 2 : -1].split("\n")
        if len(lines) > MAX_SIGNATURES:
            raise TrustError("note", f"the note has more than {MAX_SIGNATURES} signatures")
        signatures = tuple(NoteSignature.parse_line(line) for line in lines)
        return cls(body.encode(), signatures)


def sign_note(text: bytes, name: str, key: Ed25519PrivateKey) -> SignedNote:
    """Sign ``text`` (ending in a newline) as ``name`` with an Ed25519 note signature."""
    if not text.endswith(b"\n"):
        raise TrustError("note", "a note's text ends in a newline")
    keyid = key_id(name, ED25519, key.public_key())
    note = SignedNote(text, (NoteSignature(name, keyid, key.sign(text)),))
    return SignedNote.parse(note.to_bytes())


def verify_note(
    note: SignedNote, keys: Sequence[VerifierKey], threshold: int, *, what: str
) -> set[bytes]:
    """The key ids of ``keys`` (type 0x01) that signed ``note``: at least ``threshold``.

    Lines by unknown (name, id) pairs are ignored; a known key's bad signature refuses the
    note (``TrustError("note")``), and so do fewer than ``threshold`` good ones
    (``TrustError("threshold")``).
    """
    known: Mapping[tuple[str, bytes], VerifierKey] = {(k.name, k.keyid): k for k in keys}
    good: set[bytes] = set()
    for line in note.signatures:
        key = known.get((line.name, line.keyid))
        if key is None or key.sig_type != ED25519:
            continue
        try:
            key.public.verify(line.signature, note.text)
        except InvalidSignature:
            raise TrustError(
                "note", f"the signature of {line.name} ({line.keyid.hex()}) on {what} is not valid"
            ) from None
        good.add(line.keyid)
    if len(good) < threshold:
        raise TrustError(
            "threshold",
            f"{what} carries {len(good)} valid signature(s) of the expected key(s), "
            f"{threshold} needed",
        )
    return good
