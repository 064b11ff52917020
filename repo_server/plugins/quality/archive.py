"""The quality archive (质量档案): per version its build batch, build date and end of
support, for tracing; versions past their end of support get no new check-outs."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa

from repo_server.plugin_api import (
    EVERYTHING,
    Caller,
    InvalidRequest,
    Page,
    PageRequest,
    PluginContext,
    VersionFacts,
    iso,
    page_of,
)
from repo_server.plugins.quality import rules
from repo_server.plugins.quality.common import day, enforce, visible_to, who
from repo_server.plugins.quality.models import ArchiveEntry, ProductSupport
from repo_server.plugins.quality.support import Support, as_date


def archive_json(
    group: str,
    product: str,
    version: str,
    row: ArchiveEntry | None,
    facts: VersionFacts | None,
    now: Any,
    product_end: date | None = None,
) -> dict[str, Any]:
    """The archive facts of one version: what was recorded, else what the upload says."""
    recorded = row is not None and row.build_batch is not None
    batch = (
        [b for b in (row.build_batch or "").split(",") if b]
        if row is not None and row.build_batch is not None
        else list(facts.build_ids if facts else ())
    )
    build_date = row.build_date if row is not None and row.build_date else None
    if build_date is None and facts is not None and facts.built_at is not None:
        build_date = facts.built_at.date()
    end = row.end_of_support if row is not None else None
    return {
        "ref": f"{group}/{product}@{version}",
        "group": group,
        "product": product,
        "version": version,
        "build_batch": batch,
        "build_batch_source": "archive" if recorded else "upload",
        "build_date": build_date.isoformat() if build_date else None,
        "end_of_support": end.isoformat() if end else None,
        "product_end_of_support": product_end.isoformat() if product_end else None,
        "past_end_of_support": rules.past_end_of_support(rules.earliest(end, product_end), now),
        "updated_by": row.updated_by if row is not None else None,
        "updated_at": iso(row.updated_at) if row is not None else None,
    }


class Archive:
    """The archive services of one server."""

    def __init__(self, context: PluginContext, support: Support) -> None:
        self.context = context
        self.support = support

    def _json(self, facts: VersionFacts, row: ArchiveEntry | None) -> dict[str, Any]:
        return archive_json(
            facts.group,
            facts.product,
            facts.version,
            row,
            facts,
            self.context.now(),
            self.support.product_end(facts.group, facts.product),
        )

    def _row(self, group: str, product: str, version: str) -> ArchiveEntry | None:
        with self.context.read() as session:
            return session.scalar(
                sa.select(ArchiveEntry).where(
                    ArchiveEntry.group_name == group,
                    ArchiveEntry.product == product,
                    ArchiveEntry.version == version,
                )
            )

    def get(self, caller: Caller, group: str, product: str, version: str) -> dict[str, Any]:
        """The archive facts of a version ``caller`` may see (404 otherwise)."""
        facts = self.context.version(caller, group, product, version)
        return self._json(facts, self._row(facts.group, facts.product, facts.version))

    def of(self, facts: VersionFacts) -> dict[str, Any]:
        """The archive facts of a version already shown to its caller (the version panel)."""
        return self._json(facts, self._row(facts.group, facts.product, facts.version))

    def put(
        self, caller: Caller, group: str, product: str, version: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        """Record the end of support, the build date or the build batch of a version (the
        quality manager, a version manager or the group's software manager). A field sent
        as ``null`` or ``""`` goes back to the default (nothing, or the upload's facts)."""
        facts = self.context.version(caller, group, product, version)
        known = {"end_of_support", "build_date", "build_batch"}
        unknown = sorted(set(body) - known)
        if unknown:
            raise InvalidRequest(f"unknown field {unknown[0]!r}", field=unknown[0])
        if not body:
            raise InvalidRequest(
                "send end_of_support, build_date or build_batch", field="end_of_support"
            )
        changes: dict[str, Any] = {}
        if "end_of_support" in body:
            changes["end_of_support"] = day(body["end_of_support"], "end_of_support")
        if "build_date" in body:
            changes["build_date"] = day(body["build_date"], "build_date")
        if "build_batch" in body:
            batch = body["build_batch"]
            if batch is not None and (
                not isinstance(batch, list)
                or not all(isinstance(b, str) and b.strip() and "," not in b for b in batch)
            ):
                raise InvalidRequest(
                    "field 'build_batch' must be a list of build identifiers (no commas)",
                    field="build_batch",
                )
            changes["build_batch"] = ",".join(b.strip() for b in batch) if batch else None
        ref = str(facts.ref)
        enforce(
            self.context,
            caller,
            rules.may_set_archive(who(caller), facts.group),
            "quality.archive.update",
            ref,
            group=facts.group,
        )
        now = self.context.now()
        with self.context.write() as session:
            row = session.scalar(
                sa.select(ArchiveEntry).where(
                    ArchiveEntry.group_name == facts.group,
                    ArchiveEntry.product == facts.product,
                    ArchiveEntry.version == facts.version,
                )
            )
            if row is None:
                row = ArchiveEntry(
                    group_name=facts.group, product=facts.product, version=facts.version
                )
                session.add(row)
            for name, value in changes.items():
                setattr(row, name, value)
            row.updated_by, row.updated_at = caller.username, now
            session.flush()
            self.context.record(
                session,
                caller,
                "quality.archive.update",
                target=ref,
                group=facts.group,
                details={
                    k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in changes.items()
                },
            )
            return archive_json(
                facts.group,
                facts.product,
                facts.version,
                row,
                facts,
                now,
                self.support.product_end(facts.group, facts.product),
            )

    def past_end_of_support(
        self, caller: Caller, page: PageRequest = EVERYTHING
    ) -> Page[dict[str, Any]]:
        """A page of the versions ``caller`` may see whose support has ended (their own
        date or their product's), oldest end first. The rule joins two tables and the
        core's versions, so the list is computed whole and paged by (end, ref)."""
        now = self.context.now()
        with self.context.read() as session:
            products = session.scalars(
                sa.select(ProductSupport).where(
                    ProductSupport.end_of_support <= now.date(),
                    visible_to(caller, ProductSupport.group_name),
                )
            ).all()
            ends = {(p.group_name, p.product): as_date(p.end_of_support) for p in products}
            past = ArchiveEntry.end_of_support <= now.date()
            if ends:
                named = sa.tuple_(ArchiveEntry.group_name, ArchiveEntry.product).in_(sorted(ends))
                past = sa.or_(past, named)
            rows = session.scalars(
                sa.select(ArchiveEntry).where(past, visible_to(caller, ArchiveEntry.group_name))
            ).all()
        own = {(r.group_name, r.product, r.version): r for r in rows}
        names = {
            k for k, r in own.items() if rules.past_end_of_support(as_date(r.end_of_support), now)
        }
        by_product = self.context.versions_of_products(sorted(ends))
        names |= {(f.group, f.product, f.version) for f in by_product}
        facts = {
            (f.group, f.product, f.version): f for f in self.context.versions_by_name(sorted(names))
        }
        found = [
            archive_json(*key, own.get(key), facts.get(key), now, ends.get(key[:2]))
            for key in sorted(names)
        ]
        return page_of(
            found,
            page,
            scope="quality.archive.ended",
            key=lambda a: (
                min(d for d in (a["end_of_support"], a["product_end_of_support"]) if d),
                a["ref"],
            ),
            width=2,
        )
