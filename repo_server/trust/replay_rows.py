"""The rows ``audit verify`` compares with the signed documents and the replayed log.

Called by :class:`repo_server.trust.replay.Replayer` after the log was replayed. A database
editor can swap a file's row, a version's manifest, a statement, a status or a version's
state without touching a signature; each such row must agree with what was signed:

- the version's manifest names this group, product and version, its sha256 is the one the
  version's row and the check-in's log record name (the log is witnessed, the rows are not);
- the version's file rows are exactly the manifest's files (name, role, size, sha256,
  uploader);
- the statement rows are exactly the manifest's statements, in order, with the action,
  actor and attestation their payloads say, about this version;
- the status row's state and manifest are its signed document's, and a version the log
  retired is retired in its row and its status.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from policies.trust.documents import Manifest, Statement, Status
from policies.trust.dsse import Envelope
from policies.trust.errors import TrustError
from repo_server.artifacts.models import Product, StoredFile, Version
from repo_server.groups.models import Group
from repo_server.trust.models import StatementRecord, VersionStatus


@dataclass(frozen=True)
class LoggedVersion:
    """What the replayed log says about one version."""

    manifest_sha256: str | None
    retired: bool


def _manifest(version: Version) -> Manifest | None:
    assert version.manifest is not None
    try:
        return Manifest.from_payload(Envelope.from_bytes(version.manifest).payload)
    except (TrustError, ValueError):
        return None  # the signature check reports it


def check_rows(session: Session, logged: Mapping[str, LoggedVersion]) -> list[str]:
    """Every disagreement between the rows and the signed documents or the log."""
    problems: list[str] = []
    rows = session.execute(
        sa.select(Version, Product.name, Group.name)
        .join(Product, Version.product_id == Product.id)
        .join(Group, Product.group_id == Group.id)
        .order_by(Version.id)
    ).all()
    for version, product, group in rows:
        ref = f"{group}/{product}@{version.version}"
        log = logged.get(ref, LoggedVersion(None, False))
        if version.manifest is None:
            if log.manifest_sha256 is not None:
                problems.append(f"{ref} was checked in (log) but its row has no manifest")
            continue
        problems += _check_version(session, ref, version, log)
    return problems


def _check_version(session: Session, ref: str, version: Version, log: LoggedVersion) -> list[str]:
    assert version.manifest is not None
    problems: list[str] = []
    envelope = Envelope.from_bytes(version.manifest)
    manifest = _manifest(version)
    if manifest is None:
        return problems
    digest = envelope.payload_sha256()
    if manifest.ref != ref:
        problems.append(f"the row of {ref} holds the signed manifest of {manifest.ref}")
    if version.manifest_sha256 != digest:
        problems.append(
            f"the row of {ref} names manifest {version.manifest_sha256}, its manifest is {digest}"
        )
    if log.manifest_sha256 is None:
        problems.append(f"the log holds no check-in of {ref}, yet its row holds manifest {digest}")
    elif log.manifest_sha256 != digest:
        problems.append(
            f"the log's check-in of {ref} names manifest {log.manifest_sha256}, "
            f"the row holds {digest}: the manifest was swapped"
        )
    files = {
        (f.name, f.role, f.size, f.sha256, f.uploaded_by)
        for f in session.scalars(sa.select(StoredFile).where(StoredFile.version_id == version.id))
    }
    signed = {(f.name, f.role, f.size, f.sha256, f.uploaded_by) for f in manifest.files}
    for name, *_ in sorted(files - signed):
        problems.append(f"the file row {ref}/{name} is not the one its signed manifest lists")
    for name, *_ in sorted(signed - files):
        problems.append(f"the signed manifest of {ref} lists {name}, which has no matching row")
    problems += _check_statements(session, ref, version, manifest)
    problems += _check_status(session, ref, version, digest, log)
    return problems


def _check_statements(
    session: Session, ref: str, version: Version, manifest: Manifest
) -> list[str]:
    problems: list[str] = []
    records = session.scalars(
        sa.select(StatementRecord)
        .where(StatementRecord.version_id == version.id)
        .order_by(StatementRecord.seq)
    ).all()
    listed = []
    for record in records:
        envelope = Envelope.from_bytes(record.envelope)
        try:
            statement = Statement.from_payload(envelope.payload)
        except (TrustError, ValueError):
            continue  # the signature check reports it
        subject = f"{statement.subject.group}/{statement.subject.product}@"
        subject += statement.subject.version
        facts = (statement.action, statement.actor, statement.attestation)
        if (
            record.payload_sha256 != envelope.payload_sha256()
            or subject != ref
            or facts != (record.action, record.actor, record.attestation)
        ):
            problems.append(
                f"statement row #{record.id} of {ref} is not its signed statement "
                f"({statement.action} by {statement.actor} about {subject})"
            )
        if statement.action != "checkout.approve":
            listed.append(envelope.payload_sha256())
    if tuple(listed[: len(manifest.statements)]) != manifest.statements:
        problems.append(f"the statement rows of {ref} are not the statements its manifest lists")
    return problems


def _check_status(
    session: Session, ref: str, version: Version, manifest_sha256: str, log: LoggedVersion
) -> list[str]:
    problems: list[str] = []
    row = session.get(VersionStatus, version.id)
    if row is not None:
        try:
            status: Status | None = Status.from_payload(Envelope.from_bytes(row.envelope).payload)
        except (TrustError, ValueError):
            status = None  # the signature check reports it
        if status is not None and (
            status.ref != ref
            or status.state != row.state
            or status.serial != row.serial
            or status.manifest_sha256 != manifest_sha256
        ):
            problems.append(f"the status row of {ref} is not its signed status document")
        if log.retired and row.state != "retired":
            problems.append(f"{ref} was retired (log) but its status row says {row.state}")
    if log.retired and version.state != "retired":
        problems.append(f"{ref} was retired (log) but its row says {version.state}")
    return problems
