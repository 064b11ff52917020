"""The enrolment ceremony: the offline enrolment officers sign who holds which personal key.

``depot-server keys init`` writes version 1 (nobody enrolled); ``keys enroll`` lists the
keys people registered (``depot keys generate``) and sets which groups need personally
signed check-in approvals; ``keys revoke`` revokes keys from the current log size on.
Each writes the next version, signed by the enrolment key files the officers bring
(a threshold of the keyring's ``enrollment`` role), and records it in the audit log. The
server only stores and serves the documents: it holds no enrolment key, so it cannot
write one a client accepts. The format and the rules are :mod:`policies.trust.enrollment`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.orm import Session

from policies.trust.dsse import ENROLLMENT, Envelope, sign
from policies.trust.enrollment import EnrolledKey, Enrollment, PersonalRule, verify_enrollment
from policies.trust.errors import TrustError
from policies.trust.keys import public_from_text
from repo_server.audit.services import AuditLog
from repo_server.auth.principal import Principal
from repo_server.clock import Clock
from repo_server.db import Database
from repo_server.errors import InvalidRequest, NotFound
from repo_server.groups.models import Group
from repo_server.trust.keystore import KeyStore, KeysUnavailable
from repo_server.trust.log import MerkleLog
from repo_server.trust.models import EnrollmentRecord, PersonKeyRecord

#: How long an enrolment document is valid when the ceremony does not say.
DEFAULT_DAYS = 365


def newest_enrollment(session: Session) -> EnrollmentRecord | None:
    """The newest stored enrolment document (``None`` before ``keys init``)."""
    return session.scalar(
        sa.select(EnrollmentRecord).order_by(EnrollmentRecord.version.desc()).limit(1)
    )


class EnrollmentCeremony:
    """Writes enrolment documents signed by the officers' key files."""

    def __init__(self, db: Database, audit: AuditLog, clock: Clock, keys: KeyStore) -> None:
        self.db = db
        self.audit = audit
        self.clock = clock
        self.keys = keys

    def publish(
        self,
        session: Session,
        principal: Principal,
        signers: Sequence[Ed25519PrivateKey],
        *,
        enroll_users: Sequence[str] = (),
        enroll_all: bool = False,
        revoke: Sequence[str] = (),
        require_personal: Sequence[str] = (),
        drop_personal: Sequence[str] = (),
        days: int = DEFAULT_DAYS,
    ) -> Enrollment:
        """Sign and store the next enrolment document; return it.

        Starts from the newest one: keys stay enrolled and rules stay in force unless
        this ceremony revokes or drops them. ``enroll_users`` (or ``enroll_all``) adds
        the keys those people registered and nobody revoked; ``revoke`` (key ids)
        revokes from the current log size on; ``require_personal`` / ``drop_personal``
        start or end a group's rule (and set the group's own flag the same way, so the
        server refuses a check-in the clients would refuse). Runs in the caller's
        transaction.
        """
        if days < 1:
            raise InvalidRequest("an enrolment document must be valid for at least one day")
        now = self.clock.now().replace(microsecond=0)
        size = MerkleLog.size(session)
        root = MerkleLog.reader(session).root(size)
        row = newest_enrollment(session)
        keyring = self.keys.current(session).keyring
        if row is None:
            keys: dict[str, EnrolledKey] = {}
            rules: dict[str, PersonalRule] = {}
            version = 1
        else:
            base = Enrollment.from_payload(Envelope.from_bytes(row.envelope).payload)
            keys = {k.keyid: k for k in base.keys}
            rules = {r.group: r for r in base.personal}
            version = base.version + 1
        pending = session.scalars(
            sa.select(PersonKeyRecord).where(
                PersonKeyRecord.enrolled_version.is_(None), PersonKeyRecord.revoked_at.is_(None)
            )
        ).all()
        unknown = set(enroll_users) - {p.username for p in pending}
        if unknown:
            raise NotFound(
                f"{', '.join(sorted(unknown))} registered no key waiting for enrolment "
                "(`depot keys generate` registers one)"
            )
        enrolled = [p for p in pending if enroll_all or p.username in enroll_users]
        for person in enrolled:
            keys[person.keyid] = EnrolledKey(
                person.username, person.keyid, public_from_text(person.public)
            )
            person.enrolled_version = version
        revoked_rows = session.scalars(
            sa.select(PersonKeyRecord).where(PersonKeyRecord.keyid.in_(list(revoke)))
        ).all()
        missing = set(revoke) - {r.keyid for r in revoked_rows}
        if missing:
            raise NotFound(f"no personal key {sorted(missing)[0]} is registered")
        for person in revoked_rows:
            if person.keyid in keys and keys[person.keyid].revoked_from is None:
                keys[person.keyid] = replace(keys[person.keyid], revoked_from=size)
                person.revoked_from = size
            person.revoked_at = person.revoked_at or now
        for name in [*require_personal, *drop_personal]:
            group = session.scalar(sa.select(Group).where(Group.name == name))
            if group is None:
                raise NotFound(f"group {name} not found")
            group.require_personal_checkin = name in require_personal
        for name in require_personal:
            rules.setdefault(name, PersonalRule(name, size))
        for name in drop_personal:
            rules.pop(name, None)
        document = Enrollment(
            repository=keyring.repository,
            version=version,
            issued=now,
            expires=now + timedelta(days=days),
            log_size=size,
            log_root=root,
            keys=tuple(sorted(keys.values(), key=lambda k: k.keyid)),
            personal=tuple(sorted(rules.values(), key=lambda r: r.group)),
        )
        envelope = sign(ENROLLMENT, document.to_payload(), list(signers))
        try:
            verify_enrollment(keyring, envelope, now=now)
        except TrustError as error:
            raise KeysUnavailable(f"the enrolment keys given cannot sign: {error}") from None
        session.add(EnrollmentRecord(version=version, envelope=envelope.to_bytes(), created_at=now))
        self.audit.record(
            session,
            principal,
            "enrollment.publish",
            target=f"enrollment:{version}",
            details={
                "version": version,
                "payload_sha256": envelope.payload_sha256(),
                "enrolled": sorted(p.keyid for p in enrolled),
                "revoked": sorted(revoke),
                "personal": sorted(rules),
                "log_size": size,
            },
        )
        session.flush()
        return document


def expiry_of(envelope: bytes) -> datetime:
    """When a stored enrolment document expires (for ``keys show``)."""
    return Enrollment.from_payload(Envelope.from_bytes(envelope).payload).expires
