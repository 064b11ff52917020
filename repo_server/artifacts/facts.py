"""Products, versions and files as services hand them out: frozen, JSON-ready."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from repo_server.artifacts.models import Product, StoredFile, Version
from repo_server.clock import iso


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

    def to_json(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "name": self.name,
            "role": self.role,
            "size": self.size,
            "sha256": self.sha256,
            "media_type": self.media_type,
            "uploaded_by": self.uploaded_by,
            "uploaded_at": iso(self.uploaded_at),
        }


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

    def to_json(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "group": self.group,
            "product": self.product,
            "version": self.version,
            "ref": self.ref,
            "state": self.state,
            "library_number": self.library_number,
            "manifest_sha256": self.manifest_sha256,
            "description": self.description,
            "created_at": iso(self.created_at),
            "created_by": self.created_by,
            "file_count": len(self.files),
            "total_size": sum(f.size for f in self.files),
            "files": [f.to_json() for f in self.files],
        }


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

    @classmethod
    def of(cls, group: str, row: Product, version_count: int) -> ProductInfo:
        """The facts of a product row."""
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
        )

    def to_json(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "group": self.group,
            "name": self.name,
            "ref": f"{self.group}/{self.name}",
            "category": self.category,
            "origin": self.origin,
            "vendor": self.vendor,
            "description": self.description,
            "created_at": iso(self.created_at),
            "created_by": self.created_by,
            "version_count": self.version_count,
        }


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

    def to_json(self) -> dict[str, Any]:
        """The JSON form (absent parts are left out)."""
        body: dict[str, Any] = {"kind": self.kind, "group": self.group, "product": self.product}
        for key in ("version", "file", "sha256", "size"):
            value = getattr(self, key)
            if value is not None:
                body[key] = value
        return body
