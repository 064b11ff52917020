"""Signing the library index of a product: every version in the library, its manifest
and its state, under a serial that only grows (:mod:`policies.trust.library`).

Called by :meth:`repo_server.trust.queries.TrustQueries.library_index` whenever a client
asks, inside that request's write transaction: the state of each version comes from its
own signed status (re-signed first if due, with what plugins report as stopping use), and
the index is signed anew with the next serial when what it lists changed or a third of
its lifetime is left. A version leaves the index never: retired and quarantined versions
stay listed with that state.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from policies.lifecycle import Block
from policies.trust.library import LIBRARY, LibraryEntry, LibraryIndex
from repo_server.artifacts.models import Product, Version
from repo_server.clock import Clock
from repo_server.groups.models import Group
from repo_server.settings import Settings
from repo_server.trust.keystore import KeyStore
from repo_server.trust.models import LibraryIndexRecord
from repo_server.trust.services import STATUS_REFRESH_FRACTION, SigningService


def entries_digest(entries: Sequence[LibraryEntry]) -> str:
    """The sha256 of what an index lists (to know whether it must be signed anew)."""
    text = json.dumps([e.to_json() for e in entries], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


class LibraryIndexService:
    """The signed library index of each product of one server."""

    def __init__(
        self, keys: KeyStore, clock: Clock, settings: Settings, signing: SigningService
    ) -> None:
        self.keys = keys
        self.clock = clock
        self.settings = settings
        self.signing = signing

    def entries(
        self,
        session: Session,
        group: Group,
        product: Product,
        blocks_of: Callable[[str], Sequence[Block]],
    ) -> list[LibraryEntry]:
        """Every checked-in version of ``product`` with the state of its fresh status."""
        versions = session.scalars(
            sa.select(Version)
            .where(Version.product_id == product.id, Version.manifest_sha256.is_not(None))
            .order_by(Version.library_number)
        ).all()
        found: list[LibraryEntry] = []
        for version in versions:
            status = self.signing.fresh_status(
                session,
                group=group,
                product=product,
                version=version,
                blocks=blocks_of(version.version),
            )
            if status is None or version.library_number is None:
                continue  # signed at check-in together with its status; never half there
            assert version.manifest_sha256 is not None
            found.append(
                LibraryEntry(
                    version.library_number, version.version, version.manifest_sha256, status.state
                )
            )
        return found

    def fresh_index(
        self,
        session: Session,
        *,
        group: Group,
        product: Product,
        blocks_of: Callable[[str], Sequence[Block]],
    ) -> LibraryIndexRecord:
        """The index of ``product``, signed anew when its entries changed or it is due."""
        entries = self.entries(session, group, product, blocks_of)
        digest = entries_digest(entries)
        row = session.get(LibraryIndexRecord, product.id, with_for_update=True)
        now = self.clock.now().replace(microsecond=0)
        margin = timedelta(seconds=self.settings.status_ttl / STATUS_REFRESH_FRACTION)
        if (
            row is not None
            and row.digest == digest
            and row.expires_at - now > margin
            and self.keys.signed_by_current("status", row.envelope, session)
        ):
            return row
        serial = (row.serial if row else 0) + 1
        expires = now + timedelta(seconds=self.settings.status_ttl)
        index = LibraryIndex(
            repository=self.keys.current(session).repository,
            group=group.name,
            product=product.name,
            serial=serial,
            issued=now,
            expires=expires,
            versions=tuple(entries),
        )
        envelope = self.keys.sign("status", LIBRARY, index.to_payload()).to_bytes()
        if row is None:
            row = LibraryIndexRecord(product_id=product.id)
            session.add(row)
        row.serial, row.digest, row.envelope, row.expires_at = serial, digest, envelope, expires
        session.flush()
        return row
