"""``depot-server scrub``: re-hash every stored blob against the database.

For each group's storage area, streams every blob of the area through sha256 and compares
it with the key it is stored under and with the sizes the database recorded. Reports
- ``missing``: a file the database lists whose blob is not in the store;
- ``changed``: a blob whose bytes no longer hash to its name (or have another size);
- ``unreferenced``: a blob no file of the database points to. Not damage: the bytes of an
  upload that was cut off or refused after they were stored, which ``depot-server gc``
  removes once they are older than its ``--older-than``. (A file row deleted from the
  database also leaves its blob unreferenced; ``audit verify`` finds that, against the log.)

Memory stays bounded (one chunk at a time, one area's checksums at a time). Progress is
saved after every blob to a state file, so ``--resume`` carries on after an interruption.
The finished scrub is recorded in the audit trail.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from repo_server.artifacts.models import Product, StoredFile, Version
from repo_server.audit.services import AuditLog
from repo_server.auth.principal import Principal
from repo_server.db import Database
from repo_server.groups.models import Group
from storage import BlobStore, StorageError

#: Seconds between saves of the progress file.
SAVE_EVERY = 1.0


@dataclass
class ScrubState:
    """Progress and findings so far (what the state file holds)."""

    done_areas: list[str] = field(default_factory=list)
    area: str | None = None
    last_sha256: str = ""
    checked: int = 0
    bytes: int = 0
    missing: list[dict[str, Any]] = field(default_factory=list)
    changed: list[dict[str, Any]] = field(default_factory=list)
    unreferenced: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No damage: nothing missing, nothing changed (unreferenced blobs are gc's)."""
        return not (self.missing or self.changed)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


class Scrubber:
    """Scrubs the blob store of one server."""

    def __init__(
        self,
        db: Database,
        store: BlobStore,
        audit: AuditLog,
        state_file: Path,
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        self.db = db
        self.store = store
        self.audit = audit
        self.state_file = state_file
        self.progress = progress or (lambda done, total: None)
        self._saved_at = 0.0

    def total_bytes(self) -> int:
        """The bytes of every distinct referenced blob: the work ahead, for progress."""
        with self.db.read() as session:
            sub = (
                sa.select(
                    Group.storage_area,
                    StoredFile.sha256,
                    sa.func.max(StoredFile.size).label("size"),
                )
                .join(Version, StoredFile.version_id == Version.id)
                .join(Product, Version.product_id == Product.id)
                .join(Group, Product.group_id == Group.id)
                .group_by(Group.storage_area, StoredFile.sha256)
                .subquery()
            )
            return int(session.scalar(sa.select(sa.func.coalesce(sa.func.sum(sub.c.size), 0))) or 0)

    def run(self, principal: Principal, *, resume: bool = False) -> ScrubState:
        state = self._load() if resume else ScrubState()
        total = self.total_bytes()
        with self.db.read() as session:
            areas = list(
                session.scalars(sa.select(Group.storage_area).order_by(Group.storage_area))
            )
        try:
            for area in areas:
                if area in state.done_areas:
                    continue
                self._scrub_area(state, area, total)
                state.done_areas.append(area)
                state.area, state.last_sha256 = None, ""
                self._save(state)
        except BaseException:  # interrupted (Ctrl-C, a lost connection): keep the progress
            self._save(state)
            raise
        with self.db.write() as session:
            self.audit.record(
                session,
                principal,
                "storage.scrub",
                target=self.store.description,
                outcome="ok" if state.ok else "failed",
                reason="" if state.ok else "the blob store does not match the database",
                details={
                    "checked": state.checked,
                    "bytes": state.bytes,
                    "missing": len(state.missing),
                    "changed": len(state.changed),
                    "unreferenced": len(state.unreferenced),
                },
            )
        self.state_file.unlink(missing_ok=True)
        return state

    def _referenced(self, area: str) -> dict[str, tuple[int, str]]:
        """sha256 -> (size, an example file) of the files stored in ``area``."""
        with self.db.read() as session:
            rows = session.execute(
                sa.select(
                    StoredFile.sha256,
                    StoredFile.size,
                    Product.name,
                    Version.version,
                    StoredFile.name,
                )
                .join(Version, StoredFile.version_id == Version.id)
                .join(Product, Version.product_id == Product.id)
                .join(Group, Product.group_id == Group.id)
                .where(Group.storage_area == area)
            ).all()
        return {
            sha: (size, f"{product}@{version}/{name}") for sha, size, product, version, name in rows
        }

    def _scrub_area(self, state: ScrubState, area: str, total: int) -> None:
        referenced = self._referenced(area)
        resuming = state.area == area
        state.area = area
        seen: set[str] = set()
        for blob in self.store.iter_blobs(area):
            seen.add(blob.sha256)
            if resuming and blob.sha256 <= state.last_sha256:
                continue
            expected = referenced.get(blob.sha256)
            if expected is None:
                state.unreferenced.append({"area": area, "sha256": blob.sha256, "size": blob.size})
                state.last_sha256 = blob.sha256
                continue
            actual, size = self._hash(area, blob.sha256)
            state.checked += 1
            state.bytes += size
            state.last_sha256 = blob.sha256
            if actual != blob.sha256 or size != expected[0]:
                state.changed.append(
                    {
                        "area": area,
                        "sha256": blob.sha256,
                        "file": expected[1],
                        "actual_sha256": actual,
                        "size": expected[0],
                        "actual_size": size,
                    }
                )
            if time.monotonic() - self._saved_at > SAVE_EVERY:
                self._save(state)
            self.progress(state.bytes, total)
        for sha, (size, example) in sorted(referenced.items()):
            if sha not in seen:
                state.missing.append({"area": area, "sha256": sha, "file": example, "size": size})

    def _hash(self, area: str, sha: str) -> tuple[str, int]:
        digest = hashlib.sha256()
        size = 0
        try:
            with self.store.open(area, sha) as reader:
                for chunk in reader:
                    digest.update(chunk)
                    size += len(chunk)
        except StorageError:
            return "unreadable", size
        return digest.hexdigest(), size

    def _load(self) -> ScrubState:
        try:
            return ScrubState(**json.loads(self.state_file.read_text()))
        except FileNotFoundError:
            return ScrubState()

    def _save(self, state: ScrubState) -> None:
        self._saved_at = time.monotonic()
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(state)))
        os.replace(tmp, self.state_file)
