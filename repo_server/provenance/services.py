"""The provenance keys of a group and the build attestations attached to its versions.

Called by the API (``/groups/<group>/provenance-keys``, ``…/versions/<version>/provenance``)
and, at check-in, by :meth:`repo_server.trust.services.SigningService.write_manifest`
through :func:`manifest_refs`. The rules (signature, statement, subjects) are
:mod:`policies.trust.provenance`; an attestation is stored only when all of them hold.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from policies.access import Action
from policies.lifecycle import Step, decide_step
from policies.trust.dsse import Envelope
from policies.trust.errors import TrustError
from policies.trust.keys import keyid_of, public_from_text
from policies.trust.provenance import (
    MAX_ATTESTATIONS,
    MAX_KEYS,
    Attestation,
    ProvenanceRef,
    check_attestation,
)
from repo_server.artifacts.lookup import files_of, find_product, find_version
from repo_server.artifacts.models import Version
from repo_server.audit.services import AuditLog
from repo_server.auth.principal import Principal
from repo_server.clock import Clock
from repo_server.db import Database
from repo_server.errors import Conflict, InvalidRequest, NotFound
from repo_server.groups.models import Group
from repo_server.lifecycle.facts import enforce, records_refusals, version_facts
from repo_server.provenance.models import AttestationRecord, ProvenanceKey
from repo_server.visibility import resolve_group

#: What the answers say of pushed build fields without a signed attestation.
STATED = "stated, not proven"


@dataclass(frozen=True)
class KeyInfo:
    """A provenance key as the API shows it."""

    group: str
    name: str
    keyid: str
    public: str
    created_by: str
    created_at: datetime


@dataclass(frozen=True)
class AttestationInfo:
    """An attestation attached to a version, as the API shows it."""

    payload_sha256: str
    signer: Mapping[str, str]
    builder_id: str
    build_type: str
    invocation_id: str | None
    subjects: Mapping[str, str]
    uploaded_by: str
    uploaded_at: datetime
    #: Whether the signed manifest records it (the version was checked in after it came).
    in_manifest: bool
    envelope: Mapping[str, Any]


@dataclass(frozen=True)
class VersionProvenance:
    """A version's attestations and what its pushed build fields are worth: ``signed``
    when attestations name every artifact file with its sha256, else :data:`STATED`."""

    attestations: Sequence[AttestationInfo]
    build_fields: str


def _key(row: ProvenanceKey, group: str) -> KeyInfo:
    return KeyInfo(group, row.name, row.keyid, row.public, row.created_by, row.created_at)


def _info(row: AttestationRecord, in_manifest: bool) -> AttestationInfo:
    envelope: dict[str, Any] = {"payloadType": "?", "payload": "", "signatures": []}
    subjects: dict[str, str] = {}
    try:
        envelope = json.loads(row.envelope)
        statement = json.loads(Envelope.from_json(envelope).payload)
        subjects = {s["name"]: s["digest"]["sha256"] for s in statement["subject"]}
    except (TrustError, ValueError, KeyError, TypeError):
        pass  # a row edited in the database: shown as it is, the client's check refuses it
    return AttestationInfo(
        payload_sha256=row.payload_sha256,
        signer={"keyid": row.keyid, "name": row.key_name, "public": row.key_public},
        builder_id=row.builder_id,
        build_type=row.build_type,
        invocation_id=row.invocation_id,
        subjects=subjects,
        uploaded_by=row.uploaded_by,
        uploaded_at=row.uploaded_at,
        in_manifest=in_manifest,
        envelope=envelope,
    )


def manifest_refs(session: Session, version_id: int) -> tuple[ProvenanceRef, ...]:
    """What the manifest records of the version's attestations, in the order they came."""
    rows = session.scalars(
        sa.select(AttestationRecord)
        .where(AttestationRecord.version_id == version_id)
        .order_by(AttestationRecord.id)
    )
    return tuple(ProvenanceRef(r.payload_sha256, r.keyid, r.key_public) for r in rows)


