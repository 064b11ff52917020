"""Producing the signed documents: approval statements, manifests and status documents.

Called inside the deciding service's own transaction (:mod:`repo_server.lifecycle.decisions`
for acceptances, check-in and check-out approvals; :mod:`repo_server.lifecycle.services` for
retirement), so a statement, a manifest or a status exists exactly when its action does.
The formats are :mod:`policies.trust.documents`; the keys come from :class:`KeyStore`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from policies.lifecycle import Block
from policies.trust.documents import FileEntry, Manifest, Statement, Status, Subject
from policies.trust.dsse import MANIFEST, STATEMENT, STATUS, Envelope, verify
from policies.trust.errors import TrustError
from policies.trust.keys import public_from_text
from repo_server.artifacts.models import Product, StoredFile, Version
from repo_server.clock import Clock
from repo_server.errors import InvalidRequest
from repo_server.groups.models import Group
from repo_server.lifecycle.models import Request
from repo_server.provenance.services import manifest_refs
from repo_server.settings import Settings
from repo_server.trust.keystore import KeyStore
from repo_server.trust.log import signable_text
from repo_server.trust.models import PersonKeyRecord, StatementRecord, VersionStatus
from repo_server.trust.status_guard import check_status

#: How far the time in a personally signed statement may be from the server's clock.
STATEMENT_CLOCK_SKEW = timedelta(minutes=10)
#: A status document is re-issued when less than this part of its lifetime is left.
STATUS_REFRESH_FRACTION = 3


def _build(row: StoredFile) -> dict[str, str] | None:
    return json.loads(row.build) if row.build else None


def _uncounted(state: str) -> None:
    """What a signed status is counted with when nothing counts (commands, tests)."""


class SigningService:
    """Statements, manifests and status documents of one server."""

    def __init__(self, keys: KeyStore, clock: Clock, settings: Settings) -> None:
        #: Told the state of each status document signed (the metrics set it).
        self.count_status: Callable[[str], None] = _uncounted
        self.keys = keys
        self.clock = clock
        self.settings = settings

    # -- approval statements -----------------------------------------------------------

    def subject(
        self, session: Session, group: Group, product: Product, version: Version
    ) -> Subject:
        """What a statement about ``version`` is about: its names and every file's hash."""
        files = session.execute(
            sa.select(StoredFile.name, StoredFile.sha256).where(StoredFile.version_id == version.id)
        ).all()
        return Subject(
            group=group.name,
            product=product.name,
            version=version.version,
            files=dict(files),
            manifest_sha256=version.manifest_sha256,
        )

    @staticmethod
    def _chain(session: Session, version: Version) -> tuple[int, str | None]:
        last = session.scalar(
            sa.select(StatementRecord)
            .where(StatementRecord.version_id == version.id)
            .order_by(StatementRecord.seq.desc())
            .limit(1)
        )
        return (last.seq + 1, last.payload_sha256) if last else (1, None)

    def expected(
        self,
        session: Session,
        *,
        group: Group,
        product: Product,
        version: Version,
        request: Request,
        action: str,
        actor: str,
        role: str,
        comment: str,
        at: datetime,
        attestation: str,
    ) -> Statement:
        """The statement the server would record for this decision at time ``at``."""
        _, prev = self._chain(session, version)
        return Statement(
            repository=self.keys.current(session).repository,
            subject=self.subject(session, group, product, version),
            action=action,
            actor=actor,
            role=role,
            request_id=request.id,
            requested_by=request.requester,
            at=at.replace(microsecond=0),
            comment=signable_text(comment),
            prev=prev,
            attestation=attestation,
        )

    def record_statement(
        self,
        session: Session,
        *,
        group: Group,
        product: Product,
        version: Version,
        request: Request,
        action: str,
        actor: str,
        role: str,
        comment: str,
        signed: dict[str, Any] | None = None,
    ) -> StatementRecord:
        """Write the statement of a decision: the actor's signed one, or the server's.

        ``signed`` is the DSSE envelope (JSON) the actor signed with their personal key;
        it must be exactly the statement the server expects, at a time near now.
        Raises :class:`InvalidRequest` when it is not.
        """
        seq, _ = self._chain(session, version)
        fields: dict[str, Any] = {
            "group": group,
            "product": product,
            "version": version,
            "request": request,
            "action": action,
            "actor": actor,
            "role": role,
            "comment": comment,
        }
        if signed is None:
            statement = self.expected(session, **fields, at=self.clock.now(), attestation="server")
            envelope = self.keys.sign("release", STATEMENT, statement.to_payload())
        else:
            envelope = self._check_personal(session, signed, actor, fields)
        row = StatementRecord(
            version_id=version.id,
            request_id=request.id,
            seq=seq,
            action=action,
            actor=actor,
            attestation="server" if signed is None else "personal",
            payload_sha256=envelope.payload_sha256(),
            envelope=envelope.to_bytes(),
            created_at=self.clock.now(),
        )
        session.add(row)
        session.flush()
        return row

    def _check_personal(
        self, session: Session, signed: dict[str, Any], actor: str, fields: dict[str, Any]
    ) -> Envelope:
        keys = {
            row.keyid: row
            for row in session.scalars(
                sa.select(PersonKeyRecord).where(
                    PersonKeyRecord.username == actor,
                    PersonKeyRecord.revoked_at.is_(None),
                    PersonKeyRecord.enrolled_version.is_not(None),
                )
            )
        }
        if not keys:
            raise InvalidRequest(
                f"{actor} has no enrolled personal key: run `depot keys generate`, then ask "
                "the enrolment officers to enrol it (`depot-server keys enroll`)",
                field="statement",
            )

        try:
            envelope = Envelope.from_json(signed)
            payload = verify(
                envelope,
                STATEMENT,
                {keyid: public_from_text(row.public) for keyid, row in keys.items()},
                1,
                role=f"personal keys of {actor}",
            )
            statement = Statement.from_payload(payload)
        except TrustError as error:
            raise InvalidRequest(
                f"the signed statement is not valid: {error}", field="statement"
            ) from None
        now = self.clock.now()
        if abs(statement.at - now) > STATEMENT_CLOCK_SKEW:
            raise InvalidRequest(
                "the signed statement's time is too far from the server's clock "
                f"({statement.at.isoformat()} against {now.isoformat()})",
                field="statement",
            )
        expected = self.expected(session, **fields, at=statement.at, attestation="personal")
        if expected.to_payload() != payload:
            raise InvalidRequest(
                "the signed statement does not match this decision (version, files, request, "
                "action, comment or previous statement differ): fetch it again and re-sign",
                field="statement",
            )
        return envelope

    # -- manifests -------------------------------------------------------------------------

    def write_manifest(
        self,
        session: Session,
        *,
        group: Group,
        product: Product,
        version: Version,
        checkin: Request,
    ) -> str:
        """Sign the manifest of ``version`` at its check-in; returns its payload's sha256."""
        files = session.scalars(
            sa.select(StoredFile)
            .where(StoredFile.version_id == version.id)
            .order_by(StoredFile.name)
        ).all()
        statements = session.scalars(
            sa.select(StatementRecord.payload_sha256)
            .where(StatementRecord.version_id == version.id)
            .order_by(StatementRecord.seq)
        ).all()
        assert version.library_number is not None
        manifest = Manifest(
            repository=self.keys.current(session).repository,
            group=group.name,
            product=product.name,
            version=version.version,
            library_number=version.library_number,
            category=product.category,
            origin=product.origin,
            files=tuple(
                FileEntry(
                    name=f.name,
                    role=f.role,
                    size=f.size,
                    sha256=f.sha256,
                    uploaded_by=f.uploaded_by,
                    build=_build(f),
                )
                for f in files
            ),
            statements=tuple(statements),
            requested_by=checkin.requester,
            checked_in_at=self.clock.now().replace(microsecond=0),
            require_personal_checkin=group.require_personal_checkin,
            provenance=manifest_refs(session, version.id),
        )
        envelope = self.keys.sign("release", MANIFEST, manifest.to_payload())
        version.manifest = envelope.to_bytes()
        version.manifest_sha256 = envelope.payload_sha256()
        session.flush()
        return version.manifest_sha256

    # -- status documents -----------------------------------------------------------------

    def issue_status(
        self,
        session: Session,
        *,
        group: Group,
        product: Product,
        version: Version,
        state: str,
        reason: str = "",
    ) -> VersionStatus:
        """Sign a new status of ``version`` with the next serial, replacing the last one.

        Only a state that follows from the signed log and the last signed status is signed
        (:func:`repo_server.trust.status_guard.check_status`; else ``StatusRefused``).
        """
        assert version.manifest_sha256 is not None, "only checked-in versions have a status"
        row = session.get(VersionStatus, version.id, with_for_update=True)
        check_status(session, group.name, product.name, version, state, row)
        serial = (row.serial if row else 0) + 1
        now = self.clock.now().replace(microsecond=0)
        expires = now + timedelta(seconds=self.settings.status_ttl)
        status = Status(
            repository=self.keys.current(session).repository,
            group=group.name,
            product=product.name,
            version=version.version,
            state=state,
            manifest_sha256=version.manifest_sha256,
            serial=serial,
            issued=now,
            expires=expires,
            reason=signable_text(reason),
        )
        envelope = self.keys.sign("status", STATUS, status.to_payload()).to_bytes()
        self.count_status(state)
        if row is None:
            row = VersionStatus(version_id=version.id)
            session.add(row)
        row.serial, row.state, row.envelope, row.expires_at = serial, state, envelope, expires
        session.flush()
        return row

    def fresh_status(
        self,
        session: Session,
        *,
        group: Group,
        product: Product,
        version: Version,
        blocks: Sequence[Block] = (),
    ) -> VersionStatus | None:
        """The status of ``version``, re-signed when a third of its lifetime is left (or
        when it was signed by a status key a rotation has since replaced).

        ``blocks`` are what plugins report as stopping its use: a checked-in version
        with one that stops every use is ``quarantined`` (with the block's reason), and back to
        ``checked_in`` once none is left; a change of state is signed at once, with the
        next serial. ``None`` for a version that was never checked in. Needs a write
        transaction.
        """
        row = session.get(VersionStatus, version.id, with_for_update=True)
        if row is None:
            return None
        reason = Status.from_payload(Envelope.from_bytes(row.envelope).payload).reason
        state = row.state
        stopping = [b for b in blocks if b.stops_use]
        if stopping and state == "checked_in":
            state, reason = "quarantined", f"{stopping[0].rule}: {stopping[0].reason}"
        elif not stopping and state == "quarantined":
            state, reason = "checked_in", ""
        margin = timedelta(seconds=self.settings.status_ttl / STATUS_REFRESH_FRACTION)
        if (
            state == row.state
            and row.expires_at - self.clock.now() > margin
            and self.keys.signed_by_current("status", row.envelope, session)
        ):
            return row
        return self.issue_status(
            session, group=group, product=product, version=version, state=state, reason=reason
        )
