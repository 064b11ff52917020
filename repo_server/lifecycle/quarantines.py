"""Quarantines: a business module's stop on versions, held by the core once decided.

A module (the quality module, for a confirmed serious issue) starts a quarantine through
its :class:`repo_server.plugin_context.PluginContext`, in its own write transaction: the
versions it names, its build batch (every file uploaded under one of the build ids, in
any group, later uploads too) and its content (the artifacts' sha256, in any version).
From then on the core refuses every use of what it covers — with the module enabled,
disabled or failing — until the same module lifts it. Each start and lift is in the
audit trail (``version.quarantine``/``version.release`` per version, ``quarantine.start``
/``quarantine.lift`` with what it covers) and the signed status of each checked-in
version changes with it, as it does with a check-in.

:class:`WithQuarantines` is the :class:`~repo_server.hooks.Plugins` the core's services
hold: the quarantines' blocks first, then the plugins'. The start check
(:meth:`Quarantines.check_start`) keeps a server from running without a module that holds
active quarantines (nobody could lift them) unless the operator says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from policies.lifecycle import Block
from repo_server.artifacts.models import Product, StoredFile, Version
from repo_server.audit.services import AuditLog
from repo_server.auth.principal import Principal, system
from repo_server.clock import Clock
from repo_server.db import Database
from repo_server.errors import DepotError
from repo_server.groups.models import Group
from repo_server.hooks import Plugins, VersionEvent, VersionRef
from repo_server.lifecycle.models import Quarantine, QuarantineCover
from repo_server.trust.models import VersionStatus
from repo_server.trust.services import SigningService

#: The file role whose bytes a quarantine's content covers (documents are often shared).
CONTENT_ROLE = "artifact"


class MissingModule(DepotError):
    """Active quarantines were decided by a module the settings do not enable."""

    status = 409
    code = "quarantine.module_missing"


@dataclass(frozen=True)
class Covers:
    """What a quarantine covers: versions by ``g/p@v``, build ids, artifact sha256s."""

    versions: tuple[str, ...] = ()
    builds: tuple[str, ...] = ()
    sha256s: tuple[str, ...] = ()

    def rows(self) -> list[tuple[str, str]]:
        found = [("version", v) for v in self.versions]
        found += [("build", b) for b in self.builds]
        return found + [("sha256", s) for s in self.sha256s]


class Quarantines:
    """The quarantines of one server."""

    def __init__(self, db: Database, audit: AuditLog, clock: Clock, signing: SigningService):
        self.db = db
        self.audit = audit
        self.clock = clock
        self.signing = signing

    # -- what stops use ----------------------------------------------------------------

    def blocks(self, ref: VersionRef) -> tuple[Block, ...]:
        """One block per rule of the active quarantines covering ``ref`` (its name, one of
        its files' build ids, one of its artifacts' bytes); none for an unknown version."""
        with self.db.read() as session:
            rows = session.execute(
                _covering(_version_id(ref)).order_by(Quarantine.id),
                {"ref": str(ref)},
            ).all()
        reasons: dict[str, list[str]] = {}
        for rule, reason in rows:
            if reason not in reasons.setdefault(rule, []):
                reasons[rule].append(reason)
        return tuple(Block(rule, "; ".join(found)) for rule, found in reasons.items())

    def blocks_each(self, refs: Sequence[VersionRef]) -> dict[VersionRef, tuple[Block, ...]]:
        """:meth:`blocks` of many versions: one statement when no quarantine is active
        (the usual case), else one per version."""
        if not refs:
            return {}
        with self.db.read() as session:
            active = session.scalar(_ANY_ACTIVE)
        if active is None:
            return {}
        return {ref: found for ref in refs if (found := self.blocks(ref))}

    # -- a module starts and lifts -----------------------------------------------------

    def start(
        self,
        session: Session,
        principal: Principal,
        *,
        source: str,
        reference: str,
        rule: str,
        reason: str,
        covers: Covers,
        details: Mapping[str, Any],
    ) -> list[str]:
        """Quarantine ``covers`` for ``source``'s case ``reference`` in the caller's
        transaction: the rows, the audit records and the signed status of each checked-in
        version it covers now. Returns those versions (``g/p@v``), sorted."""
        now = self.clock.now()
        row = Quarantine(
            source=source,
            reference=reference,
            rule=rule,
            reason=reason,
            started_at=now,
            started_by=principal.username,
        )
        session.add(row)
        session.flush()
        session.add_all(
            QuarantineCover(quarantine_id=row.id, kind=kind, value=value[:600])
            for kind, value in covers.rows()
        )
        session.flush()
        covered = self._versions_of(session, [row.id])
        self.audit.record(
            session,
            principal,
            "quarantine.start",
            target=f"quarantine:{row.id}",
            rule=rule,
            reason=reason,
            details={
                "source": source,
                "reference": reference,
                "versions": list(covers.versions),
                "builds": list(covers.builds),
                "sha256": list(covers.sha256s),
                "covered": [str(v[3]) for v in covered],
            },
        )
        block = Block(rule, reason)
        for group, product, version, ref in covered:
            self.audit.record(
                session,
                principal,
                "version.quarantine",
                target=ref,
                group=group.name,
                rule=rule,
                reason=reason,
                details=dict(details),
            )
            self._sign(session, group, product, version, [block])
        return sorted(ref for *_, ref in covered)

    def lift(
        self,
        session: Session,
        principal: Principal,
        *,
        source: str,
        reference: str,
        reason: str,
        details: Mapping[str, Any],
    ) -> list[str]:
        """End every active quarantine of ``source``'s case ``reference`` in the caller's
        transaction. Returns the versions it covered that nothing stops any more (each
        ``version.release``d, its status signed ``checked_in`` again), sorted."""
        rows = session.scalars(
            sa.select(Quarantine).where(
                Quarantine.source == source,
                Quarantine.reference == reference,
                Quarantine.lifted_at.is_(None),
            )
        ).all()
        if not rows:
            return []
        covered = self._versions_of(session, [r.id for r in rows])
        now = self.clock.now()
        for row in rows:
            row.lifted_at, row.lifted_by, row.lift_reason = now, principal.username, reason
            self.audit.record(
                session,
                principal,
                "quarantine.lift",
                target=f"quarantine:{row.id}",
                rule=row.rule,
                reason=reason,
                details={"source": source, "reference": reference},
            )
        session.flush()
        released = []
        for group, product, version, ref in covered:
            if session.execute(_covering(sa.literal(version.id)), {"ref": ref}).first():
                continue
            released.append(ref)
            self.audit.record(
                session,
                principal,
                "version.release",
                target=ref,
                group=group.name,
                rule=rows[0].rule,
                reason=reason,
                details=dict(details),
            )
            self._sign(session, group, product, version, [])
        return sorted(released)

    def covered_by(self, source: str, reference: str) -> list[str]:
        """Every existing version ``source``'s quarantines of case ``reference`` cover
        (active or lifted: what was stopped, for a recall), sorted."""
        with self.db.read() as session:
            ids = session.scalars(
                sa.select(Quarantine.id).where(
                    Quarantine.source == source, Quarantine.reference == reference
                )
            ).all()
            return [ref for *_, ref in self._versions_of(session, ids)] if ids else []

    def active_by_source(self) -> dict[str, int]:
        """How many quarantines are active, by the module that decided them."""
        with self.db.read() as session:
            rows = session.execute(
                sa.select(Quarantine.source, sa.func.count())
                .where(Quarantine.lifted_at.is_(None))
                .group_by(Quarantine.source)
            ).all()
        return {str(source): int(count) for source, count in rows}

    def check_start(self, enabled: Iterable[str], allowed: Iterable[str]) -> list[str]:
        """Called by ``depot-server run`` before it serves: refuse to start
        (:class:`MissingModule`, audited) when active quarantines were decided by a module
        that is not enabled — nobody could lift them — unless it is in ``allowed``
        (``allow_missing_plugins``); then the start is audited and the quarantines still
        hold. Returns the missing modules the start went on without."""
        active = self.active_by_source()
        missing = sorted(set(active) - set(enabled))
        if not missing:
            return []
        counts = ", ".join(f"{active[name]} by the {name} module" for name in missing)
        let_through = set(allowed)
        refused = [name for name in missing if name not in let_through]
        details = {"missing": missing, "active": {name: active[name] for name in missing}}
        if refused:
            message = (
                f"refusing to start: active quarantines ({counts}) and the module "
                f"{', '.join(refused)} is not enabled, so nobody could lift them; enable it "
                f"(DEPOT_PLUGINS), or start without it on purpose with "
                f"DEPOT_ALLOW_MISSING_PLUGINS={','.join(refused)} (the quarantines still hold)"
            )
            self.audit.record_refusal(
                system(),
                "server.start",
                rule=MissingModule.code,
                reason=message,
                details=details,
            )
            raise MissingModule(message)
        with self.db.write() as session:
            self.audit.record(
                session,
                system(),
                "server.start",
                rule=MissingModule.code,
                reason=(
                    f"started without {', '.join(missing)} (allow_missing_plugins) while "
                    f"quarantines are active ({counts}); they still hold"
                ),
                details=details,
            )
        return missing

    # -- helpers -----------------------------------------------------------------------

    def _versions_of(
        self, session: Session, quarantine_ids: Sequence[int]
    ) -> list[tuple[Group, Product, Version, str]]:
        """Every existing version the quarantines ``quarantine_ids`` cover."""
        covers = sa.select(QuarantineCover.kind, QuarantineCover.value).where(
            QuarantineCover.quarantine_id.in_(quarantine_ids)
        )
        names: set[str] = set()
        builds: set[str] = set()
        sums: set[str] = set()
        for kind, value in session.execute(covers):
            {"version": names, "build": builds, "sha256": sums}[kind].add(value)
        by_file = sa.select(StoredFile.version_id).where(
            sa.or_(
                StoredFile.build_id.in_(sorted(builds)),
                sa.and_(StoredFile.sha256.in_(sorted(sums)), StoredFile.role == CONTENT_ROLE),
            )
        )
        ref = Group.name + "/" + Product.name + "@" + Version.version
        rows = session.execute(
            sa.select(Group, Product, Version)
            .join(Product, Product.group_id == Group.id)
            .join(Version, Version.product_id == Product.id)
            .where(sa.or_(ref.in_(sorted(names)), Version.id.in_(by_file)))
        ).all()
        found = [(g, p, v, f"{g.name}/{p.name}@{v.version}") for g, p, v in rows]
        return sorted(found, key=lambda row: row[3])

    def _sign(
        self,
        session: Session,
        group: Group,
        product: Product,
        version: Version,
        blocks: list[Block],
    ) -> None:
        if session.get(VersionStatus, version.id) is not None:
            self.signing.fresh_status(
                session, group=group, product=product, version=version, blocks=blocks
            )


#: Whether any quarantine is active (a listing asks before asking per version).
_ANY_ACTIVE = sa.select(Quarantine.id).where(Quarantine.lifted_at.is_(None)).limit(1)


def _version_id(ref: VersionRef) -> Any:
    return (
        sa.select(Version.id)
        .join(Product, Version.product_id == Product.id)
        .join(Group, Product.group_id == Group.id)
        .where(Group.name == ref.group, Product.name == ref.product, Version.version == ref.version)
        .scalar_subquery()
    )


def _covering(version_id: Any) -> sa.Select[str, str]:
    """The (rule, reason) of each active quarantine covering the version ``version_id``
    (named ``:ref``, bound by the caller)."""
    files = sa.select(StoredFile.build_id, StoredFile.sha256, StoredFile.role).where(
        StoredFile.version_id == version_id
    )
    builds = files.with_only_columns(StoredFile.build_id).where(StoredFile.build_id.is_not(None))
    sums = files.with_only_columns(StoredFile.sha256).where(StoredFile.role == CONTENT_ROLE)
    return (
        sa.select(Quarantine.rule, Quarantine.reason)
        .join(QuarantineCover, QuarantineCover.quarantine_id == Quarantine.id)
        .where(
            Quarantine.lifted_at.is_(None),
            sa.or_(
                sa.and_(
                    QuarantineCover.kind == "version", QuarantineCover.value == sa.bindparam("ref")
                ),
                sa.and_(QuarantineCover.kind == "build", QuarantineCover.value.in_(builds)),
                sa.and_(QuarantineCover.kind == "sha256", QuarantineCover.value.in_(sums)),
            ),
        )
    )


class WithQuarantines:
    """The :class:`~repo_server.hooks.Plugins` the core's services hold: what the
    quarantines stop, then what the plugins report; events go to the plugins."""

    can_block = True  # a quarantine may start at any moment: downloads are re-checked

    def __init__(self, quarantines: Quarantines, plugins: Plugins) -> None:
        self.quarantines = quarantines
        self.plugins = plugins

    def blocks(self, ref: VersionRef) -> tuple[Block, ...]:
        return self.quarantines.blocks(ref) + self.plugins.blocks(ref)

    def blocks_each(self, refs: Sequence[VersionRef]) -> dict[VersionRef, tuple[Block, ...]]:
        mine, theirs = self.quarantines.blocks_each(refs), self.plugins.blocks_each(refs)
        return {
            ref: mine.get(ref, ()) + theirs.get(ref, ())
            for ref in refs
            if ref in mine or ref in theirs
        }

    def emit(self, event: VersionEvent) -> None:
        self.plugins.emit(event)
