"""Uploads into and downloads out of a group's storage area.

An upload is checked before a byte is read (who, where, the name, the declared size and
digest, the version still open), then streamed into the blob store, which hashes it on
the way and commits it only if it matches; the file row is written afterwards, so a cut
off or mismatching upload leaves neither a visible blob nor a row. No database
transaction stays open while bytes move.
"""

from __future__ import annotations

import json
import mimetypes
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from policies.access import Action
from policies.lifecycle import Step, decide_step
from policies.names import validate_file_path
from policies.requests_access import decide_read, review_of
from repo_server.artifacts.blobs import lock_blob, remove_if_unreferenced
from repo_server.artifacts.facts import FileInfo
from repo_server.artifacts.lookup import find_file, find_product, find_version
from repo_server.artifacts.models import Product, StoredFile, Version
from repo_server.artifacts.upload_checks import (
    FILE_ROLES,
    CheckedUpload,
    UploadResult,
    check_build,
    check_declared_sha256,
    name_clash,
    upload_role,
)
from repo_server.audit.services import AuditLog
from repo_server.auth.principal import Principal
from repo_server.clock import Clock
from repo_server.db import Database
from repo_server.errors import (
    Conflict,
    DepotError,
    InvalidRequest,
    NameClash,
    NotFound,
    TooLarge,
    Unavailable,
)
from repo_server.groups.models import Group
from repo_server.hooks import NO_PLUGINS, Plugins, VersionRef
from repo_server.lifecycle.facts import (
    enforce,
    records_refusals,
    request_facts,
    requests_of,
    version_facts,
)
from repo_server.settings import Settings
from repo_server.visibility import resolve_group
from storage import BlobReader, BlobRef, BlobStore, IntegrityMismatch
from storage.base import Readable


@dataclass(frozen=True)
class Download:
    """A file ready to be sent: its facts and a way to its bytes."""

    file: FileInfo
    ref: str
    _store: BlobStore
    _area: str
    #: Asked again while the bytes flow (when plugins can stop use): the reason use of
    #: the version was stopped since the download began, or ``None``.
    _stopped: Callable[[], str | None] | None = None
    _recheck_seconds: float = 1.0

    @property
    def guarded(self) -> bool:
        """True when the download must be re-checked while it flows (no zero-copy send)."""
        return self._stopped is not None

    def local_path(self) -> Path | None:
        """A local file with the bytes (the folder backend), for zero-copy sending."""
        return self._store.local_path(self._area, self.file.sha256)

    def open(self, start: int = 0, length: int | None = None) -> BlobReader:
        """Stream the bytes from ``start`` (at most ``length`` of them)."""
        return self._store.open(self._area, self.file.sha256, start, length)

    def chunks(self, start: int = 0, length: int | None = None) -> Iterator[bytes]:
        """The bytes from ``start`` in chunks (the blob is opened now, read as iterated).

        A guarded download asks again every ``download_recheck_seconds`` and stops with
        :class:`DownloadStopped` once the version's use was stopped: the connection is
        cut and the client sees a short body."""
        reader = self.open(start, length)
        return self._guarded(reader) if self._stopped is not None else self._plain(reader)

    @staticmethod
    def _plain(reader: BlobReader) -> Iterator[bytes]:
        with reader:
            yield from reader

    def _guarded(self, reader: BlobReader) -> Iterator[bytes]:
        assert self._stopped is not None
        with reader:
            asked, first = time.monotonic(), True
            for chunk in reader:
                # Asked when the download was opened; again only once bytes (and the
                # response's head) are on their way, so a cut is a short body, never a 500.
                if not first and time.monotonic() - asked >= self._recheck_seconds:
                    asked = time.monotonic()
                    reason = self._stopped()
                    if reason is not None:
                        raise DownloadStopped(f"{self.ref}/{self.file.name}: {reason}")
                first = False
                yield chunk


