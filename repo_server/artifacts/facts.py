"""Products, versions and files as services hand them out: frozen, JSON-ready."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from repo_server.artifacts.models import Product, StoredFile, Version


@dataclass(frozen=True)
class FileInfo:
    """One file of a version."""

    name: str
    role: str
    size: int
    sha256: str
    media_type: str
    uploaded_by: str
    uploaded_at: datetime

    @classmethod
    def of(cls, row: StoredFile) -> FileInfo:
        """The facts of a file row."""
        return cls(
            row.name,
            row.role,
            row.size,
            row.sha256,
            row.media_type,
            row.uploaded_by,
            row.uploaded_at,
        )


@dataclass(frozen=True)
class VersionInfo:
    """One version with its files."""

    group: str
    product: str
    version: str
    state: str
    description: str
    created_at: datetime
    created_by: str
    files: tuple[FileInfo, ...]
    library_number: int | None = None
    #: sha256 of the signed manifest's payload (set at check-in).
    manifest_sha256: str | None = None

    @classmethod
    def of(cls, group: str, product: str, row: Version, files: tuple[FileInfo, ...]) -> VersionInfo:
        """The facts of a version row and its files."""
        return cls(
            group,
            product,
            row.version,
            row.state,
            row.description,
            row.created_at,
            row.created_by,
            files,
            row.library_number,
            row.manifest_sha256,
        )

    @property
    def ref(self) -> str:
        """``group/product@version``."""
        return f"{self.group}/{self.product}@{self.version}"


@dataclass(frozen=True)
class ProductInfo:
    """One product of a group."""

    group: str
    name: str
    category: str
    origin: str
    vendor: str | None
    description: str
    created_at: datetime
    created_by: str
    version_count: int
    #: ``pending`` (a version manager decides its registration request), ``registered``
    #: or ``refused``.
    registration: str = "registered"
    #: The registration request, when it was reviewed.
    registration_request: int | None = None

    @classmethod
    def of(
        cls, group: str, row: Product, version_count: int, request: int | None = None
    ) -> ProductInfo:
        """The facts of a product row (``request``: its registration request)."""
        return cls(
            group,
            row.name,
            row.category,
            row.origin,
            row.vendor,
            row.description,
            row.created_at,
            row.created_by,
            version_count,
            row.registration,
            request,
        )


@dataclass(frozen=True)
class SearchHit:
    """One thing a search found, in one of the caller's groups."""

    kind: str  # product, version or file
    group: str
    product: str
    version: str | None = None
    file: str | None = None
    sha256: str | None = None
    size: int | None = None
