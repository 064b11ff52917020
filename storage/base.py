"""The blob-store protocol, its value types and its exceptions."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self

CHUNK_SIZE = 1 << 20

_AREA = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class StorageError(Exception):
    """Base of every error raised by a blob store."""


class InvalidBlobAddress(StorageError):
    """An area name or digest that cannot form a blob key."""


class BlobNotFound(StorageError):
    """No blob with that digest in that area."""


class StorageUnavailable(StorageError):
    """The backend cannot be reached or refused the operation (not the caller's fault)."""


class IntegrityMismatch(StorageError):
    """The bytes received are not what the uploader declared; nothing was stored.

    ``kind`` is ``"size"`` or ``"sha256"``; ``expected`` is what was declared and
    ``actual`` what the bytes turned out to be.
    """

    def __init__(self, kind: str, expected: str | int, actual: str | int) -> None:
        if kind == "size":
            message = f"size mismatch: declared {expected} bytes, received {actual}"
        else:
            message = f"sha256 mismatch: declared {expected}, received bytes hash to {actual}"
        super().__init__(message)
        self.kind = kind
        self.expected = expected
        self.actual = actual


class Readable(Protocol):
    """Anything with a ``read(n)`` returning at most ``n`` bytes, ``b""`` at the end."""

    def read(self, n: int = -1, /) -> bytes: ...


ProgressCallback = Callable[[int], None]


class Hasher(Protocol):
    """What a blob store hashes with: ``hashlib.sha256()`` or a running sha256."""

    def update(self, data: bytes, /) -> None: ...

    def hexdigest(self) -> str: ...


@dataclass(frozen=True)
class BlobRef:
    """A blob that is now stored: where, what, and whether this call stored it."""

    area: str
    sha256: str
    size: int
    key: str
    created: bool


@dataclass(frozen=True)
class BlobInfo:
    """A blob found when listing a store (for scrubbing and garbage collection)."""

    area: str
    sha256: str
    size: int
    #: When the blob was stored (seconds since the epoch): garbage collection spares the
    #: young ones, which an upload may be about to refer to.
    modified: float = 0.0


@dataclass(frozen=True)
class StagedPart:
    """A part of a staged upload as the store holds it: its number (from 1) and, on S3,
    the part's ETag that completing the multipart upload names."""

    number: int
    etag: str = ""


class ClosingReader:
    """Context-manager plumbing shared by the backends' readers."""

    def close(self) -> None:
        """Release what the reader holds (a file, an HTTP response)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class BlobReader(Protocol):
    """An open blob: iterate for chunks of bytes, close when done (or use ``with``)."""

    size: int

    def __iter__(self) -> Iterator[bytes]: ...

    def close(self) -> None: ...

    def __enter__(self) -> BlobReader: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class BlobStore(Protocol):
    """Where blobs live. Every method streams; none holds a whole blob in memory.

    Blobs are immutable: ``ingest`` never replaces stored bytes. A committed blob is removed
    only by :meth:`remove`, which the server calls for a blob that no file refers to (the
    bytes of an upload refused in a race, and garbage collection). Temporary data of
    unfinished uploads is invisible and removed by :meth:`remove_incomplete`.
    """

    description: str

    def ingest(
        self,
        area: str,
        source: Readable,
        *,
        size: int,
        sha256: str,
        progress: ProgressCallback | None = None,
    ) -> BlobRef:
        """Store exactly ``size`` bytes from ``source`` whose sha256 must be ``sha256``.

        Called by the server for each upload while the request body streams in. The
        bytes are hashed on the way into a temporary object and committed only if size and
        digest match; otherwise :class:`IntegrityMismatch` is raised and nothing is
        visible. If the blob already exists, the bytes are verified and discarded.
        """
        ...

    def stat(self, area: str, sha256: str) -> int | None:
        """The size of a stored blob, or ``None`` when it is not there."""
        ...

    def open(self, area: str, sha256: str, start: int = 0, length: int | None = None) -> BlobReader:
        """Open a stored blob for reading from ``start``, at most ``length`` bytes.

        Raises :class:`BlobNotFound` if it is not there.
        """
        ...

    def local_path(self, area: str, sha256: str) -> Path | None:
        """A local file holding the blob (so it can be sent with sendfile), if any."""
        ...

    def iter_blobs(self, area: str | None = None) -> Iterator[BlobInfo]:
        """Every committed blob (in ``area``, or everywhere), in key order."""
        ...

    def remove(self, area: str, sha256: str) -> None:
        """Remove a committed blob that no file refers to (nothing when it is not there).

        The caller holds the blob's lock and has checked that no file refers to it.
        """
        ...

    def remove_incomplete(self, older_than: float, now: float) -> list[str]:
        """Remove temporary data of uploads begun before ``now - older_than`` (seconds).

        Returns a description of each removed item. Called by ``depot-server gc``.
        """
        ...

    def begin_staging(self) -> str:
        """Begin a staged upload (an upload session's bytes) and return its opaque id.

        Called by the server when a session is created; nothing of it is visible as a blob
        until :meth:`commit_staging`."""
        ...

    def stage_part(
        self,
        staging: str,
        number: int,
        offset: int,
        source: Readable,
        *,
        size: int,
        sha256: str,
        hasher: Hasher,
        progress: ProgressCallback | None = None,
    ) -> StagedPart:
        """Store part ``number`` (from 1): ``size`` bytes from ``source`` at ``offset``.

        ``hasher`` holds the running sha256 of the bytes before ``offset`` and is updated
        with the part's; its digest must then be ``sha256`` (:class:`IntegrityMismatch`
        otherwise). The part is durable when this returns. A part sent again replaces
        the earlier bytes of that part (the caller keeps two writers of a session apart).
        """
        ...

    def commit_staging(
        self, staging: str, area: str, sha256: str, size: int, parts: list[StagedPart]
    ) -> BlobRef:
        """Make the staged bytes (``size`` of them, whose digest the caller checked) the
        blob ``sha256`` of ``area``; the staging is gone afterwards. If the blob exists
        already, the staged copy is dropped (``created=False``)."""
        ...

    def abort_staging(self, staging: str) -> None:
        """Remove a staged upload's bytes (nothing when they are gone already)."""
        ...

    def create(self) -> None:
        """Make the store's container for a new installation (a folder; an S3 bucket is
        the operator's, or made when opened with ``create_bucket=true``)."""
        ...

    def check(self) -> None:
        """Raise :class:`StorageUnavailable` with a clear message if the store is unusable.

        Never creates anything: a store that is not where the settings say is unusable."""
        ...


def check_area(area: str) -> str:
    """Return ``area`` if it can be a storage-area name (a lowercase slug), else raise."""
    if not isinstance(area, str) or not _AREA.fullmatch(area):
        raise InvalidBlobAddress(f"invalid storage area name {area!r}")
    return area


def check_sha256(sha256: str) -> str:
    """Return ``sha256`` if it is 64 lowercase hex digits, else raise."""
    if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
        raise InvalidBlobAddress(f"invalid sha256 digest {sha256!r}")
    return sha256


def blob_key(area: str, sha256: str) -> str:
    """The key of a blob inside a store: ``areas/<area>/sha256/ab/cd/<hex>``."""
    check_area(area)
    check_sha256(sha256)
    return f"areas/{area}/sha256/{sha256[0:2]}/{sha256[2:4]}/{sha256}"


def parse_blob_key(key: str) -> tuple[str, str] | None:
    """The (area, sha256) of a blob key, or ``None`` if ``key`` is not a blob key."""
    parts = key.split("/")
    if len(parts) != 6 or parts[0] != "areas" or parts[2] != "sha256":
        return None
    area, hexdigest = parts[1], parts[5]
    if not _AREA.fullmatch(area) or not _SHA256.fullmatch(hexdigest):
        return None
    if parts[3] != hexdigest[0:2] or parts[4] != hexdigest[2:4]:
        return None
    return area, hexdigest
