"""What the core offers a plugin: its database, its audit trail, the caller of a request,
and versions as frozen facts.

One :class:`PluginContext` per enabled plugin is built by the plugin host when the server
starts and handed to the plugin's class (see :mod:`repo_server.plugin_api`). A plugin
keeps it and calls it from its hooks, API routes and pages; it never sees a core row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import g, has_request_context
from sqlalchemy.orm import Session

from policies.access import Action, GlobalRole, decide
from repo_server.artifacts.models import Product, StoredFile, Version
from repo_server.audit.services import AuditLog
from repo_server.auth.models import User
from repo_server.auth.principal import Principal, system
from repo_server.clock import Clock, iso
from repo_server.db import Database
from repo_server.errors import NotFound, Unauthorized
from repo_server.groups.models import Group
from repo_server.hooks import VersionRef
from repo_server.lifecycle.models import Request
from repo_server.lifecycle.quarantines import CONTENT_ROLE, Covers, Quarantines
from repo_server.lifecycle.usage import UsageEntry, usage_page
from repo_server.paging import EVERYTHING, Page, PageRequest
from repo_server.trust.personal import check_personal, repository_of
from repo_server.visibility import group_not_found

#: The global role of the person who decides on serious quality issues.
QUALITY_MANAGER = GlobalRole.QUALITY_MANAGER.value


@dataclass(frozen=True)
class Caller:
    """The person (or pipeline) calling a plugin's route, as plain facts.

    ``global_roles`` are role names (``quality_manager``, ``version_manager``...),
    ``groups`` maps each group the caller belongs to onto their role names there.
    """

    username: str
    global_roles: frozenset[str]
    groups: Mapping[str, frozenset[str]]
    #: The core's principal, for the context's own calls; plugins pass it back untouched.
    principal: Principal = field(repr=False, compare=False)

    @classmethod
    def of(cls, principal: Principal) -> Caller:
        actor = principal.actor
        return cls(
            principal.username,
            frozenset(str(role) for role in actor.global_roles),
            {
                name: frozenset(str(role) for role in actor.roles_in(name))
                for name in actor.group_roles
                if actor.roles_in(name)
            },
            principal,
        )

    @property
    def authenticated(self) -> bool:
        """False for a caller without credentials."""
        return self.principal.authenticated

    @property
    def is_pipeline(self) -> bool:
        """True when the call came with a group (CI) token rather than a person's sign-in."""
        return self.principal.actor.is_group_token

    def has_role(self, role: str) -> bool:
        """True when the caller holds the global role ``role`` (not through a group token)."""
        return role in self.global_roles and not self.is_pipeline

    @property
    def visible_groups(self) -> frozenset[str] | None:
        """The groups whose records the caller sees, to filter a query with; ``None``
        means every group (version and quality managers, auditors)."""
        if self.principal.actor.sees_whole_library:
            return None
        return frozenset(self.groups)

    def can_see(self, group: str) -> bool:
        """True when the caller may see ``group``'s records (members, library-wide roles)."""
        return decide(self.principal.actor, Action.BROWSE, group).allowed


@dataclass(frozen=True)
class VersionFacts:
    """A version as a plugin sees it: names, state, product and build facts."""

    group: str
    product: str
    version: str
    state: str
    category: str
    origin: str
    vendor: str | None
    library_number: int | None
    created_at: datetime
    #: When the check-in was approved (``None`` before), the day the version was delivered.
    checked_in_at: datetime | None
    #: The build identifiers its files were uploaded with (the build batch).
    build_ids: tuple[str, ...]
    #: When its first file was uploaded (``None``: no file yet), the day it was built.
    built_at: datetime | None
    #: The sha256 of each of its artifacts (its content, which a quarantine also covers).
    content: tuple[str, ...] = ()

    @property
    def ref(self) -> VersionRef:
        return VersionRef(self.group, self.product, self.version)

    def to_json(self) -> dict[str, Any]:
        """The JSON form, for plugin API answers."""
        return {
            "ref": str(self.ref),
            "group": self.group,
            "product": self.product,
            "version": self.version,
            "state": self.state,
            "category": self.category,
            "origin": self.origin,
            "vendor": self.vendor,
            "library_number": self.library_number,
            "created_at": iso(self.created_at),
            "checked_in_at": iso(self.checked_in_at) if self.checked_in_at else None,
            "build_ids": list(self.build_ids),
            "built_at": iso(self.built_at) if self.built_at else None,
        }


