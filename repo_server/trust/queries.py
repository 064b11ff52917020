"""Reading what clients verify: keyrings, the enrolment document, a version's signed
documents, the log's checkpoints and proofs; registering personal keys (which count once
the enrolment officers enrol them, :mod:`repo_server.trust.enrollment`).

Called by :mod:`repo_server.trust.api`. A version's documents are visible to whoever may
browse its group (404 otherwise, as everywhere); proofs are hashes only and need no more
than a signed-in caller; whole log records are for auditors, except the check-in record a
version's reader needs for its inclusion proof.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from policies.access import Action, decide
from policies.trust.errors import TrustError
from policies.trust.keys import keyid_of, public_from_text, public_text
from repo_server.artifacts.lookup import find_product, find_version
from repo_server.audit.models import AuditEvent
from repo_server.audit.services import AuditLog
from repo_server.auth.principal import Principal
from repo_server.clock import Clock
from repo_server.db import Database
from repo_server.errors import Conflict, Forbidden, InvalidRequest, NotFound
from repo_server.hooks import NO_PLUGINS, Plugins, VersionRef
from repo_server.paging import EVERYTHING, Page, PageRequest, by_id
from repo_server.trust.enrollment import newest_enrollment
from repo_server.trust.keystore import KeyStore
from repo_server.trust.library import LibraryIndexService
from repo_server.trust.log import MerkleLog
from repo_server.trust.models import (
    LogCheckpoint,
    LogState,
    PersonKeyRecord,
    StatementRecord,
)
from repo_server.trust.services import SigningService
from repo_server.trust.status_guard import recording_refusals
from repo_server.visibility import resolve_group


def envelope_json(data: bytes) -> dict[str, Any]:
    """A stored envelope as the JSON object the API sends."""
    parsed: dict[str, Any] = json.loads(data)
    return parsed


def hexes(hashes: list[bytes]) -> list[str]:
    return [h.hex() for h in hashes]


@dataclass(frozen=True)
class PersonKeyInfo:
    """A registered personal key as the API shows it."""

    keyid: str
    username: str
    public: str
    registered_at: str
    revoked: bool
    #: The enrolment document version that first listed the key (``None``: not yet).
    enrolled_version: int | None
    #: The log size from which the signed enrolment document revokes it.
    revoked_from: int | None

    @property
    def enrolled(self) -> bool:
        """Whether an enrolment document lists the key (only then does it count)."""
        return self.enrolled_version is not None


def _key_info(row: PersonKeyRecord) -> PersonKeyInfo:
    return PersonKeyInfo(
        row.keyid,
        row.username,
        row.public,
        row.registered_at.isoformat(),
        row.revoked_at is not None,
        row.enrolled_version,
        row.revoked_from,
    )


class TrustQueries:
    """What clients fetch to verify, and personal keys."""

    def __init__(
        self,
        db: Database,
        audit: AuditLog,
        clock: Clock,
        keys: KeyStore,
        signing: SigningService,
        plugins: Plugins = NO_PLUGINS,
        library: LibraryIndexService | None = None,
    ) -> None:
        self.db = db
        self.audit = audit
        self.clock = clock
        self.keys = keys
        self.signing = signing
        self.plugins = plugins
        self.library = library or LibraryIndexService(keys, clock, signing.settings, signing)

    # -- keyrings ----------------------------------------------------------------------

    def log_state(self) -> tuple[int, datetime | None]:
        """The transparency log's size and when its newest checkpoint was signed."""
        with self.db.read() as session:
            size = session.scalar(sa.select(LogState.size).limit(1)) or 0
            newest = session.scalar(sa.select(sa.func.max(LogCheckpoint.created_at)))
        return int(size), newest

    def keyring(self, version: int | None = None) -> dict[str, Any]:
        """Keyring ``version`` (default: the newest) as signed."""
        if version is None:
            return envelope_json(self.keys.current().envelope)
        data = self.keys.keyring_envelope(version)
        if data is None:
            raise NotFound(f"keyring version {version} not found")
        return envelope_json(data)

    def seal(self, version: int) -> dict[str, Any]:
        """The roots' seal of the rotation that retired keyring ``version``'s online keys."""
        data = self.keys.seal_envelope(version)
        if data is None:
            raise NotFound(f"no seal of keyring version {version}: it was not rotated out")
        return envelope_json(data)

    def keyring_summary(self) -> dict[str, Any]:
        """The newest keyring's version, repository, expiry and the root fingerprint."""
        current = self.keys.current()
        return {
            "version": current.version,
            "repository": current.repository,
            "expires": current.keyring.expires.isoformat(),
            "root_fingerprint": self.keys.fingerprint(),
        }

    def enrollment(self) -> dict[str, Any] | None:
        """The newest enrolment document as the officers signed it (``None`` if none)."""
        with self.db.read() as session:
            row = newest_enrollment(session)
            return None if row is None else envelope_json(row.envelope)

    # -- a version's documents ---------------------------------------------------------

    def version_documents(
        self, principal: Principal, group: str, product: str, version: str
    ) -> dict[str, Any]:
        """Everything a client needs to verify a checked-in ``version``.

        The manifest, the approval statements it names (in order), the check-out
        statements after it, the newest enrolment document (which binds the personal
        keys), a fresh status document and the check-in's log record with its index.
        """
        ref = f"{group}/{product}@{version}"
        with recording_refusals(self.audit), self.db.write() as session:
            row_group = resolve_group(session, principal, group, Action.BROWSE)
            row_product = find_product(session, row_group, product)
            row_version = find_version(session, row_group, row_product, version)
            if row_version.manifest is None:
                raise NotFound(f"{ref} has not been checked in: it has no signed manifest")
            status = self.signing.fresh_status(
                session,
                group=row_group,
                product=row_product,
                version=row_version,
                blocks=self.plugins.blocks(VersionRef(group, product, version)),
            )
            assert status is not None
            statements = session.scalars(
                sa.select(StatementRecord)
                .where(StatementRecord.version_id == row_version.id)
                .order_by(StatementRecord.seq)
            ).all()
            enrollment = newest_enrollment(session)
            checkin = session.scalar(
                sa.select(AuditEvent)
                .where(
                    AuditEvent.action == "checkin.approve",
                    AuditEvent.target == ref,
                    AuditEvent.outcome == "ok",
                )
                .order_by(AuditEvent.leaf_index.desc())
                .limit(1)
            )
            manifest_sha = row_version.manifest_sha256
            listed = [s for s in statements if s.action != "checkout.approve"]
            return {
                "manifest": envelope_json(row_version.manifest),
                "statements": [envelope_json(s.envelope) for s in listed],
                "checkouts": [
                    envelope_json(s.envelope) for s in statements if s.action == "checkout.approve"
                ],
                "enrollment": None if enrollment is None else envelope_json(enrollment.envelope),
                "status": envelope_json(status.envelope),
                "manifest_sha256": manifest_sha,
                "checkin_record": None
                if checkin is None
                else {
                    "index": checkin.leaf_index,
                    "record": base64.b64encode(checkin.leaf).decode(),
                },
            }

    def library_index(self, principal: Principal, group: str, product: str) -> dict[str, Any]:
        """The fresh signed library index of ``group/product`` (every version checked in).

        Whoever may browse the group may read it (404 otherwise, as everywhere). Two
        first requests at once may both try to create the row: the loser reads the
        winner's.
        """
        for attempt in (1, 2):
            try:
                with self.db.write() as session:
                    row_group = resolve_group(session, principal, group, Action.BROWSE)
                    row_product = find_product(session, row_group, product)
                    row = self.library.fresh_index(
                        session,
                        group=row_group,
                        product=row_product,
                        blocks_of=lambda v: self.plugins.blocks(VersionRef(group, product, v)),
                    )
                    return envelope_json(row.envelope)
            except IntegrityError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def status(
        self, principal: Principal, group: str, product: str, version: str
    ) -> dict[str, Any]:
        """The fresh signed status of a checked-in version."""
        with recording_refusals(self.audit), self.db.write() as session:
            row_group = resolve_group(session, principal, group, Action.BROWSE)
            row_product = find_product(session, row_group, product)
            row_version = find_version(session, row_group, row_product, version)
            row = self.signing.fresh_status(
                session,
                group=row_group,
                product=row_product,
                version=row_version,
                blocks=self.plugins.blocks(VersionRef(group, product, version)),
            )
            if row is None:
                raise NotFound(
                    f"{group}/{product}@{version} has not been checked in: it has no status"
                )
            return envelope_json(row.envelope)

    # -- the log -----------------------------------------------------------------------

    def inclusion_proof(self, index: int, size: int) -> dict[str, Any]:
        """The audit path of leaf ``index`` in the tree of ``size`` leaves."""
        with self.db.read() as session:
            current = MerkleLog.size(session)
            if not 0 <= index < size <= current:
                raise InvalidRequest(
                    f"no inclusion proof of leaf {index} in a tree of {size} "
                    f"(the log has {current} entries)"
                )
            proof = MerkleLog.reader(session).inclusion_proof(index, size)
        return {"index": index, "size": size, "proof": hexes(proof)}

    def consistency_proof(self, old: int, new: int) -> dict[str, Any]:
        """The proof that the tree of ``new`` leaves extends the tree of ``old`` leaves."""
        with self.db.read() as session:
            current = MerkleLog.size(session)
            if not 0 <= old <= new <= current:
                raise InvalidRequest(
                    f"no consistency proof from {old} to {new} entries "
                    f"(the log has {current} entries)"
                )
            proof = MerkleLog.reader(session).consistency_proof(old, new)
        return {"old_size": old, "new_size": new, "proof": hexes(proof)}

    def leaf(self, principal: Principal, index: int) -> dict[str, Any]:
        """One log record as hashed, for an auditor."""
        decision = decide(principal.actor, Action.READ_AUDIT)
        if not decision.allowed:
            raise Forbidden(decision.reason, rule=decision.rule)
        with self.db.read() as session:
            row = session.scalar(sa.select(AuditEvent).where(AuditEvent.leaf_index == index))
            if row is None:
                raise NotFound(f"the log has no entry {index}")
            return {"index": index, "record": base64.b64encode(row.leaf).decode()}

    # -- personal keys -----------------------------------------------------------------

    def register_key(self, principal: Principal, public: str) -> PersonKeyInfo:
        """Register ``public`` as a personal key of the caller, waiting for enrolment.

        The server vouches for nothing: the key counts (for the server and for clients)
        once the enrolment officers list it in a signed enrolment document.
        """
        decision = decide(principal.actor, Action.REGISTER_KEY)
        if not decision.allowed:
            raise Forbidden(decision.reason, rule=decision.rule)
        try:
            key = public_from_text(public)
        except TrustError as error:
            raise InvalidRequest(str(error), field="public") from None
        keyid = keyid_of(key)
        now = self.clock.now().replace(microsecond=0)
        with self.db.write() as session:
            existing = session.scalar(
                sa.select(PersonKeyRecord).where(PersonKeyRecord.keyid == keyid)
            )
            if existing is not None:
                if existing.username != principal.username or existing.revoked_at is not None:
                    raise Conflict("this key is already registered and cannot be registered again")
                return _key_info(existing)
            row = PersonKeyRecord(
                username=principal.username,
                keyid=keyid,
                public=public_text(key),
                registered_at=now,
            )
            session.add(row)
            session.flush()
            self.audit.record(
                session,
                principal,
                "key.register",
                target=f"user:{principal.username}",
                details={"keyid": keyid},
            )
            return _key_info(row)

    def revoke_key(self, principal: Principal, keyid: str) -> PersonKeyInfo:
        """Revoke one of the caller's keys (an admin may revoke anyone's).

        The server refuses the key's statements from now on; clients learn of it from the
        next enrolment document (``depot-server keys revoke``), which the officers sign.
        """
        with self.db.write() as session:
            row = session.scalar(sa.select(PersonKeyRecord).where(PersonKeyRecord.keyid == keyid))
            admin = decide(principal.actor, Action.MANAGE_USERS).allowed
            if row is None or (row.username != principal.username and not admin):
                raise NotFound(f"key {keyid} not found")
            if row.revoked_at is None:
                row.revoked_at = self.clock.now()
                self.audit.record(
                    session,
                    principal,
                    "key.revoke",
                    target=f"user:{row.username}",
                    details={"keyid": keyid},
                )
            return _key_info(row)

    def keys_of(
        self, principal: Principal, username: str | None = None, page: PageRequest = EVERYTHING
    ) -> Page[PersonKeyInfo]:
        """A page of the personal keys of ``username`` (default: the caller), oldest first."""
        owner = username or principal.username
        with self.db.read() as session:
            rows = by_id(
                session,
                sa.select(PersonKeyRecord).where(PersonKeyRecord.username == owner),
                PersonKeyRecord.id,
                page,
                scope=f"keys:{owner}",
            )
            return rows.map(_key_info)
