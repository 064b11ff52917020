"""After a rotation of the online keys: every still-valid document is signed by the new keys.

Clients verify each document with the keys of the newest keyring they trust, so a rotation
that left the past signed by old keys would make every earlier version fail (issue 10,
item 2). Called by ``depot-server keys rotate`` in the same transaction that writes the new
keyring; the payloads do not change — only their signatures — so every hash that names a
document (a status naming its manifest, a manifest naming its statements, a log record
naming a manifest) still holds, and a client that stored a status serial sees the same
document again:

- manifests and server-attested statements: re-signed with the new release key;
- stored status documents: re-signed with the new status key (same serial, same payload);
- stored checkpoints (signed notes): re-signed with the new log key; witnesses' cosignatures
  are over the checkpoint text, so they still hold.

Personally signed statements keep their owners' signatures, and the enrolment document its
officers': neither is an online key. The keys rotated out are no longer in the keyring, so
nothing they sign afterwards verifies; see docs/trust.md, "Key ceremonies".
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.orm import Session

from policies.trust.dsse import MANIFEST, STATEMENT, STATUS, Envelope, sign
from policies.trust.note import SignedNote, sign_note
from repo_server.artifacts.models import Version
from repo_server.trust.keystore import ONLINE_ROLES, KeyStore, read_private_key
from repo_server.trust.models import LogCheckpoint, StatementRecord, VersionStatus


@dataclass(frozen=True)
class Resigned:
    """How many documents of each kind a rotation re-signed."""

    manifests: int
    statements: int
    statuses: int
    checkpoints: int

    def to_json(self) -> dict[str, int]:
        return {
            "manifests": self.manifests,
            "statements": self.statements,
            "statuses": self.statuses,
            "checkpoints": self.checkpoints,
        }


def _resign(data: bytes, payload_type: str, key: Ed25519PrivateKey) -> bytes:
    envelope = Envelope.from_bytes(data)
    return sign(payload_type, envelope.payload, [key]).to_bytes()


def _resign_note(data: bytes, key: Ed25519PrivateKey) -> bytes:
    # The note's key name is the log's origin, the first line of the checkpoint text;
    # witnesses cosign the text, so their cosignatures stay valid.
    text = SignedNote.parse(data).text
    origin = text.split(b"\n", 1)[0].decode()
    return sign_note(text, origin, key).to_bytes()


def resign_all(session: Session, keys: KeyStore, version: int) -> Resigned:
    """Re-sign every stored online-signed document with the keys of keyring ``version``."""
    online: dict[str, Ed25519PrivateKey] = {
        role: read_private_key(keys.key_path(role, version), keys.passphrase)
        for role in ONLINE_ROLES
    }
    counts = {"manifests": 0, "statements": 0, "statuses": 0, "checkpoints": 0}
    for row in session.scalars(sa.select(Version).where(Version.manifest.is_not(None))):
        assert row.manifest is not None
        row.manifest = _resign(row.manifest, MANIFEST, online["release"])
        counts["manifests"] += 1
    for statement in session.scalars(
        sa.select(StatementRecord).where(StatementRecord.attestation == "server")
    ):
        statement.envelope = _resign(statement.envelope, STATEMENT, online["release"])
        counts["statements"] += 1
    for status in session.scalars(sa.select(VersionStatus)):
        status.envelope = _resign(status.envelope, STATUS, online["status"])
        counts["statuses"] += 1
    for checkpoint in session.scalars(sa.select(LogCheckpoint)):
        checkpoint.note = _resign_note(checkpoint.note, online["log"])
        counts["checkpoints"] += 1
    session.flush()
    return Resigned(**counts)
