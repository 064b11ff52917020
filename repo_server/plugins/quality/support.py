"""End of support (保质期): a version, or a whole product, has an end-of-support date; from
that day on its versions are withdrawn (no check-out, no download under a check-out
approved before) and a retirement request is prepared for the version manager, once.

The decision hook (:meth:`Support.blocks`) runs inside the core's transactions, so it
never writes there: it hands the filing of a retirement request to
:meth:`PluginContext.after_write`, which runs it once that transaction ended.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa

from repo_server.plugin_api import (
    EVERYTHING,
    Block,
    Caller,
    InvalidRequest,
    Page,
    PageRequest,
    PluginContext,
    VersionEvent,
    VersionRef,
    fetch,
    iso,
)
from repo_server.plugins.quality import rules
from repo_server.plugins.quality.common import day, enforce, visible_to, who
from repo_server.plugins.quality.models import ArchiveEntry, ProductSupport, Retirement

LIMIT = 500
PREPARE = "quality.retirement.prepare"


def as_date(value: Any) -> date | None:
    """A date column's value (SQLite may hand back text)."""
    if value is None or isinstance(value, date):
        return value
    return rules.parse_date(str(value)[:10])


def retirement_json(row: Retirement) -> dict[str, Any]:
    return {
        "ref": row.ref,
        "group": row.group_name,
        "product": row.product,
        "version": row.version,
        "end_of_support": as_date(row.end_of_support).isoformat(),  # type: ignore[union-attr]
        "prepared_at": iso(row.prepared_at),
        "state": row.state,
        "retired_by": row.retired_by,
        "retired_at": iso(row.retired_at),
        "reason": rules.withdrawn_reason(as_date(row.end_of_support)),  # type: ignore[arg-type]
    }