class ProvenanceService:
    """Provenance keys (a group's software managers) and attestations (its uploaders)."""

    def __init__(self, db: Database, audit: AuditLog, clock: Clock) -> None:
        self.db = db
        self.audit = audit
        self.clock = clock

    # -- keys ------------------------------------------------------------------------

    def add_key(self, principal: Principal, group: str, name: str, public: str) -> KeyInfo:
        """Trust ``public`` (``ed25519:<base64>``) to sign the group's build attestations."""
        try:
            keyid = keyid_of(public_from_text(public.strip()))
        except TrustError as error:
            raise InvalidRequest(f"not an Ed25519 public key: {error}", field="public") from None
        with self.db.write() as session:
            row_group = resolve_group(session, principal, group, Action.CREATE_TOKEN)
            rows = self._keys(session, row_group)
            if any(r.keyid == keyid for r in rows):
                raise Conflict(f"group {group!r} already trusts the provenance key {keyid[:16]}")
            if len(rows) >= MAX_KEYS:
                raise Conflict(f"group {group!r} already trusts {MAX_KEYS} provenance keys")
            row = ProvenanceKey(
                group_id=row_group.id,
                name=name,
                keyid=keyid,
                public=public.strip(),
                created_by=principal.username,
                created_at=self.clock.now(),
            )
            session.add(row)
            session.flush()
            self.audit.record(
                session, principal, "provenance.key.add", group=group,
                target=f"provenance-key:{keyid}", details={"name": name, "public": row.public},
            )  # fmt: skip
            return _key(row, group)

    def list_keys(self, principal: Principal, group: str) -> Sequence[KeyInfo]:
        """The keys the group trusts, oldest first (whoever may browse the group)."""
        with self.db.read() as session:
            row_group = resolve_group(session, principal, group, Action.BROWSE)
            return [_key(r, group) for r in self._keys(session, row_group)]

    def remove_key(self, principal: Principal, group: str, keyid: str) -> KeyInfo:
        """Stop trusting a key for new attestations (those attached stay as recorded)."""
        with self.db.write() as session:
            row_group = resolve_group(session, principal, group, Action.CREATE_TOKEN)
            row = next((r for r in self._keys(session, row_group) if r.keyid == keyid), None)
            if row is None:
                raise NotFound(f"group {group!r} trusts no provenance key {keyid[:64]!r}")
            info = _key(row, group)
            session.delete(row)
            self.audit.record(
                session, principal, "provenance.key.remove", group=group,
                target=f"provenance-key:{keyid}",
            )  # fmt: skip
            return info

    @staticmethod
    def _keys(session: Session, group: Group) -> list[ProvenanceKey]:
        return list(
            session.scalars(
                sa.select(ProvenanceKey)
                .where(ProvenanceKey.group_id == group.id)
                .order_by(ProvenanceKey.id)
            )
        )

    # -- attestations ----------------------------------------------------------------

    @records_refusals
    def attach(
        self,
        principal: Principal,
        group: str,
        product: str,
        version: str,
        envelope: Mapping[str, Any],
    ) -> AttestationInfo:
        """Attach a signed attestation to a version that takes uploads.

        Refused (400 ``invalid_request``, nothing stored) unless it is a DSSE envelope of an
        in-toto statement v1 with a SLSA provenance v1 predicate, signed by a key the group
        trusts, whose every subject is a file of the version with the same sha256. The
        same attestation again changes nothing.
        """
        ref = f"{group}/{product}@{version}"
        with self.db.write() as session:
            row_group = resolve_group(session, principal, group, Action.UPLOAD)
            row_product = find_product(session, row_group, product)
            row_version = find_version(session, row_group, row_product, version, lock=True)
            facts = version_facts(session, row_group, row_product, row_version)
            enforce(
                decide_step(principal.actor, Step.UPLOAD, facts),
                principal, "provenance.attach", group=group, target=ref,
            )  # fmt: skip
            keys = self._keys(session, row_group)
            if not keys:
                raise InvalidRequest(
                    f"group {group!r} trusts no provenance key: its software manager adds "
                    "one with `depot provenance key add`",
                    field="envelope",
                )
            files = {f.name: f.sha256 for f in files_of(session, row_version)}
            try:
                parsed = Envelope.from_json(dict(envelope))
                attestation, signed = check_attestation(
                    parsed, [k.public for k in keys], files, ref
                )
            except TrustError as error:
                refused = error  # audited once this transaction (which wrote nothing) ends
            else:
                return self._store(session, principal, ref, row_version, keys, parsed,
                                   attestation, signed.keyid)  # fmt: skip
        self.audit.record_refusal(
            principal, "provenance.attach", group=group, target=ref,
            rule=f"provenance.{refused.check}", reason=str(refused)[:500],
        )  # fmt: skip
        raise InvalidRequest(f"the attestation is refused: {refused}", field="envelope")

    def _store(
        self,
        session: Session,
        principal: Principal,
        ref: str,
        row_version: Version,
        keys: Sequence[ProvenanceKey],
        parsed: Envelope,
        attestation: Attestation,
        keyid: str,
    ) -> AttestationInfo:
        """Record a checked attestation (the same one again changes nothing), audited."""
        group = ref.split("/", 1)[0]
        existing = session.scalar(
            sa.select(AttestationRecord).where(
                AttestationRecord.version_id == row_version.id,
                AttestationRecord.payload_sha256 == attestation.payload_sha256,
            )
        )
        if existing is not None:
            return _info(existing, row_version.manifest_sha256 is not None)
        held = session.scalar(
            sa.select(sa.func.count())
            .select_from(AttestationRecord)
            .where(AttestationRecord.version_id == row_version.id)
        )
        if (held or 0) >= MAX_ATTESTATIONS:
            raise Conflict(f"{ref} already carries {MAX_ATTESTATIONS} attestations")
        key = next(k for k in keys if k.keyid == keyid)
        row = AttestationRecord(
            version_id=row_version.id,
            payload_sha256=attestation.payload_sha256,
            envelope=parsed.to_bytes(),
            keyid=key.keyid,
            key_public=key.public,
            key_name=key.name,
            builder_id=attestation.builder_id,
            build_type=attestation.build_type,
            invocation_id=attestation.invocation_id,
            uploaded_by=principal.username,
            uploaded_at=self.clock.now(),
        )
        session.add(row)
        session.flush()
        self.audit.record(
            session, principal, "provenance.attach", group=group, target=ref,
            details={
                "payload_sha256": attestation.payload_sha256,
                "keyid": key.keyid,
                "builder_id": attestation.builder_id[:500],
                "subjects": len(attestation.subjects),
            },
        )  # fmt: skip
        return _info(row, False)

    def attestations(
        self, principal: Principal, group: str, product: str, version: str
    ) -> VersionProvenance:
        """The attestations of a version, in the order they came (whoever may browse)."""
        with self.db.read() as session:
            row_group = resolve_group(session, principal, group, Action.BROWSE)
            row_product = find_product(session, row_group, product)
            row_version = find_version(session, row_group, row_product, version)
            rows = session.scalars(
                sa.select(AttestationRecord)
                .where(AttestationRecord.version_id == row_version.id)
                .order_by(AttestationRecord.id)
            )
            checked_in = row_version.manifest_sha256 is not None
            infos = [_info(r, checked_in) for r in rows]
            proven = {(n, d) for info in infos for n, d in info.subjects.items()}
            artifacts = {
                (f.name, f.sha256) for f in files_of(session, row_version) if f.role == "artifact"
            }
            signed = bool(artifacts) and artifacts <= proven
            return VersionProvenance(infos, "signed" if signed else STATED)