@dataclass(frozen=True)
class ProductFacts:
    """A product as a plugin sees it."""

    group: str
    name: str
    category: str
    origin: str
    vendor: str | None


class PluginContext:
    """The core as one plugin sees it. Built by the plugin host, one per plugin."""

    def __init__(
        self,
        name: str,
        db: Database,
        audit: AuditLog,
        clock: Clock,
        options: Mapping[str, Any],
        quarantines: Quarantines | None = None,
    ) -> None:
        #: The plugin's name (its entry point's).
        self.name = name
        self._db = db
        self._quarantines = quarantines
        self._audit = audit
        self._clock = clock
        #: The plugin's own settings: the ``[plugin.<name>]`` table of the server's TOML file.
        self.options: Mapping[str, Any] = dict(options)

    # -- time and the database ---------------------------------------------------------

    def now(self) -> datetime:
        """The server's time (UTC); tests set it."""
        return self._clock.now()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session on the server's database, for the plugin's own tables."""
        with self._db.read() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction: committed when the block ends, rolled back if it raises."""
        with self._db.write() as session:
            yield session

    def after_write(self, work: Callable[[], None]) -> None:
        """Run ``work`` once the write transaction this thread is in has ended, or now
        outside one: for a plugin that must write while the core may be holding a write
        (a decision hook files something once), without waiting on the core's lock."""
        self._db.after_write(work)

    # -- personal signatures ----------------------------------------------------------

    def personal_signature(
        self, username: str, payload_type: str, signed: Mapping[str, Any], field: str
    ) -> tuple[str, bytes]:
        """Check that one of ``username``'s enrolled personal keys signed ``signed`` (a
        DSSE envelope); its JSON text and payload. A 400 naming ``field`` otherwise."""
        envelope, payload = check_personal(self._db, username, payload_type, signed, field)
        return envelope.to_bytes().decode(), payload

    def repository(self) -> str:
        """The repository URL the server's signed documents name."""
        assert self._quarantines is not None, "the host builds contexts with the quarantines"
        return repository_of(self._quarantines.signing.keys)

    # -- the audit trail ---------------------------------------------------------------

    def record(
        self,
        session: Session,
        caller: Caller | None,
        action: str,
        *,
        target: str = "",
        group: str | None = None,
        outcome: str = "ok",
        rule: str = "",
        reason: str = "",
        details: Mapping[str, Any] | None = None,
    ) -> int:
        """Append an audit record in the plugin's transaction (``session``): the plugin's
        action and its record commit together. ``caller`` ``None``: the server itself.
        Returns the record's index in the signed log."""
        return self._audit.record(
            session,
            caller.principal if caller is not None else system(),
            action,
            target=target,
            group=group,
            outcome=outcome,
            rule=rule or f"plugin.{self.name}",
            reason=reason,
            details=dict(details or {}),
        )

    def record_refusal(
        self,
        caller: Caller,
        action: str,
        *,
        target: str,
        reason: str,
        rule: str = "",
        group: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        """Audit a refused action, in a transaction of its own: under ``rule`` (default
        ``plugin.<name>``), the ``group`` it concerns (so ``depot audit --group`` finds it)
        and the plugin's ``details`` (an issue's number)."""
        self._audit.record_refusal(
            caller.principal,
            action,
            target=target,
            group=group,
            rule=rule or f"plugin.{self.name}",
            reason=reason,
            details=dict(details or {}),
        )

    # -- quarantines: the core's facts once decided -------------------------------------

    def quarantine(
        self,
        session: Session,
        caller: Caller,
        *,
        reference: str,
        rule: str,
        reason: str,
        versions: Sequence[VersionRef] = (),
        build_ids: Sequence[str] = (),
        sha256s: Sequence[str] = (),
        details: Mapping[str, Any] | None = None,
    ) -> list[str]:
        """Stop every use of ``versions``, of every version with a file uploaded under one
        of ``build_ids`` and of every version with an artifact of one of ``sha256s`` — in
        any group, versions created later included — in the plugin's transaction
        (``session``), for the plugin's case ``reference`` (``Q-17``).

        From then on the core refuses downloads and check-outs of them (rule ``rule``,
        reason ``reason``) whether this plugin is enabled or not, and signs their status
        ``quarantined``, until :meth:`lift_quarantine`. Each version is audited as
        ``version.quarantine`` with ``details``. Returns those versions (``g/p@v``)."""
        return self._register().start(
            session,
            caller.principal,
            source=self.name,
            reference=reference,
            rule=rule,
            reason=reason,
            covers=Covers(
                tuple(sorted({str(v) for v in versions})),
                tuple(sorted({b for b in build_ids if b})),
                tuple(sorted({s for s in sha256s if s})),
            ),
            details=dict(details or {}),
        )

    def lift_quarantine(
        self,
        session: Session,
        caller: Caller,
        *,
        reference: str,
        reason: str,
        details: Mapping[str, Any] | None = None,
    ) -> list[str]:
        """End the plugin's quarantines of case ``reference`` in its transaction. Returns
        the versions nothing stops any more (each audited ``version.release``)."""
        return self._register().lift(
            session,
            caller.principal,
            source=self.name,
            reference=reference,
            reason=reason,
            details=dict(details or {}),
        )

    def quarantined_versions(self, reference: str) -> list[str]:
        """Every version the plugin's quarantines of case ``reference`` cover (active or
        lifted; versions created after the decision too), without a visibility check."""
        return self._register().covered_by(self.name, reference)

    def usage(self, refs: Sequence[str], page: PageRequest = EVERYTHING) -> Page[UsageEntry]:
        """Who took the versions ``refs`` out: a page of their check-out requests and
        file downloads (person, time, address, check-out number), oldest first, without a
        visibility check (the plugin decides who may read it)."""
        with self._db.read() as session:
            return usage_page(session, refs, page)

    def _register(self) -> Quarantines:
        if self._quarantines is None:  # a context built without the core's services
            raise RuntimeError("this plugin context has no quarantine register")
        return self._quarantines

    # -- the caller --------------------------------------------------------------------

    def caller(self) -> Caller:
        """The signed-in caller of the current request (API token or page session).

        Raises the core's 401 for a call without credentials.
        """
        principal: Principal | None = g.get("principal") if has_request_context() else None
        if principal is None or not principal.authenticated:
            raise Unauthorized(
                "authentication required: sign in with `depot login` or send a token"
            )
        return Caller.of(principal)

    # -- versions ----------------------------------------------------------------------

    def version(self, caller: Caller, group: str, product: str, version: str) -> VersionFacts:
        """The version if ``caller`` may see it; the core's 404 otherwise (same answer as
        for a name that does not exist)."""
        if not caller.can_see(group):
            raise group_not_found(group)
        found = self.versions_by_name([(group, product, version)])
        if not found:
            raise NotFound(f"version {group}/{product}@{version} not found")
        return found[0]

    def product(self, caller: Caller, group: str, product: str) -> ProductFacts:
        """The product if ``caller`` may see it; the core's 404 otherwise."""
        if not caller.can_see(group):
            raise group_not_found(group)
        with self._db.read() as session:
            row = session.execute(
                sa.select(Product, Group.name)
                .join(Group, Product.group_id == Group.id)
                .where(Group.name == group, Product.name == product)
            ).first()
            if row is None:
                raise NotFound(f"product {group}/{product} not found")
            found: Product = row[0]
            return ProductFacts(group, found.name, found.category, found.origin, found.vendor)

    def person_exists(self, username: str) -> bool:
        """True when ``username`` is an active account (to assign work to someone)."""
        with self._db.read() as session:
            return (
                session.scalar(
                    sa.select(User.id).where(User.username == username, User.active.is_(True))
                )
                is not None
            )

    def versions_by_name(self, refs: Sequence[tuple[str, str, str]]) -> list[VersionFacts]:
        """The versions named ``(group, product, version)`` that exist, without a
        visibility check: for the server's own work (hooks, a quarantine's batch)."""
        if not refs:
            return []
        with self._db.read() as session:
            rows = session.execute(
                _VERSIONS.where(
                    sa.tuple_(Group.name, Product.name, Version.version).in_(list(refs))
                )
            ).all()
            return _facts(session, rows)

    def versions_of_products(self, products: Sequence[tuple[str, str]]) -> list[VersionFacts]:
        """Every version of the products named ``(group, product)``, without a visibility
        check (a product's end of support withdraws them all)."""
        if not products:
            return []
        with self._db.read() as session:
            names = sa.tuple_(Group.name, Product.name).in_(list(products))
            return _facts(session, session.execute(_VERSIONS.where(names)).all())

    def product_by_name(self, group: str, product: str) -> ProductFacts | None:
        """The product, without a visibility check (for the server's own work: a decision
        hook weighing its vendor)."""
        with self._db.read() as session:
            row = session.execute(
                sa.select(Product, Group.name)
                .join(Group, Product.group_id == Group.id)
                .where(Group.name == group, Product.name == product)
            ).first()
        return None if row is None else ProductFacts(group, row[0].name, row[0].category,
                                                     row[0].origin, row[0].vendor)  # fmt: skip

    def products_of_vendors(self, vendors: Sequence[str]) -> list[ProductFacts]:
        """The purchased products whose vendor is one of ``vendors`` (compared without
        case or surrounding blanks), in every group, for the supplier register."""
        wanted = sorted({v.strip().lower() for v in vendors if v.strip()})
        if not wanted:
            return []
        with self._db.read() as session:
            rows = session.execute(
                sa.select(Product, Group.name)
                .join(Group, Product.group_id == Group.id)
                .where(sa.func.lower(sa.func.trim(Product.vendor)).in_(wanted))
                .order_by(Group.name, Product.name)
            ).all()
            return [ProductFacts(g, p.name, p.category, p.origin, p.vendor) for p, g in rows]

    def versions_of_build(self, build_ids: Sequence[str]) -> list[VersionFacts]:
        """Every version with a file uploaded under one of ``build_ids`` (one build
        batch), in every group, without a visibility check (a quarantine is the
        server's own act). Indexed: ``files.build_id``."""
        wanted = sorted({b for b in build_ids if b})
        if not wanted:
            return []
        with self._db.read() as session:
            ids = sa.select(StoredFile.version_id).where(StoredFile.build_id.in_(wanted))
            rows = session.execute(_VERSIONS.where(Version.id.in_(ids))).all()
            return _facts(session, rows)


_VERSIONS = (
    sa.select(Version, Product, Group.name)
    .join(Product, Version.product_id == Product.id)
    .join(Group, Product.group_id == Group.id)
)


def _facts(session: Session, rows: Sequence[Any]) -> list[VersionFacts]:
    ids = [row[0].id for row in rows]
    builds: dict[int, set[str]] = {i: set() for i in ids}
    content: dict[int, set[str]] = {i: set() for i in ids}
    first: dict[int, datetime] = {}
    for version_id, build_id, uploaded_at, sha256, role in session.execute(
        sa.select(
            StoredFile.version_id,
            StoredFile.build_id,
            StoredFile.uploaded_at,
            StoredFile.sha256,
            StoredFile.role,
        ).where(StoredFile.version_id.in_(ids), StoredFile.role != "report")
    ):
        if build_id:
            builds[version_id].add(build_id)
        if role == CONTENT_ROLE:
            content[version_id].add(sha256)
        if version_id not in first or uploaded_at < first[version_id]:
            first[version_id] = uploaded_at
    checked_in = dict(
        session.execute(
            sa.select(Request.version_id, sa.func.max(Request.decided_at))
            .where(
                Request.version_id.in_(ids),
                Request.kind == "checkin",
                Request.state == "approved",
            )
            .group_by(Request.version_id)
        ).all()
    )
    found = [
        VersionFacts(
            group=group_name,
            product=product.name,
            version=version.version,
            state=version.state,
            category=product.category,
            origin=product.origin,
            vendor=product.vendor,
            library_number=version.library_number,
            created_at=version.created_at,
            checked_in_at=checked_in.get(version.id),
            build_ids=tuple(sorted(builds[version.id])),
            built_at=first.get(version.id),
            content=tuple(sorted(content[version.id])),
        )
        for version, product, group_name in rows
    ]
    return sorted(found, key=lambda v: (v.group, v.product, v.created_at, v.version))
