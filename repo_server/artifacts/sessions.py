"""Upload sessions: a large file sent in parts, resumable, committed when the whole matches.

A session is created for (version, name, size[, sha256]) with every check of the one-shot
upload (:meth:`TransferService.check_upload`: membership, the lifecycle step, four-eyes
and quarantine rules, the name rules). Part ``n`` covers bytes ``(n-1)*part_size`` up to
the next part; it is sent with the sha256 of the file's bytes up to its end (the running
digest: the client hashes while it sends and reads the file once) and is refused if that
digest disagrees. The server keeps the running hash state with each part, so a part may
arrive on any worker, after a restart or days later, and the commit checks the whole
file's digest without reading a byte back. The commit repeats the one-shot upload's
checks, makes the staged bytes a blob and writes the file row: nothing is visible before.
One writer at a time: a part or commit holds the session for a while (``busy_until``).
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from policies.access import Action
from repo_server.artifacts.lookup import find_product, find_version
from repo_server.artifacts.models import UploadPart, UploadSession
from repo_server.artifacts.transfers import TransferService
from repo_server.artifacts.upload_checks import UploadResult
from repo_server.auth.principal import Principal
from repo_server.errors import Conflict, InvalidRequest, NotFound, Unavailable
from repo_server.lifecycle.facts import records_refusals
from repo_server.visibility import resolve_group
from storage import IntegrityMismatch, StorageError
from storage.base import Readable, StagedPart
from storage.running_hash import RunningHashUnavailable, RunningSha256

#: At most this many parts (S3's limit): a larger file gets larger parts.
MAX_PARTS = 10_000


@dataclass(frozen=True)
class PartInfo:
    """A part the session holds: its number, size, end offset and the running sha256."""

    number: int
    size: int
    end: int
    sha256: str


@dataclass(frozen=True)
class SessionInfo:
    """An upload session as its uploader sees it."""

    id: int
    ref: str
    name: str
    role: str
    size: int
    sha256: str | None
    part_size: int
    part_count: int
    received: int
    parts: tuple[PartInfo, ...]
    created_by: str
    created_at: datetime
    updated_at: datetime


def _info(ref: str, row: UploadSession, parts: list[UploadPart]) -> SessionInfo:
    held = tuple(PartInfo(p.number, p.size, p.end, p.sha256) for p in parts)
    return SessionInfo(
        row.id, ref, row.name, row.role, row.size, row.sha256, row.part_size,
        max(1, math.ceil(row.size / row.part_size)), held[-1].end if held else 0, held,
        row.created_by, row.created_at, row.updated_at,
    )  # fmt: skip


def _owned_by(principal: Principal, group: str) -> sa.ColumnElement[bool]:
    """The sessions ``principal`` may resume: their own, and for a CI identity of the group
    (``ci:<group>:<token>``) those of every CI identity of that group — a retried pipeline
    job signs in with a new token, and a group token is the group's, not a person's."""
    name = principal.username
    if name.startswith(f"ci:{group}:"):
        escaped = group.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return UploadSession.created_by.like(f"ci:{escaped}:%", escape="\\")
    return UploadSession.created_by == name


def _parts(session: Session, row: UploadSession) -> list[UploadPart]:
    return list(
        session.scalars(
            sa.select(UploadPart).where(UploadPart.session_id == row.id).order_by(UploadPart.number)
        )
    )


class UploadSessionService:
    """Creates, fills, commits and removes upload sessions (``/api/v1/.../uploads``)."""

    def __init__(self, transfers: TransferService) -> None:
        self.transfers = transfers
        self.db = transfers.db
        self.audit = transfers.audit
        self.clock = transfers.clock
        self.store = transfers.store
        self.settings = transfers.settings

    def _lease(self) -> timedelta:
        return timedelta(seconds=2 * self.settings.body_timeout + 30)

    def _find(
        self, session: Session, principal: Principal, where: tuple[str, str, str], number: int,
        *, lock: bool = False,
    ) -> tuple[str, UploadSession]:  # fmt: skip
        group, product, version = where
        row_group = resolve_group(session, principal, group, Action.UPLOAD)
        row_product = find_product(session, row_group, product)
        row_version = find_version(session, row_group, row_product, version)
        query = sa.select(UploadSession).where(
            UploadSession.id == number,
            UploadSession.version_id == row_version.id,
            _owned_by(principal, group),
        )
        row = session.scalar(query.with_for_update() if lock else query)
        if row is None:
            raise NotFound(f"no upload session {number} of yours in {group}/{product}@{version}")
        return f"{group}/{product}@{row_version.version}", row

    @records_refusals
    def create(
        self,
        principal: Principal,
        where: tuple[str, str, str],
        name: str,
        *,
        size: int,
        sha256: str | None = None,
        role: str = "artifact",
        media_type: str | None = None,
        build: dict[str, str] | None = None,
    ) -> tuple[SessionInfo, bool]:
        """The caller's open session for this file (same name, size and declared digest),
        to resume, or a new one; ``True`` when it is new. Refused exactly as the one-shot
        upload of the file would be, before anything is staged."""
        group = where[0]
        if size < 1:
            raise InvalidRequest(
                "an upload session is for a file of at least one byte", field="size"
            )
        with self.db.read() as session:
            checked = self.transfers.check_upload(
                session, principal, (*where, name), role=role, size=size, sha256=sha256,
                build=build, digest_required=False,
            )  # fmt: skip
            if checked.clash is not None:
                self.transfers.audit_clash(
                    principal, group, f"{checked.ref}/{checked.name}", checked.clash
                )
                raise checked.clash
            found = session.scalar(
                sa.select(UploadSession)
                .where(
                    UploadSession.version_id == checked.version_id,
                    UploadSession.name == checked.name,
                    UploadSession.size == size,
                    UploadSession.role == role,
                    _owned_by(principal, group),
                )
                .order_by(UploadSession.id.desc())
                .limit(1)
            )
            if found is not None and found.sha256 in (None, checked.sha256):
                return _info(checked.ref, found, _parts(session, found)), False
        part_size = max(
            self.settings.upload_part_size, math.ceil(size / MAX_PARTS / (1 << 20)) << 20
        )
        try:
            staging = self.store.begin_staging()
        except StorageError as error:
            raise Unavailable(f"the blob store cannot stage an upload: {error}") from error
        now = self.clock.now()
        with self.db.write() as session:
            row = UploadSession(
                version_id=checked.version_id, name=checked.name, role=role, size=size,
                sha256=checked.sha256, part_size=part_size, staging=staging,
                media_type=media_type, build=json.dumps(checked.build, sort_keys=True)
                if checked.build else None, created_by=principal.username,
                created_at=now, updated_at=now,
            )  # fmt: skip
            session.add(row)
            session.flush()
            self.audit.record(
                session, principal, "upload.begin", group=group,
                target=f"{checked.ref}/{checked.name}",
                details={"session": row.id, "size": size, "part_size": part_size},
            )  # fmt: skip
            return _info(checked.ref, row, []), True

    def get(self, principal: Principal, where: tuple[str, str, str], number: int) -> SessionInfo:
        """One of the caller's sessions with the parts it holds (what to send next)."""
        with self.db.read() as session:
            ref, row = self._find(session, principal, where, number)
            return _info(ref, row, _parts(session, row))

    @contextlib.contextmanager
    def _held(
        self, principal: Principal, where: tuple[str, str, str], number: int
    ) -> Iterator[tuple[str, UploadSession, list[UploadPart]]]:
        """Hold the session (one writer at a time) while the block moves bytes."""
        now = self.clock.now()
        with self.db.write() as session:
            ref, row = self._find(session, principal, where, number, lock=True)
            if row.busy_until is not None and row.busy_until > now:
                raise Conflict(
                    f"upload session {number} is receiving a part from another request; "
                    "try again when it is done",
                    rule="upload.busy",
                )
            row.busy_until = now + self._lease()
            session.flush()
            session.expunge(row)
            parts = _parts(session, row)
            for part in parts:
                session.expunge(part)
        try:
            yield ref, row, parts
        finally:
            if row.busy_until is not None:  # not released by the block itself
                with self.db.write() as session:
                    session.execute(
                        sa.update(UploadSession)
                        .where(UploadSession.id == number)
                        .values(busy_until=None)
                    )

    @records_refusals
    def put_part(
        self,
        principal: Principal,
        where: tuple[str, str, str],
        number: int,
        part: int,
        *,
        source: Readable,
        size: int | None,
        sha256: str | None,
    ) -> tuple[PartInfo, bool]:
        """Store part ``part`` from ``source``; ``sha256`` is the digest of the file's bytes
        up to the part's end. ``True`` when stored now, ``False`` when the session held this
        very part already. The parts arrive in order; a part sent again with another
        digest is a 409, one whose bytes disagree with its digest a 422 (nothing kept)."""
        if not sha256:
            raise InvalidRequest(
                "send the sha256 of the file up to the part's end (X-Checksum-Sha256)",
                field="sha256",
            )
        declared = sha256.strip().lower()
        if len(declared) != 64 or any(c not in "0123456789abcdef" for c in declared):
            raise InvalidRequest(
                "the declared sha256 must be 64 hexadecimal digits", field="sha256"
            )
        with self._held(principal, where, number) as (ref, row, parts):
            count = max(1, math.ceil(row.size / row.part_size))
            if not 1 <= part <= count:
                raise InvalidRequest(f"part must be from 1 to {count}", field="part")
            start = (part - 1) * row.part_size
            expected = min(row.part_size, row.size - start)
            if part <= len(parts):
                held = parts[part - 1]
                if held.sha256 != declared:
                    raise Conflict(
                        f"the session holds part {part} with sha256 {held.sha256} up to its "
                        "end; parts held never change (begin a new session for other bytes)",
                        sha256=held.sha256,
                    )
                return PartInfo(held.number, held.size, held.end, held.sha256), False
            if part != len(parts) + 1:
                raise Conflict(
                    f"the session holds {len(parts)} part(s): send part {len(parts) + 1} next",
                    received=parts[-1].end if parts else 0,
                )
            if size is None:
                raise InvalidRequest("the part needs a Content-Length", field="size")
            if size != expected:
                raise InvalidRequest(f"part {part} is {expected} bytes, not {size}", field="size")
            try:
                hasher = RunningSha256(parts[-1].state if parts else None)
            except RunningHashUnavailable as error:
                raise Unavailable(f"cannot resume the session's digest: {error}") from error
            target = f"{ref}/{row.name}"
            try:
                staged = self.store.stage_part(
                    row.staging, part, start, source, size=size, sha256=declared, hasher=hasher
                )
            except IntegrityMismatch as error:
                self.transfers.audit_mismatch(principal, where[0], target, error, declared, size)
                raise
            with self.db.write() as session:
                session.add(
                    UploadPart(
                        session_id=row.id, number=part, size=size, end=start + size,
                        sha256=declared, state=hasher.state, etag=staged.etag,
                    )
                )  # fmt: skip
                session.execute(  # recorded and released in one transaction
                    sa.update(UploadSession)
                    .where(UploadSession.id == row.id)
                    .values(updated_at=self.clock.now(), busy_until=None)
                )
            row.busy_until = None
            return PartInfo(part, size, start + size, declared), True

    @records_refusals
    def commit(
        self, principal: Principal, where: tuple[str, str, str], number: int, sha256: str | None
    ) -> UploadResult:
        """Make the session's bytes the file, if their size and sha256 are the whole file's
        (``sha256`` here, and the one declared at the start if any): checked again as a
        one-shot upload would be, then stored and recorded; the session is gone. A digest
        that disagrees is a 422 and removes the session (nothing is visible); a session
        that does not hold every byte yet is a 409 saying how many it holds."""
        with self._held(principal, where, number) as (ref, row, parts):
            received = parts[-1].end if parts else 0
            target = f"{ref}/{row.name}"
            if received != row.size:
                raise Conflict(
                    f"the session holds {received} of the {row.size} bytes of {row.name!r}: "
                    "send the missing parts first",
                    received=received,
                )
            actual = parts[-1].sha256
            declared = (sha256 or row.sha256 or "").strip().lower()
            if not declared:
                raise InvalidRequest(
                    "declare the whole file's sha256 so the server can verify it",
                    field="sha256",
                )
            for claimed in {declared, row.sha256 or declared}:
                if claimed != actual:
                    error = IntegrityMismatch("sha256", claimed or "(none)", actual)
                    self.transfers.audit_mismatch(
                        principal, where[0], target, error, claimed, row.size
                    )
                    self._remove(row.id, row.staging)
                    raise error
            build = json.loads(row.build) if row.build else None
            with self.db.read() as session:
                checked = self.transfers.check_upload(
                    session, principal, (*where, row.name), role=row.role, size=row.size,
                    sha256=actual, build=build,
                )  # fmt: skip
            if checked.clash is not None:
                self.transfers.audit_clash(principal, where[0], target, checked.clash)
                raise checked.clash
            try:
                stored = self.store.commit_staging(
                    row.staging, checked.area, actual, row.size,
                    [StagedPart(p.number, p.etag) for p in parts],
                )  # fmt: skip
            except StorageError as error:
                raise Unavailable(f"the blob store could not commit {target}: {error}") from error
            self._remove(row.id, None)
            return self.transfers.record_stored(
                principal, stored, ref, (*where, row.name, checked.area), role=row.role,
                media_type=row.media_type, build=checked.build,
            )  # fmt: skip

    @records_refusals
    def abort(self, principal: Principal, where: tuple[str, str, str], number: int) -> None:
        """Remove one of the caller's sessions and its staged bytes."""
        with self._held(principal, where, number) as (_, row, _parts_held):
            self._remove(row.id, row.staging)

    def _remove(self, number: int, staging: str | None) -> None:
        if staging is not None:
            with contextlib.suppress(StorageError):  # else gc tries again
                self.store.abort_staging(staging)
        with self.db.write() as session:
            session.execute(sa.delete(UploadPart).where(UploadPart.session_id == number))
            session.execute(sa.delete(UploadSession).where(UploadSession.id == number))

    def remove_idle(self, older_than: float) -> list[str]:
        """Remove every session idle for ``older_than`` seconds and its staged bytes (called
        by ``depot-server gc``); a description of each."""
        cutoff = self.clock.now() - timedelta(seconds=older_than)
        with self.db.read() as session:
            idle = [
                (row.id, row.staging, row.name, row.size)
                for row in session.scalars(
                    sa.select(UploadSession).where(UploadSession.updated_at < cutoff)
                )
            ]
        removed = []
        for number, staging, name, size in idle:
            self.store.abort_staging(staging)
            self._remove(number, None)
            removed.append(f"upload session {number} of {name!r} ({size} bytes, idle)")
        return removed
