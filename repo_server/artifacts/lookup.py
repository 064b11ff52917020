"""Finding a product, version or file inside a group the caller may see."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from repo_server.artifacts.models import Product, StoredFile, Version
from repo_server.errors import NotFound
from repo_server.groups.models import Group


def find_product(session: Session, group: Group, name: str) -> Product:
    """The product ``name`` of ``group``, else ``NotFound``."""
    product = session.scalar(
        sa.select(Product).where(Product.group_id == group.id, Product.name == name)
    )
    if product is None:
        raise NotFound(f"product {group.name}/{name} not found")
    return product


#: Built once: a listing of a version's files runs it at every call.
_PRODUCT_VERSION = (
    sa.select(Product, Version)
    .outerjoin(
        Version,
        (Version.product_id == Product.id) & (Version.version == sa.bindparam("version")),
    )
    .where(Product.group_id == sa.bindparam("group_id"), Product.name == sa.bindparam("product"))
)


def find_product_version(
    session: Session, group: Group, product: str, version: str
) -> tuple[Product, Version]:
    """The product ``product`` of ``group`` and its version ``version``, in one statement;
    ``NotFound`` naming the product, or the version, that is missing."""
    found = session.execute(
        _PRODUCT_VERSION, {"group_id": group.id, "product": product, "version": version}
    ).first()
    if found is None:
        raise NotFound(f"product {group.name}/{product} not found")
    row_product, row_version = found
    if row_version is None:
        raise NotFound(f"version {group.name}/{product}@{version} not found")
    return row_product, row_version


def find_version(
    session: Session, group: Group, product: Product, version: str, *, lock: bool = False
) -> Version:
    """The version ``version`` of ``product``, else ``NotFound``."""
    query = sa.select(Version).where(Version.product_id == product.id, Version.version == version)
    if lock:
        query = query.with_for_update()
    row = session.scalar(query)
    if row is None:
        raise NotFound(f"version {group.name}/{product.name}@{version} not found")
    return row


def find_file(session: Session, version: Version, name: str) -> StoredFile | None:
    """The file ``name`` of ``version``, or ``None``."""
    return session.scalar(
        sa.select(StoredFile).where(StoredFile.version_id == version.id, StoredFile.name == name)
    )


def files_of(session: Session, version: Version) -> list[StoredFile]:
    """The files of ``version``, by name."""
    return list(
        session.scalars(
            sa.select(StoredFile)
            .where(StoredFile.version_id == version.id)
            .order_by(StoredFile.name)
        )
    )
