"""Rows of products, versions and stored files."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from repo_server.db import Base


class Product(Base):
    """A software product (软件产品) owned by one project group."""

    __tablename__ = "products"
    __table_args__ = (sa.UniqueConstraint("group_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(sa.ForeignKey("groups.id"))
    name: Mapped[str] = mapped_column(sa.String(100))
    #: ``application``, ``system`` or ``device_network``.
    category: Mapped[str] = mapped_column(sa.String(32))
    #: ``in_house`` or ``purchased``.
    origin: Mapped[str] = mapped_column(sa.String(16))
    vendor: Mapped[str | None] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(sa.String(64))
    #: ``pending`` until a version manager approves the registration request, then
    #: ``registered`` (or ``refused``); :class:`policies.lifecycle.Registration`.
    registration: Mapped[str] = mapped_column(
        sa.String(16), default="registered", server_default="registered"
    )


class Version(Base):
    """One release of a product (版本) and its state in the lifecycle."""

    __tablename__ = "versions"
    __table_args__ = (
        sa.UniqueConstraint("product_id", "version"),
        sa.UniqueConstraint("product_id", "library_number"),
        # The listing's order, newest first: a page is one range of this index.
        sa.Index("ix_versions_product_id_precedence_id", "product_id", "precedence", "id"),
        # The versions in a passing state (submitted, accepted): the inbox's candidates.
        sa.Index("ix_versions_state_id", "state", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id"))
    version: Mapped[str] = mapped_column(sa.String(64))
    state: Mapped[str] = mapped_column(sa.String(32), default="draft")
    #: :func:`policies.versions.precedence_key` of ``version`` (SemVer rank as hex text).
    precedence: Mapped[str] = mapped_column(sa.String(400), default="")
    #: Assigned when the version is checked in: 1, 2, 3... per product, never reused.
    library_number: Mapped[int | None]
    #: The approved upgrade request this version was created under, if one was needed.
    upgrade_request_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("requests.id", use_alter=True)
    )
    description: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(sa.String(64))
    #: The signed manifest (DSSE envelope) written at check-in, and its payload's sha256.
    manifest: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    manifest_sha256: Mapped[str | None] = mapped_column(sa.String(64))


class StoredFile(Base):
    """A file of a version: its name, checksum and the blob that holds its bytes."""

    __tablename__ = "files"
    __table_args__ = (sa.UniqueConstraint("version_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("versions.id"))
    name: Mapped[str] = mapped_column(sa.String(255))
    #: ``artifact`` (the software), ``document`` (its documents) or ``report`` (an
    #: acceptance report, attached by the officer who tested it).
    role: Mapped[str] = mapped_column(sa.String(16), default="artifact")
    size: Mapped[int] = mapped_column(sa.BigInteger)
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    media_type: Mapped[str] = mapped_column(sa.String(127), default="application/octet-stream")
    uploaded_by: Mapped[str] = mapped_column(sa.String(64))
    uploaded_at: Mapped[datetime]
    #: Build provenance the uploader gave (``build_id``, ``commit``, ``pipeline``,
    #: ``builder``), as JSON text, or ``None``.
    build: Mapped[str | None] = mapped_column(sa.Text)
    #: The ``build_id`` of ``build``, indexed: the build batch the file belongs to.
    build_id: Mapped[str | None] = mapped_column(sa.String(200), index=True)


class UploadSession(Base):
    """A file of a version arriving in parts (a resumable upload), until it is committed.

    Its bytes are staged in the blob store (``staging``: a file on the folder backend, a
    multipart upload on S3) and become a blob and a :class:`StoredFile` only when the
    whole file's size and sha256 match; ``depot-server gc`` removes an abandoned one."""

    __tablename__ = "upload_sessions"
    __table_args__ = (sa.Index("ix_upload_sessions_version_name", "version_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("versions.id"))
    name: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[str] = mapped_column(sa.String(16), default="artifact")
    size: Mapped[int] = mapped_column(sa.BigInteger)
    #: The whole file's sha256, when the uploader knew it at the start (else at commit).
    sha256: Mapped[str | None] = mapped_column(sa.String(64))
    part_size: Mapped[int] = mapped_column(sa.BigInteger)
    #: The blob store's id of the staged bytes.
    staging: Mapped[str] = mapped_column(sa.String(300))
    media_type: Mapped[str | None] = mapped_column(sa.String(127))
    build: Mapped[str | None] = mapped_column(sa.Text)
    created_by: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime]
    #: The last part received (or the creation): gc removes sessions idle for long.
    updated_at: Mapped[datetime] = mapped_column(index=True)
    #: While a part streams in, until when its writer holds the session (one at a time).
    busy_until: Mapped[datetime | None]


class UploadPart(Base):
    """One part an upload session holds: part ``number`` (from 1) ends at ``end``; ``sha256``
    is the digest of the file's bytes up to there, ``state`` the running hash at that point."""

    __tablename__ = "upload_parts"

    session_id: Mapped[int] = mapped_column(
        sa.ForeignKey("upload_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    number: Mapped[int] = mapped_column(primary_key=True)
    size: Mapped[int] = mapped_column(sa.BigInteger)
    end: Mapped[int] = mapped_column(sa.BigInteger)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    state: Mapped[bytes] = mapped_column(sa.LargeBinary)
    etag: Mapped[str] = mapped_column(sa.String(200), default="")