class DownloadStopped(Exception):
    """A download in flight was cut off: use of its version was stopped meanwhile."""


class TransferService:
    """Moves file contents in and out of storage areas."""

    def __init__(
        self,
        db: Database,
        audit: AuditLog,
        clock: Clock,
        store: BlobStore,
        settings: Settings,
        plugins: Plugins = NO_PLUGINS,
    ) -> None:
        self.db = db
        self.audit = audit
        self.clock = clock
        self.store = store
        self.settings = settings
        self.plugins = plugins

    @records_refusals
    def upload(
        self,
        principal: Principal,
        group: str,
        product: str,
        version: str,
        name: str,
        *,
        source: Readable,
        size: int | None,
        sha256: str | None,
        role: str = "artifact",
        media_type: str | None = None,
        build: dict[str, str] | None = None,
    ) -> UploadResult:
        """Store one file of a version from ``source`` (the request body).

        Raises ``IntegrityMismatch`` (nothing stored) when the bytes are not ``size``
        bytes with digest ``sha256``; ``Conflict`` when the version holds a different
        file of that name; ``NotFound`` for anything the caller cannot see.
        """
        with self.db.read() as session:
            checked = self.check_upload(
                session, principal, (group, product, version, name), role=role, size=size,
                sha256=sha256, build=build,
            )  # fmt: skip
        ref, name, declared, build, area = (
            checked.ref, checked.name, checked.sha256, checked.build, checked.area
        )  # fmt: skip
        assert declared is not None and size is not None
        target = f"{ref}/{name}"
        if checked.clash is not None:
            self.audit_clash(principal, group, target, checked.clash)
            raise checked.clash
        try:
            stored = self.store.ingest(area, source, size=size, sha256=declared)
        except IntegrityMismatch as error:
            self.audit_mismatch(principal, group, target, error, declared, size)
            raise
        return self.record_stored(
            principal, stored, ref, (group, product, version, name, area), role=role,
            media_type=media_type, build=build,
        )  # fmt: skip

    def check_upload(
        self,
        session: Session,
        principal: Principal,
        where: tuple[str, str, str, str],
        *,
        role: str,
        size: int | None,
        sha256: str | None,
        build: dict[str, str] | None,
        digest_required: bool = True,
    ) -> CheckedUpload:
        """Every check an upload passes before a byte is read: who may upload where
        (membership, the lifecycle step and its rules), the name, role, declared size
        (and digest, unless ``digest_required`` is false and none was declared) and the
        build provenance, a stored file of that name with other bytes (409). A name that
        clashes is returned, not raised: the caller audits it first. Used by the one-shot
        upload and by upload sessions (at their creation and again at their commit)."""
        group, product, version, name = where
        ref = f"{group}/{product}@{version}"
        row_group = resolve_group(session, principal, group, Action.UPLOAD)
        row_product = find_product(session, row_group, product)
        row_version = find_version(session, row_group, row_product, version)
        name = validate_file_path(name)
        if role not in FILE_ROLES:
            raise InvalidRequest(f"file role must be one of {', '.join(FILE_ROLES)}", field="role")
        declared = check_declared_sha256(sha256) if sha256 or digest_required else None
        build = check_build(build)
        if size is None:
            raise InvalidRequest("the upload needs a Content-Length", field="size")
        if size > self.settings.max_upload_size:
            raise TooLarge(
                f"file of {size} bytes is over this server's limit of "
                f"{self.settings.max_upload_size} bytes"
            )
        self._check_step(session, principal, row_group, row_product, row_version, role)
        existing = find_file(session, row_version, name)
        if existing is not None and declared is not None and existing.sha256 != declared:
            raise Conflict(
                f"{ref} already holds {name!r} with different content "
                f"(sha256 {existing.sha256}); stored files never change",
                sha256=existing.sha256,
            )
        clash = name_clash(session, row_version, ref, name) if existing is None else None
        return CheckedUpload(
            ref, name, declared, build, row_group.storage_area, row_version.id, clash,
            existing.sha256 if existing is not None else None,
        )  # fmt: skip

    def audit_mismatch(
        self,
        principal: Principal,
        group: str,
        target: str,
        error: IntegrityMismatch,
        declared: str | None,
        size: int,
    ) -> None:
        """Audit an upload refused because its bytes are not what was declared."""
        self.audit.record_refusal(
            principal,
            "file.upload",
            group=group,
            target=target,
            rule=f"integrity.{error.kind}",
            reason=str(error),
            details={"declared_sha256": declared, "declared_size": size},
        )

    def record_stored(
        self,
        principal: Principal,
        stored: BlobRef,
        ref: str,
        where: tuple[str, str, str, str, str],
        *,
        role: str,
        media_type: str | None,
        build: dict[str, str] | None,
    ) -> UploadResult:
        """Write the file row of the blob ``stored`` (checked again under the version's
        lock); when that is refused, bytes no file refers to are removed."""
        group, _, _, name, area = where
        try:
            return self._record_upload(
                principal,
                ref,
                where,
                role=role,
                size=stored.size,
                sha256=stored.sha256,
                media_type=media_type,
                build=build,
            )
        except DepotError as error:
            if stored.created:
                # Refused after its bytes were stored (a race with another upload of the
                # name, or a step taken meanwhile): bytes no file refers to are removed.
                with self.db.write() as session:
                    remove_if_unreferenced(session, self.store, area, stored.sha256)
            if isinstance(error, NameClash):
                self.audit_clash(principal, group, f"{ref}/{name}", error)
            raise

    def audit_clash(self, principal: Principal, group: str, target: str, clash: NameClash) -> None:
        """Audit an upload refused because its name clashes with a stored one."""
        self.audit.record_refusal(
            principal,
            "file.upload",
            group=group,
            target=target,
            rule="name.clash",
            reason=clash.message,
            details={"clashes_with": clash.extra["clashes_with"]},
        )

    def _record_upload(
        self,
        principal: Principal,
        ref: str,
        where: tuple[str, str, str, str, str],
        *,
        role: str,
        size: int,
        sha256: str,
        media_type: str | None,
        build: dict[str, str] | None,
    ) -> UploadResult:
        """Write the file row of a stored upload (its blob's lock held), audited."""
        group, product, version, name, area = where
        with self.db.write() as session:
            row_group = resolve_group(session, principal, group, Action.UPLOAD)
            row_product = find_product(session, row_group, product)
            row_version = find_version(session, row_group, row_product, version, lock=True)
            self._check_step(session, principal, row_group, row_product, row_version, role)
            existing = find_file(session, row_version, name)
            if existing is not None:
                if existing.sha256 != sha256:
                    raise Conflict(f"{ref} already holds {name!r} with different content")
                return UploadResult(FileInfo.of(existing), False, ref)
            clash = name_clash(session, row_version, ref, name)  # under the version's lock
            if clash is not None:
                raise clash
            lock_blob(session, area, sha256)
            if self.store.stat(area, sha256) is None:
                # A refused upload of the same bytes removed them after we stored them.
                raise Conflict(f"the upload of {name!r} raced another one; send it again")
            row = StoredFile(
                version_id=row_version.id,
                name=name,
                role=role,
                size=size,
                sha256=sha256,
                media_type=(
                    media_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
                )[:127],
                uploaded_by=principal.username,
                uploaded_at=self.clock.now(),
                build=json.dumps(build, sort_keys=True) if build else None,
                build_id=(build or {}).get("build_id"),
            )
            session.add(row)
            session.flush()
            self.audit.record(
                session,
                principal,
                "file.upload",
                group=group,
                target=f"{ref}/{name}",
                role=upload_role(principal, group, role),
                details={
                    "sha256": sha256,
                    "size": size,
                    "role": role,
                    **({"build": build} if build else {}),
                },
            )
            return UploadResult(FileInfo.of(row), True, ref)

    def _check_step(
        self,
        session: Session,
        principal: Principal,
        group: Group,
        product: Product,
        version: Version,
        role: str,
    ) -> None:
        """Refuse (audited, with the rule) an upload the lifecycle does not allow now."""
        facts = version_facts(session, group, product, version)
        step = Step.UPLOAD_REPORT if role == "report" else Step.UPLOAD
        decision = decide_step(principal.actor, step, facts)
        enforce(decision, principal, "file.upload", group=group.name, target=facts.ref)

    @records_refusals
    def open_download(
        self,
        principal: Principal,
        group: str,
        product: str,
        version: str,
        name: str,
        *,
        record: bool = True,
        byte_range: str = "",
    ) -> Download:
        """A file the caller may read, ready to stream; the download is audited.

        Group members read a version outside the library; a version in the library is
        served under an approved, unexpired check-out of the caller's; and whoever may
        decide a request about the version reads its files (audited with the request)."""
        ref = f"{group}/{product}@{version}"
        with self.db.read() as session:
            row_group = resolve_group(session, principal, group, Action.BROWSE)
            row_product = find_product(session, row_group, product)
            row_version = find_version(session, row_group, row_product, version)
            row = find_file(session, row_version, name)
            if row is None:
                raise NotFound(f"file {name!r} not found in {ref}")
            requests = requests_of(session, row_version)
            facts = replace(
                version_facts(session, row_group, row_product, row_version),
                blocks=self.plugins.blocks(VersionRef(group, product, version)),
            )
            seen = [request_facts(r) for r in requests]
            decision = decide_read(principal.actor, facts, seen, now=self.clock.now())
            enforce(
                decision,
                principal,
                "file.download",
                group=group,
                target=f"{ref}/{name}",
            )
            info = FileInfo.of(row)
            area = row_group.storage_area
            basis: dict[str, Any] = {}
            if decision.rule == "checkout.approved":
                basis["checkout"] = next(
                    c.id
                    for c in reversed(requests)
                    if c.kind == "checkout"
                    and c.requester == principal.username
                    and c.state == "approved"
                )
            elif decision.rule == "request.review":
                reviewed = review_of(principal.actor, facts, seen)
                assert reviewed is not None
                basis["review"] = requests[reviewed].id
        stored_size = self.store.stat(area, info.sha256)
        if stored_size != info.size:
            self.audit.record_refusal(
                principal,
                "file.download",
                group=group,
                target=f"{ref}/{name}",
                outcome="failed",
                rule="integrity.stored",
                reason=f"blob missing or wrong size in storage (found {stored_size})",
            )
            raise Unavailable(
                f"the stored bytes of {ref}/{name} are missing or damaged; "
                "the administrators have been notified in the audit trail"
            )
        if record:
            details: dict[str, Any] = {"sha256": info.sha256}
            if byte_range:
                details["range"] = byte_range
            details.update(basis)
            with self.db.write() as session:
                self.audit.record(
                    session,
                    principal,
                    "file.download",
                    group=group,
                    target=f"{ref}/{name}",
                    details=details,
                )
        stopped = None
        if self.plugins.can_block:

            def stopped() -> str | None:
                found = [
                    b
                    for b in self.plugins.blocks(VersionRef(group, product, version))
                    if b.stops_use
                ]
                if not found:
                    return None
                reason = f"use of {ref} was stopped: {found[0].reason}"
                self.audit.record_refusal(
                    principal,
                    "file.download",
                    group=group,
                    target=f"{ref}/{name}",
                    outcome="interrupted",
                    rule=found[0].rule,
                    reason=reason,
                )
                return reason

        return Download(
            info, ref, self.store, area, stopped, float(self.settings.download_recheck_seconds)
        )
