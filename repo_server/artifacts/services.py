"""The catalogue of a group's storage area: products, versions, their files, and search.

Called by the API (``/api/v1/groups/<g>/products...``, ``/api/v1/search``).
Uploads and downloads are in :mod:`repo_server.artifacts.transfers`.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cmp_to_key

import sqlalchemy as sa
from sqlalchemy.orm import Session

from policies.access import Action
from policies.lifecycle import Kind, RequestState, covers, decide_create_version
from policies.names import validate_product_name
from policies.versions import Category, Origin, compare_in_house, validate_version
from repo_server.artifacts.facts import FileInfo, ProductInfo, SearchHit, VersionInfo
from repo_server.artifacts.lookup import files_of, find_product, find_version
from repo_server.artifacts.models import Product, StoredFile, Version
from repo_server.audit.services import AuditLog
from repo_server.auth.principal import Principal
from repo_server.clock import Clock
from repo_server.db import Database
from repo_server.errors import Conflict, InvalidRequest
from repo_server.groups.models import Group
from repo_server.lifecycle.facts import enforce, product_facts, records_refusals
from repo_server.lifecycle.models import Request
from repo_server.visibility import resolve_group, visible_groups

MAX_DESCRIPTION = 10_000
SEARCH_LIMIT = 200


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
    ) -> ProductInfo:
        """Register a product in one of the caller's groups."""
        exists = f"product {group}/{name} already exists"
        with self.db.write(conflict=exists) as session:
            row_group = resolve_group(session, principal, group, Action.REGISTER_PRODUCT)
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
            found = session.scalar(
                sa.select(Product.id).where(Product.group_id == row_group.id, Product.name == name)
            )
            if found is not None:
                raise Conflict(exists)
            product = Product(
                group_id=row_group.id,
                name=name,
                category=category,
                origin=origin,
                vendor=vendor,
                description=_check_description(description),
                created_at=self.clock.now(),
                created_by=principal.username,
            )
            session.add(product)
            session.flush()
            self.audit.record(
                session,
                principal,
                "product.register",
                group=group,
                target=f"{group}/{name}",
                details={"category": category, "origin": origin, "vendor": vendor},
            )
            return ProductInfo.of(group, product, 0)

    def list_products(self, principal: Principal, group: str) -> Sequence[ProductInfo]:
        """The products of one of the caller's groups, by name."""
        with self.db.read() as session:
            row_group = resolve_group(session, principal, group, Action.BROWSE)
            counts = (
                sa.select(Version.product_id, sa.func.count().label("n"))
                .group_by(Version.product_id)
                .subquery()
            )
            rows = session.execute(
                sa.select(Product, counts.c.n)
                .outerjoin(counts, counts.c.product_id == Product.id)
                .where(Product.group_id == row_group.id)
                .order_by(Product.name)
            )
            return [ProductInfo.of(group, product, int(n or 0)) for product, n in rows]

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
            return ProductInfo.of(group, product, int(count or 0))

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
            row = Version(
                product_id=row_product.id,
                version=version,
                state="draft",
                upgrade_request_id=self._covering_upgrade(session, row_product, version)
                if decision.rule == "upgrade.approved"
                else None,
                description=_check_description(description),
                created_at=self.clock.now(),
                created_by=principal.username,
            )
            session.add(row)
            session.flush()
            self.audit.record(
                session,
                principal,
                "version.create",
                group=group,
                target=f"{group}/{product}@{version}",
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
        self, principal: Principal, group: str, product: str
    ) -> Sequence[VersionInfo]:
        """The versions of a product, newest first (by SemVer for in-house products)."""
        with self.db.read() as session:
            row_group = resolve_group(session, principal, group, Action.BROWSE)
            row_product = find_product(session, row_group, product)
            versions = list(
                session.scalars(sa.select(Version).where(Version.product_id == row_product.id))
            )
            files: dict[int, list[FileInfo]] = {v.id: [] for v in versions}
            if versions:
                for row in session.scalars(
                    sa.select(StoredFile)
                    .where(StoredFile.version_id.in_(files))
                    .order_by(StoredFile.name)
                ):
                    files[row.version_id].append(FileInfo.of(row))
            infos = [VersionInfo.of(group, product, v, tuple(files[v.id])) for v in versions]
            if row_product.origin == Origin.IN_HOUSE:
                infos.sort(key=cmp_to_key(lambda a, b: compare_in_house(b.version, a.version)))
            else:
                infos.sort(key=lambda info: info.created_at, reverse=True)
            return infos

    def get_version(
        self, principal: Principal, group: str, product: str, version: str
    ) -> VersionInfo:
        """One version with its files."""
        with self.db.read() as session:
            row_group = resolve_group(session, principal, group, Action.BROWSE)
            row_product = find_product(session, row_group, product)
            row = find_version(session, row_group, row_product, version)
            files = tuple(FileInfo.of(f) for f in files_of(session, row))
            return VersionInfo.of(group, product, row, files)

    # -- search --------------------------------------------------------------------

    def search(
        self, principal: Principal, text: str | None = None, sha256: str | None = None
    ) -> Sequence[SearchHit]:
        """Products, versions and files of the caller's groups matching ``text`` or a digest."""
        names = visible_groups(principal)
        if names == []:
            return []
        in_scope = Group.name.in_(names) if names is not None else sa.true()
        if sha256 is not None:
            sha256 = sha256.strip().lower()
            if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
                raise InvalidRequest("sha256 must be 64 hexadecimal digits", field="sha256")
        text = (text or "").strip()
        if not text and sha256 is None:
            raise InvalidRequest("give a search text or a sha256", field="q")
        if len(text) > 200:
            raise InvalidRequest("search text is longer than 200 characters", field="q")
        hits: list[SearchHit] = []
        with self.db.read() as session:
            base = (
                sa.select(Group.name, Product.name, Version.version, StoredFile)
                .join(Product, Product.group_id == Group.id)
                .join(Version, Version.product_id == Product.id)
                .join(StoredFile, StoredFile.version_id == Version.id)
                .where(in_scope)
            )
            if sha256 is not None:
                rows = session.execute(base.where(StoredFile.sha256 == sha256).limit(SEARCH_LIMIT))
                return [SearchHit("file", g, p, v, f.name, f.sha256, f.size) for g, p, v, f in rows]
            escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            pattern = f"%{escaped}%"
            for g, p in session.execute(
                sa.select(Group.name, Product.name)
                .join(Product, Product.group_id == Group.id)
                .where(in_scope, sa.func.lower(Product.name).like(pattern, escape="\\"))
                .order_by(Group.name, Product.name)
                .limit(SEARCH_LIMIT)
            ):
                hits.append(SearchHit("product", g, p))
            for g, p, v in session.execute(
                sa.select(Group.name, Product.name, Version.version)
                .join(Product, Product.group_id == Group.id)
                .join(Version, Version.product_id == Product.id)
                .where(
                    in_scope,
                    sa.func.lower(Version.version).like(pattern, escape="\\"),
                )
                .order_by(Group.name, Product.name, Version.version)
                .limit(SEARCH_LIMIT)
            ):
                hits.append(SearchHit("version", g, p, v))
            for g, p, v, f in session.execute(
                base.where(sa.func.lower(StoredFile.name).like(pattern, escape="\\"))
                .order_by(Group.name, Product.name, Version.version, StoredFile.name)
                .limit(SEARCH_LIMIT)
            ):
                hits.append(SearchHit("file", g, p, v, f.name, f.sha256, f.size))
        return hits[:SEARCH_LIMIT]
