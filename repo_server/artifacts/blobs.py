"""Which blobs files refer to, and the lock that keeps a blob's removal apart from a new
file referring to it.

Blobs are content-addressed and shared by every file of an area with the same bytes, so a
blob may be removed only when no file refers to it, and never while an upload of the same
bytes is about to refer to it. Both sides take the blob's lock in their write transaction:
the remover checks for references and removes; the uploader checks the blob is still there
and writes its file row. On PostgreSQL the lock is a transaction-level advisory lock; on
SQLite write transactions (``BEGIN IMMEDIATE``) already run one at a time.
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from sqlalchemy.orm import Session

from repo_server.artifacts.models import Product, StoredFile, Version
from repo_server.db import Database
from repo_server.groups.models import Group
from storage import BlobStore


def lock_blob(session: Session, area: str, sha256: str) -> None:
    """Hold the lock of blob ``sha256`` of ``area`` until the transaction ends."""
    if session.get_bind().dialect.name == "postgresql":
        digest = hashlib.sha256(f"blob:{area}/{sha256}".encode()).digest()
        key = int.from_bytes(digest[:8], "big", signed=True)
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))


def is_referenced(session: Session, area: str, sha256: str) -> bool:
    """Whether a file of ``area`` refers to blob ``sha256``."""
    found = session.scalar(
        sa.select(StoredFile.id)
        .join(Version, StoredFile.version_id == Version.id)
        .join(Product, Version.product_id == Product.id)
        .join(Group, Product.group_id == Group.id)
        .where(Group.storage_area == area, StoredFile.sha256 == sha256)
        .limit(1)
    )
    return found is not None


def remove_if_unreferenced(session: Session, store: BlobStore, area: str, sha256: str) -> bool:
    """Remove blob ``sha256`` of ``area`` if no file refers to it; whether it was removed."""
    lock_blob(session, area, sha256)
    if is_referenced(session, area, sha256):
        return False
    store.remove(area, sha256)
    return True


def referenced_in(session: Session, area: str) -> set[str]:
    """The blobs the files of ``area`` refer to."""
    return set(
        session.scalars(
            sa.select(StoredFile.sha256)
            .join(Version, StoredFile.version_id == Version.id)
            .join(Product, Version.product_id == Product.id)
            .join(Group, Product.group_id == Group.id)
            .where(Group.storage_area == area)
        )
    )


def remove_unreferenced(db: Database, store: BlobStore, older_than: float, now: float) -> list[str]:
    """Remove every blob no file refers to that was stored before ``now - older_than``
    (seconds); a description of each removed blob. Younger ones are spared: an upload
    may be about to refer to them."""
    removed: list[str] = []
    known: dict[str, set[str]] = {}
    for blob in store.iter_blobs():
        if blob.modified >= now - older_than:
            continue
        if blob.area not in known:
            with db.read() as session:
                known = {blob.area: referenced_in(session, blob.area)}
        if blob.sha256 in known[blob.area]:
            continue
        with db.write() as session:
            if remove_if_unreferenced(session, store, blob.area, blob.sha256):
                removed.append(f"areas/{blob.area} {blob.sha256} ({blob.size} bytes, unreferenced)")
    return removed
