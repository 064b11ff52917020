"""The log's checkpoints as C2SP signed notes, and the cosignatures witnesses post back.

Called by :mod:`repo_server.trust.api` (``/log/checkpoint``, ``/log/checkpoints/<size>``,
``/log/cosignatures``). A checkpoint is signed once per size with the log key (key name =
the log's origin, the keyring's ``repository``) and stored; a witness (``depot witness``)
fetches it, checks it against its own copy, cosigns it and posts the cosignature line,
which is checked against the witness's verifier key before it is stored and then served
with the checkpoint. Clients that require k cosignatures of witnesses they pinned ask for
the newest checkpoint that carries at least k.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from policies.trust.documents import Checkpoint
from policies.trust.errors import TrustError
from policies.trust.note import COSIGNATURE_V1, NoteSignature, SignedNote, VerifierKey
from policies.trust.witness import verify_cosignature
from repo_server.audit.services import AuditLog
from repo_server.auth.principal import Principal
from repo_server.clock import Clock, iso
from repo_server.db import Database
from repo_server.errors import InvalidRequest, NotFound
from repo_server.trust.keystore import KeyStore
from repo_server.trust.log import MerkleLog
from repo_server.trust.models import LogCheckpoint, LogCosignature

#: Most cosignatures served with one checkpoint (the signed-note spec asks for 16 at least).
MAX_COSIGNATURES = 32
#: The longest verifier key and cosignature line stored (the columns' sizes).
MAX_VKEY, MAX_LINE = 300, 400
_MAX_SIZE = 2**63 - 1


def _check_size(size: int) -> None:
    if not 0 <= size <= _MAX_SIZE:
        raise InvalidRequest(f"a log size is 0…2^63-1, not {size}", field="size")


@dataclass(frozen=True)
class CheckpointInfo:
    """A checkpoint as the API sends it: its size and the note with every cosignature."""

    size: int
    note: bytes
    cosignatures: int

    def to_json(self) -> dict[str, Any]:
        return {"size": self.size, "note": self.note.decode(), "cosignatures": self.cosignatures}


def _with_cosignatures(session: Session, row: LogCheckpoint) -> CheckpointInfo:
    lines = session.scalars(
        sa.select(LogCosignature.line)
        .where(LogCosignature.size == row.size)
        .order_by(LogCosignature.created_at, LogCosignature.vkey)
        .limit(MAX_COSIGNATURES)
    ).all()
    note = SignedNote.parse(row.note).with_signatures(
        [NoteSignature.parse_line(line) for line in lines]
    )
    return CheckpointInfo(row.size, note.to_bytes(), len(lines))


class LogCheckpoints:
    """Signed checkpoints of the audit log and their witnesses' cosignatures."""

    def __init__(self, db: Database, audit: AuditLog, clock: Clock, keys: KeyStore) -> None:
        self.db = db
        self.audit = audit
        self.clock = clock
        self.keys = keys

    def latest(self) -> CheckpointInfo:
        """The checkpoint of the log as it is now (signed once per size, then stored)."""
        with self.db.read() as session:
            size = MerkleLog.size(session)
            existing = session.get(LogCheckpoint, size)
            if existing is not None:
                return _with_cosignatures(session, existing)
            root = MerkleLog.reader(session).root(size)
        origin = self.keys.current().repository
        note = self.keys.sign_note("log", Checkpoint(origin, size, root).to_payload(), origin)
        try:
            with self.db.write() as session:
                session.add(
                    LogCheckpoint(
                        size=size, root=root, note=note.to_bytes(), created_at=self.clock.now()
                    )
                )
        except IntegrityError:  # another request signed this size first: serve theirs
            pass
        return self.at(size)

    def at(self, size: int) -> CheckpointInfo:
        """The stored checkpoint of ``size`` entries with its cosignatures."""
        _check_size(size)
        with self.db.read() as session:
            row = session.get(LogCheckpoint, size)
            if row is None:
                raise NotFound(f"no checkpoint of {size} entries was signed")
            return _with_cosignatures(session, row)

    def witnessed(self, minimum: int, witnesses: Sequence[str] = ()) -> CheckpointInfo:
        """The newest stored checkpoint that carries at least ``minimum`` cosignatures
        (of the witnesses with the verifier keys ``witnesses``, when given)."""
        if not 1 <= minimum <= MAX_COSIGNATURES:
            raise InvalidRequest(
                f"witnessed must be 1…{MAX_COSIGNATURES}, not {minimum}", field="witnessed"
            )
        query = sa.select(LogCosignature.size)
        if witnesses:
            query = query.where(LogCosignature.vkey.in_(list(witnesses)[:MAX_COSIGNATURES]))
        with self.db.read() as session:
            size = session.scalar(
                query.group_by(LogCosignature.size)
                .having(sa.func.count() >= minimum)
                .order_by(LogCosignature.size.desc())
                .limit(1)
            )
        if size is None:
            raise NotFound(f"no checkpoint is cosigned by {minimum} witness(es) yet")
        return self.at(size)

    def cosign(self, principal: Principal, size: int, vkey: str, line: str) -> dict[str, Any]:
        """Store witness ``vkey``'s cosignature ``line`` on the checkpoint of ``size``.

        The line must verify against the stored checkpoint under that key (a 400 names
        what is wrong); a newer cosignature of the same witness replaces its older one.
        Recorded in the audit trail as ``log.cosign``.
        """
        _check_size(size)
        if len(vkey) > MAX_VKEY or len(line) > MAX_LINE:
            raise InvalidRequest(
                f"a verifier key is at most {MAX_VKEY} characters and a cosignature line "
                f"at most {MAX_LINE}",
                field="cosignature",
            )
        try:
            witness = VerifierKey.parse(vkey, COSIGNATURE_V1)
            signature = NoteSignature.parse_line(line)
        except TrustError as error:
            raise InvalidRequest(str(error), field="cosignature") from None
        with self.db.write() as session:
            row = session.get(LogCheckpoint, size)
            if row is None:
                raise NotFound(f"no checkpoint of {size} entries was signed")
            try:
                cosignature = verify_cosignature(
                    SignedNote.parse(row.note).text, signature, witness
                )
            except TrustError as error:
                raise InvalidRequest(
                    f"the cosignature does not verify on the checkpoint of {size} entries: {error}",
                    field="cosignature",
                ) from None
            existing = session.get(LogCosignature, (size, vkey), with_for_update=True)
            if existing is None:
                existing = LogCosignature(size=size, vkey=vkey, created_at=self.clock.now())
                session.add(existing)
            existing.line, existing.cosigned_at = signature.line(), cosignature.time
            session.flush()
            self.audit.record(
                session,
                principal,
                "log.cosign",
                target=f"log:{size}",
                details={"witness": witness.name, "keyid": witness.keyid.hex()},
            )
        return {"size": size, "witness": witness.name, "cosigned_at": iso(cosignature.time)}
