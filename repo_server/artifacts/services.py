"""The catalogue of a group's storage area: products, versions, their files, and search.

Called by the API (``/api/v1/groups/<g>/products...``, ``/api/v1/search``).
Uploads and downloads are in :mod:`repo_server.artifacts.transfers`.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from policies.access import Action, GroupRole
from policies.lifecycle import (
    Kind,
    Registration,
    RequestState,
    covers,
    decide_create_version,
    decide_registration,
)
from policies.names import validate_product_name
from policies.versions import Category, Origin, precedence_key, validate_version
from repo_server.artifacts.facts import FileInfo, ProductInfo, SearchHit, VersionInfo
from repo_server.artifacts.lookup import files_of, find_product, find_product_version
from repo_server.artifacts.models import Product, StoredFile, Version
from repo_server.artifacts.search import search_statement
from repo_server.audit.services import AuditLog
from repo_server.auth.principal import Principal
from repo_server.clock import Clock
from repo_server.db import Database
from repo_server.errors import Conflict, InvalidRequest
from repo_server.groups.models import Group
from repo_server.lifecycle.facts import enforce, product_facts, records_refusals
from repo_server.lifecycle.models import Request
from repo_server.paging import EVERYTHING, Page, PageRequest, fetch
from repo_server.visibility import resolve_group, visible_groups

MAX_DESCRIPTION = 10_000


def _enum(kind: type[Category] | type[Origin], value: str, field: str) -> str:
    try:
        return kind(value).value
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise InvalidRequest(
            f"invalid {field} {value!r}; use one of: {allowed}", field=field
        ) from None


def _check_description(text: str) -> str:
    if len(text) > MAX_DESCRIPTION:
        raise InvalidRequest(
            f"description is longer than {MAX_DESCRIPTION} characters", field="description"
        )
    return text


class CatalogService:
    """Products and versions of the groups on one server."""

    def __init__(self, db: Database, audit: AuditLog, clock: Clock) -> None:
        self.db = db
        self.audit = audit
        self.clock = clock

    def holds_files(self) -> bool:
        """Whether any file was ever stored (a new installation holds none)."""
        with self.db.read() as session:
            return session.scalar(sa.select(StoredFile.id).limit(1)) is not None

    # -- products ------------------------------------------------------------------

    @records_refusals
    def register_product(
        self,
        principal: Principal,
        group: str,
        name: str,
        *,
        category: str,
        origin: str,
        vendor: str | None = None,
        description: str = "",
        version: str | None = None,
    ) -> ProductInfo:
        """Register a product in one of the caller's groups, with its first ``version``.

        Unless the group waives the review, this files a registration request a version
        manager decides (:class:`~repo_server.lifecycle.decisions.DecisionService`): the
        product is ``pending`` and takes no version before she approves it; on approval
        the first version is created as a draft. A product whose registration was refused
        may be filed again under the same name.
        """
        exists = f"product {group}/{name} already exists"
        with self.db.write(conflict=exists) as session:
            row_group = resolve_group(session, principal, group, Action.BROWSE)
            name = validate_product_name(name)
            category = _enum(Category, category, "category")
            origin = _enum(Origin, origin, "origin")
            vendor = (vendor or "").strip() or None
            if origin == Origin.PURCHASED and vendor is None:
                raise InvalidRequest("a purchased product needs its vendor", field="vendor")
            if origin == Origin.IN_HOUSE and vendor is not None:
                raise InvalidRequest("an in-house product has no vendor", field="vendor")
            if vendor is not None and len(vendor) > 200:
                raise InvalidRequest("vendor is longer than 200 characters", field="vendor")
            first = validate_version(version, origin) if version else None
            decision = decide_registration(
                principal.actor, group, reviewed=row_group.review_new_products
            )
            enforce(decision, principal, "product.register", group=group, target=f"{group}/{name}")
            product = session.scalar(
                sa.select(Product).where(Product.group_id == row_group.id, Product.name == name)
            )
            if product is not None and product.registration != Registration.REFUSED:
                raise Conflict(exists)
            reviewed = decision.rule == "register.review"
            if product is None:
                product = Product(group_id=row_group.id, name=name)
                session.add(product)
            product.category = category
            product.origin = origin
            product.vendor = vendor
            product.description = _check_description(description)
            product.created_at = self.clock.now()
            product.created_by = principal.username
            product.registration = (
                Registration.PENDING if reviewed else Registration.REGISTERED
            ).value
            session.flush()
            request = self._registration_request(session, principal, row_group, product, first)
            details: dict[str, Any] = {
                "category": category,
                "origin": origin,
                "vendor": vendor,
                "registration": product.registration,
            }
            if request is not None:
                details["request"] = request
            if first is not None:
                details["version"] = first
            self.audit.record(
                session,
                principal,
                "product.register",
                group=group,
                target=f"{group}/{name}",
                details=details,
            )
            count = 0
            if not reviewed and first is not None:
                self._new_draft(session, principal, group, product, first, "")
                count = 1
            return ProductInfo.of(group, product, count, request)

    def _registration_request(
        self,
        session: Session,
        principal: Principal,
        group: Group,
        product: Product,
        first: str | None,
    ) -> int | None:
        """File the registration request of a ``pending`` product (its id), or nothing."""
        if product.registration != Registration.PENDING:
            return None
        roles = sorted(principal.actor.roles_in(group.name))
        role = (
            GroupRole.SOFTWARE_MANAGER.value
            if GroupRole.SOFTWARE_MANAGER.value in roles
            else (roles[0] if roles else "")
        )
        row = Request(
            kind=Kind.REGISTER.value,
            state=RequestState.PENDING.value,
            group_id=group.id,
            product_id=product.id,
            version_id=None,
            target_version=first,
            requester=principal.username,
            requester_role=role,
            created_at=self.clock.now(),
            details=json.dumps(
                {
                    "category": product.category,
                    "origin": product.origin,
                    "vendor": product.vendor,
                    "description": product.description,
                },
                ensure_ascii=False,
                sort_keys=True,
            ),
        )
        session.add(row)
        session.flush()
        return row.id

    def _new_draft(
        self,
        session: Session,
        principal: Principal,
        group: str,
        product: Product,
        version: str,
        description: str,
        *,
        created_by: str | None = None,
        upgrade_request_id: int | None = None,
    ) -> Version:
        row = Version(
            product_id=product.id,
            version=version,
            precedence=precedence_key(version, product.origin),
            state="draft",
            upgrade_request_id=upgrade_request_id,
            description=_check_description(description),
            created_at=self.clock.now(),
            created_by=created_by or principal.username,
        )
        session.add(row)
        session.flush()
        self.audit.record(
            session,
            principal,
            "version.create",
            group=group,
            target=f"{group}/{product.name}@{version}",
        )
        return row

    def list_products(
        self, principal: Principal, group: str, page: PageRequest = EVERYTHING
    ) -> Page[ProductInfo]:
        """The products of one of the caller's groups, by name."""
        with self.db.read() as session:
            row_group = resolve_group(session, principal, group, Action.BROWSE)
            # Counted per product of the page (the versions' index), never over every version.
            count = (
                sa.select(sa.func.count())
                .where(Version.product_id == Product.id)
                .correlate(Product)
                .scalar_subquery()
            )
            rows = fetch(
                session,
                sa.select(Product, count, _registration_request()).where(
                    Product.group_id == row_group.id
                ),
                (Product.name,),
                page,
                scope=f"products:{group}",
                key=lambda row: (row[0].name,),
            )
            return rows.map(lambda row: ProductInfo.of(group, row[0], int(row[1] or 0), row[2]))

    def get_product(self, principal: Principal, group: str, name: str) -> ProductInfo:
        """One product of one of the caller's groups."""
        with self.db.read() as session:
            row_group = resolve_group(session, principal, group, Action.BROWSE)
            product = find_product(session, row_group, name)
            count = session.scalar(
                sa.select(sa.func.count())
                .select_from(Version)
                .where(Version.product_id == product.id)
            )
            request = session.scalar(
                sa.select(_registration_request()).where(Product.id == product.id)
            )
            return ProductInfo.of(group, product, int(count or 0), request)

    # -- versions ------------------------------------------------------------------

    @records_refusals
    def create_version(
        self, principal: Principal, group: str, product: str, version: str, description: str = ""
    ) -> VersionInfo:
        """Create an empty (draft) version of a product, ready for uploads."""
        exists = f"version {group}/{product}@{version} already exists"
        with self.db.write(conflict=exists) as session:
            row_group = resolve_group(session, principal, group, Action.CREATE_VERSION)
            row_product = find_product(session, row_group, product)
            version = validate_version(version, row_product.origin)
            ref = f"{group}/{product}@{version}"
            facts = product_facts(session, row_group, row_product)
            decision = decide_create_version(principal.actor, facts, version)
            enforce(decision, principal, "version.create", group=group, target=ref)
            found = session.scalar(
                sa.select(Version.id).where(
                    Version.product_id == row_product.id, Version.version == version
                )
            )
            if found is not None:
                raise Conflict(exists)
            row = self._new_draft(
                session,
                principal,
                group,
                row_product,
                version,
                description,
                upgrade_request_id=self._covering_upgrade(session, row_product, version)
                if decision.rule == "upgrade.approved"
                else None,
            )
            return VersionInfo.of(group, product, row, ())

    @staticmethod
    def _covering_upgrade(session: Session, product: Product, version: str) -> int | None:
        rows = session.execute(
            sa.select(Request.id, Request.target_version)
            .where(
                Request.product_id == product.id,
                Request.kind == Kind.UPGRADE.value,
                Request.state == RequestState.APPROVED.value,
            )
            .order_by(Request.id.desc())
        )
        origin = Origin(product.origin)
        return next(
            (rid for rid, target in rows if target and covers(target, version, origin)), None
        )

    def list_versions(
        self, principal: Principal, group: str, product: str, page: PageRequest = EVERYTHING
    ) -> Page[VersionInfo]:
        """The versions of a product with their files, newest first: by SemVer precedence
        for in-house products, last created first for purchased ones."""
        with self.db.read() as session:
            row_group = resolve_group(session, principal, group, Action.BROWSE)
            row_product = find_product(session, row_group, product)
            versions = fetch(
                session,
                sa.select(Version).where(Version.product_id == row_product.id),
                (Version.precedence, Version.id),
                page,
                scope=f"versions:{group}/{product}",
                key=lambda version: (version.precedence, version.id),
                descending=True,
                scalars=True,
            )
            files: dict[int, list[FileInfo]] = {v.id: [] for v in versions.items}
            if files:
                # By version, then name: one range of uq_files_version_id_name per version,
                # no sort; each version's files are still in name order.
                for row in session.scalars(
                    sa.select(StoredFile)
                    .where(StoredFile.version_id.in_(files))
                    .order_by(StoredFile.version_id, StoredFile.name)
                ):
                    files[row.version_id].append(FileInfo.of(row))
            return versions.map(lambda v: VersionInfo.of(group, product, v, tuple(files[v.id])))

    def list_files(
        self,
        principal: Principal,
        group: str,
        product: str,
        version: str,
        page: PageRequest = EVERYTHING,
    ) -> tuple[str, Page[FileInfo]]:
        """The version's reference and a page of its files, by name."""
        with self.db.read() as session:
            row_group = resolve_group(session, principal, group, Action.BROWSE)
            _, row = find_product_version(session, row_group, product, version)
            found = fetch(
                session,
                sa.select(StoredFile).where(StoredFile.version_id == row.id),
                (StoredFile.name,),
                page,
                scope=f"files:{group}/{product}@{row.version}",
                key=lambda stored: (stored.name,),
                scalars=True,
            )
            return f"{group}/{product}@{row.version}", found.map(FileInfo.of)

    def get_version(
        self, principal: Principal, group: str, product: str, version: str
    ) -> VersionInfo:
        """One version with its files."""
        with self.db.read() as session:
            row_group = resolve_group(session, principal, group, Action.BROWSE)
            _, row = find_product_version(session, row_group, product, version)
            files = tuple(FileInfo.of(f) for f in files_of(session, row))
            return VersionInfo.of(group, product, row, files)

    # -- search --------------------------------------------------------------------

    def search(
        self,
        principal: Principal,
        text: str | None = None,
        sha256: str | None = None,
        page: PageRequest = EVERYTHING,
    ) -> Page[SearchHit]:
        """A page of the products, versions and files of the caller's groups matching
        ``text`` (or the files with a digest): products first, then versions, then files,
        each in the order they were stored."""
        names = visible_groups(principal)
        if sha256 is not None:
            sha256 = sha256.strip().lower()
            if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
                raise InvalidRequest("sha256 must be 64 hexadecimal digits", field="sha256")
        text = (text or "").strip()
        if not text and sha256 is None:
            raise InvalidRequest("give a search text or a sha256", field="q")
        if len(text) > 200:
            raise InvalidRequest("search text is longer than 200 characters", field="q")
        found = search_statement(names, text, sha256, self.db.dialect)
        table = found.subquery("found")
        with self.db.read() as session:
            rows = fetch(
                session,
                sa.select(table),
                (table.c.phase, table.c.id),
                page,
                scope=json.dumps(["search", text, sha256]),
                key=lambda row: (int(row.phase), int(row.id)),
            )
            return rows.map(_hit)


_KINDS = ("product", "version", "file")


def _registration_request() -> Any:
    """The product's latest registration request, per product row (``None``: never reviewed)."""
    return (
        sa.select(sa.func.max(Request.id))
        .where(Request.product_id == Product.id, Request.kind == Kind.REGISTER.value)
        .correlate(Product)
        .scalar_subquery()
    )


def _hit(row: Any) -> SearchHit:
    return SearchHit(
        _KINDS[int(row.phase)], row.group, row.product, row.version, row.file, row.sha256, row.size
    )