class Support:
    """End of support of one server: the dates, the withdrawal, the retirement requests."""

    def __init__(self, context: PluginContext) -> None:
        self.context = context

    # -- the dates ---------------------------------------------------------------------

    def end_of(self, group: str, product: str, version: str) -> date | None:
        """The version's end of support: its own or its product's, whichever comes first."""
        with self.context.read() as session:
            own = session.scalar(
                sa.select(ArchiveEntry.end_of_support).where(
                    ArchiveEntry.group_name == group,
                    ArchiveEntry.product == product,
                    ArchiveEntry.version == version,
                )
            )
            whole = session.scalar(
                sa.select(ProductSupport.end_of_support).where(
                    ProductSupport.group_name == group, ProductSupport.product == product
                )
            )
        return rules.earliest(as_date(own), as_date(whole))

    def product_end(self, group: str, product: str) -> date | None:
        with self.context.read() as session:
            return as_date(
                session.scalar(
                    sa.select(ProductSupport.end_of_support).where(
                        ProductSupport.group_name == group, ProductSupport.product == product
                    )
                )
            )

    def get_product(self, caller: Caller, group: str, product: str) -> dict[str, Any]:
        """A product's end of support (404 for a product ``caller`` cannot see)."""
        facts = self.context.product(caller, group, product)
        return self._product_json(facts.group, facts.name)

    def _product_json(self, group: str, product: str) -> dict[str, Any]:
        end = self.product_end(group, product)
        return {
            "group": group,
            "product": product,
            "end_of_support": end.isoformat() if end else None,
            "past_end_of_support": rules.past_end_of_support(end, self.context.now()),
        }

    def put_product(
        self, caller: Caller, group: str, product: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        """Set (or, with ``null``/``""``, clear) the end of support of a whole product:
        the quality manager, a version manager or the group's software manager."""
        facts = self.context.product(caller, group, product)
        unknown = sorted(set(body) - {"end_of_support"})
        if unknown:
            raise InvalidRequest(f"unknown field {unknown[0]!r}", field=unknown[0])
        if "end_of_support" not in body:
            raise InvalidRequest("send end_of_support", field="end_of_support")
        end = day(body["end_of_support"], "end_of_support")
        target = f"{facts.group}/{facts.name}"
        enforce(
            self.context,
            caller,
            rules.may_set_archive(who(caller), facts.group),
            "quality.archive.update",
            target,
            group=facts.group,
        )
        with self.context.write() as session:
            row = session.scalar(
                sa.select(ProductSupport).where(
                    ProductSupport.group_name == facts.group, ProductSupport.product == facts.name
                )
            )
            if row is None:
                row = ProductSupport(group_name=facts.group, product=facts.name)
                session.add(row)
            row.end_of_support = end
            row.updated_by, row.updated_at = caller.username, self.context.now()
            session.flush()
            self.context.record(
                session,
                caller,
                "quality.archive.update",
                target=target,
                group=facts.group,
                details={"end_of_support": end.isoformat() if end else None, "product": True},
            )
        return self._product_json(facts.group, facts.name)

    # -- the withdrawal ----------------------------------------------------------------

    def blocks(self, ref: VersionRef) -> list[Block]:
        """A version past its end of support is withdrawn: every use stops (rule
        ``quality.end_of_support``). The first time the server sees it, a retirement
        request is prepared (after the caller's transaction, once)."""
        end = self.end_of(ref.group, ref.product, ref.version)
        if end is None or not rules.past_end_of_support(end, self.context.now()):
            return []
        if not self._filed(ref):
            self.context.after_write(lambda: self._prepare_one(ref))
        return [Block(rules.END_OF_SUPPORT_RULE, rules.withdrawn_reason(end))]

    def _prepare_one(self, ref: VersionRef) -> None:
        self.prepare([ref])

    def _filed(self, ref: VersionRef) -> bool:
        with self.context.read() as session:
            return (
                session.scalar(
                    sa.select(Retirement.id).where(
                        Retirement.group_name == ref.group,
                        Retirement.product == ref.product,
                        Retirement.version == ref.version,
                    )
                )
                is not None
            )

    def prepare(self, refs: list[VersionRef]) -> list[str]:
        """File a retirement request for each of ``refs`` that is in the library (checked
        in), past its end of support and has none yet; audited as
        ``quality.retirement.prepare`` by the server. Returns the refs filed."""
        facts = self.context.versions_by_name([(r.group, r.product, r.version) for r in refs])
        now = self.context.now()
        filed: list[str] = []
        for version in facts:
            if version.state != "checked_in":
                continue
            end = self.end_of(version.group, version.product, version.version)
            if end is None or not rules.past_end_of_support(end, now):
                continue
            try:
                with self.context.write() as session:
                    if session.scalar(
                        sa.select(Retirement.id).where(
                            Retirement.group_name == version.group,
                            Retirement.product == version.product,
                            Retirement.version == version.version,
                        )
                    ):
                        continue
                    session.add(
                        Retirement(
                            group_name=version.group,
                            product=version.product,
                            version=version.version,
                            end_of_support=end,
                            prepared_at=now,
                            state="open",
                        )
                    )
                    session.flush()
                    self.context.record(
                        session,
                        None,
                        PREPARE,
                        target=str(version.ref),
                        group=version.group,
                        rule=rules.END_OF_SUPPORT_RULE,
                        reason=rules.withdrawn_reason(end),
                        details={"end_of_support": end.isoformat()},
                    )
            except sa.exc.IntegrityError:
                continue  # another request filed it at the same moment
            filed.append(str(version.ref))
        return filed

    def sweep(self) -> list[str]:
        """Prepare the retirement requests of every version past its end of support that
        has none yet (the list and the overview call it: nothing waits for a read)."""
        today = self.context.now().date()
        with self.context.read() as session:
            # Only versions without a request yet, so that each sweep makes progress even
            # when more than LIMIT are past their end (the next read prepares the rest).
            own = session.execute(
                sa.select(ArchiveEntry.group_name, ArchiveEntry.product, ArchiveEntry.version)
                .where(ArchiveEntry.end_of_support <= today)
                .where(
                    ~sa.exists().where(
                        Retirement.group_name == ArchiveEntry.group_name,
                        Retirement.product == ArchiveEntry.product,
                        Retirement.version == ArchiveEntry.version,
                    )
                )
                .limit(LIMIT)
            ).all()
            # Products past their end are few (a product's end is set by hand); all of them
            # are read, so that none is passed over.
            products = session.execute(
                sa.select(ProductSupport.group_name, ProductSupport.product).where(
                    ProductSupport.end_of_support <= today
                )
            ).all()
            filed = {
                (g, p, v)
                for g, p, v in session.execute(
                    sa.select(Retirement.group_name, Retirement.product, Retirement.version)
                )
            }
        found = {(g, p, v) for g, p, v in own}
        found |= {
            (f.group, f.product, f.version)
            for f in self.context.versions_of_products([(g, p) for g, p in products])
        }
        missing = sorted(found - filed)
        return self.prepare([VersionRef(*names) for names in missing]) if missing else []

    def retirements(
        self, caller: Caller, page: PageRequest = EVERYTHING, *, all_: bool = False
    ) -> Page[dict[str, Any]]:
        """A page of the retirement requests of the groups ``caller`` may see (open ones,
        or all), oldest end of support first, then by name."""
        self.sweep()
        with self.context.read() as session:
            query = sa.select(Retirement).where(visible_to(caller, Retirement.group_name))
            if not all_:
                query = query.where(Retirement.state == "open")
            rows = fetch(
                session,
                query,
                (
                    Retirement.end_of_support,
                    Retirement.group_name,
                    Retirement.product,
                    Retirement.version,
                ),
                page,
                scope="quality.retirements.all" if all_ else "quality.retirements",
                key=lambda r: (r.end_of_support.isoformat(), r.group_name, r.product, r.version),
                scalars=True,
            )
        return rows.map(retirement_json)

    def retired(self, event: VersionEvent) -> None:
        """The core retired a version: its retirement request is done."""
        if event.action != "version.retire":
            return
        ref = event.version
        with self.context.write() as session:
            row = session.scalar(
                sa.select(Retirement).where(
                    Retirement.group_name == ref.group,
                    Retirement.product == ref.product,
                    Retirement.version == ref.version,
                    Retirement.state == "open",
                )
            )
            if row is not None:
                row.state, row.retired_by, row.retired_at = "retired", event.actor, event.at
