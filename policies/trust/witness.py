"""Witness cosignatures of the log's checkpoints (c2sp.org/tlog-cosignature, Ed25519 v1).

A witness keeps its own copy of the checkpoints it saw, checks that each new one extends
the last (a consistency proof, :func:`policies.trust.verify.check_log_growth`) and then
cosigns it: a signature line of type 0x04 over::

    cosignature/v1
    time <POSIX seconds>
    <the checkpoint's note text>

whose signature bytes are ``timestamp (u64, big-endian) ‖ Ed25519 signature``. Called by
``depot witness`` (signing), by ``depot pull`` when the client requires k cosignatures of
pinned witnesses (:func:`verify_cosignatures`), by the server when it stores a posted
cosignature, and by ``depot-server audit verify --witness`` (:func:`check_against_witness`).
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from policies.trust.canonical import utc_text
from policies.trust.documents import Checkpoint
from policies.trust.errors import TrustError
from policies.trust.note import COSIGNATURE_V1, NoteSignature, SignedNote, VerifierKey

#: How far in the future a cosignature's time may be (clocks differ a little).
CLOCK_SKEW = timedelta(minutes=10)
_MAX_TIMESTAMP = 2**63 - 1


def cosigned_message(text: bytes, timestamp: int) -> bytes:
    """What a v1 cosignature signs: the header line, the time line, the checkpoint text."""
    return b"cosignature/v1\ntime %d\n" % timestamp + text


def cosign(text: bytes, name: str, key: Ed25519PrivateKey, timestamp: int) -> NoteSignature:
    """The cosignature line of witness ``name`` on the checkpoint text ``text``."""
    if not 0 <= timestamp <= _MAX_TIMESTAMP:
        raise TrustError("witness", f"a cosignature time must be 0…2^63-1, not {timestamp}")
    signer = VerifierKey(name, COSIGNATURE_V1, key.public_key())
    signature = key.sign(cosigned_message(text, timestamp))
    return NoteSignature(name, signer.keyid, timestamp.to_bytes(8, "big") + signature)


@dataclass(frozen=True)
class Cosignature:
    """A verified cosignature: which pinned witness, and when it cosigned."""

    witness: str
    time: datetime


def verify_cosignature(text: bytes, line: NoteSignature, witness: VerifierKey) -> Cosignature:
    """Check one cosignature line of ``witness`` on the checkpoint text ``text``."""
    if (line.name, line.keyid) != (witness.name, witness.keyid):
        raise TrustError("witness", f"the cosignature of {line.name} is not by {witness.name}")
    if len(line.signature) != 8 + 64:
        raise TrustError("witness", f"the cosignature of {line.name} is not timestamped Ed25519")
    timestamp = int.from_bytes(line.signature[:8], "big")
    if timestamp > _MAX_TIMESTAMP:
        raise TrustError("witness", f"the cosignature of {line.name} has time {timestamp}")
    try:
        witness.public.verify(line.signature[8:], cosigned_message(text, timestamp))
    except InvalidSignature:
        raise TrustError(
            "witness", f"the cosignature of witness {line.name} does not verify"
        ) from None
    return Cosignature(line.name, datetime.fromtimestamp(timestamp, UTC))


def verify_cosignatures(
    note: SignedNote, witnesses: Sequence[VerifierKey], required: int, *, now: datetime
) -> list[Cosignature]:
    """The cosignatures of pinned ``witnesses`` on ``note``: at least ``required`` of them.

    Lines of other keys are ignored (a note carries the log's own line too); a pinned
    witness's line that does not verify, or is dated after ``now`` (beyond a small clock
    skew), refuses the note; each witness counts once.
    """
    pinned = {(w.name, w.keyid): w for w in witnesses}
    found: dict[str, Cosignature] = {}
    for line in note.signatures:
        witness = pinned.get((line.name, line.keyid))
        if witness is None:
            continue
        cosignature = verify_cosignature(note.text, line, witness)
        if cosignature.time > now + CLOCK_SKEW:
            raise TrustError(
                "witness",
                f"witness {line.name} dated its cosignature {utc_text(cosignature.time)}, "
                "in the future",
            )
        found.setdefault(witness.name, cosignature)
    if len(found) < required:
        names = ", ".join(sorted(found)) or "none"
        raise TrustError(
            "witness",
            f"the checkpoint is cosigned by {len(found)} pinned witness(es) ({names}), "
            f"{required} required",
        )
    return list(found.values())


def check_against_witness(witnessed: Checkpoint, log_size: int, root: bytes | None) -> None:
    """The log as replayed agrees with a checkpoint a witness kept.

    ``log_size`` is how many entries the replay found and ``root`` the replayed root at
    ``witnessed.size`` (``None`` when the log is shorter). A shorter log means entries
    were cut; another root means history was rewritten (``TrustError("witness")``).
    """
    if log_size < witnessed.size or root is None:
        raise TrustError(
            "witness",
            f"a witness holds a checkpoint of {witnessed.size} entries but the log holds "
            f"{log_size}: entries were removed",
        )
    if not hmac.compare_digest(root, witnessed.root):
        raise TrustError(
            "witness",
            f"the log's root at {witnessed.size} entries is {root.hex()}, a witness cosigned "
            f"{witnessed.root.hex()}: history was rewritten",
        )
