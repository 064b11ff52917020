"""Products, versions, files and search on the wire (``/api/v1/groups/<g>/products...``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, computed_field

from repo_server.api.paging import Paged, PageQuery
from repo_server.api.schemas.common import (
    Body,
    Label,
    Moment,
    Out,
    ProductName,
    Query,
    Sha256,
    Text,
)

Category = Literal["application", "system", "device_network"]
Origin = Literal["in_house", "purchased"]
VersionState = Literal["draft", "submitted", "accepted", "rejected", "checked_in", "retired"]
#: Build provenance travels as query parameters of the upload: short printable text.
BuildValue = Annotated[str, Field(max_length=200, pattern=r"^[\x20-\x7e]*$")]


class Product(Out):
    """One product of a group."""

    group: str
    name: str
    category: Category
    origin: Origin
    vendor: str | None
    description: str
    created_at: Moment
    created_by: str
    version_count: int
    registration: Literal["pending", "registered", "refused"]
    registration_request: int | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ref(self) -> str:
        """``group/product``."""
        return f"{self.group}/{self.name}"


class ProductList(Paged):
    """A page of the products of a group, by name."""

    products: list[Product]


class NewProduct(Body):
    """A product to register in a group."""

    name: ProductName
    category: Category
    origin: Origin
    vendor: Label | None = None
    description: Text = ""
    #: The first version, created (as a draft) when the registration is approved.
    version: Annotated[str, Field(min_length=1, max_length=64)] | None = None


class File(Out):
    """One file of a version."""

    name: str
    role: Literal["artifact", "document", "report"]
    size: int
    sha256: str
    media_type: str
    uploaded_by: str
    uploaded_at: Moment


class Version(Out):
    """One version with its files."""

    group: str
    product: str
    version: str
    ref: str
    state: VersionState
    library_number: int | None
    manifest_sha256: str | None
    description: str
    created_at: Moment
    created_by: str
    files: list[File]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def file_count(self) -> int:
        """How many files the version holds."""
        return len(self.files)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total_size(self) -> int:
        """The sum of the files' sizes in bytes."""
        return sum(f.size for f in self.files)


class VersionList(Paged):
    """A page of the versions of a product with their files, newest first (by SemVer
    precedence for in-house products, last created first for purchased ones)."""

    versions: list[Version]


class NewVersion(Body):
    """A draft version to create."""

    version: Annotated[str, Field(min_length=1, max_length=64)]
    description: Text = ""


class FileList(Paged):
    """A page of the files of a version, by name."""

    ref: str
    files: list[File]


class Uploaded(File):
    """The stored file; ``created`` is false when these exact bytes were already there."""

    ref: str
    created: bool


class UploadQuery(Query):
    """What the file is, and where it was built (recorded with it, shown in its history)."""

    role: Literal["artifact", "document", "report"] = "artifact"
    build_id: BuildValue = ""
    commit: BuildValue = ""
    pipeline: BuildValue = ""
    builder: BuildValue = ""


class SearchQuery(PageQuery):
    """A name (or part of one) and/or a sha256."""

    q: Annotated[str, Field(max_length=200)] = ""
    sha256: Annotated[str, Field(pattern=r"^[0-9a-fA-F]{64}$")] | None = None


def _absent(value: object) -> bool:
    return value is None


class SearchHit(Out):
    """One thing a search found, in one of the caller's groups."""

    kind: Literal["product", "version", "file"]
    group: str
    product: str
    # A product hit has no ``version``, ``file``... fields rather than ``null`` ones.
    version: str | None = Field(None, exclude_if=_absent)
    file: str | None = Field(None, exclude_if=_absent)
    sha256: Sha256 | None = Field(None, exclude_if=_absent)
    size: int | None = Field(None, exclude_if=_absent)


class SearchResults(Paged):
    """A page of what a search found."""

    results: list[SearchHit]
