"""The folder backend: the embedded default.

Layout under the root: ``areas/<area>/sha256/ab/cd/<hex>`` for committed blobs (made
read-only), ``tmp/`` for uploads in progress and ``staging/`` for upload sessions (one
file each, its parts written at their offsets), on the same file system so that the
commit is an atomic ``link`` that never replaces an existing blob.
"""

from __future__ import annotations

import contextlib
import errno
import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

from storage.base import (
    CHUNK_SIZE,
    BlobInfo,
    BlobNotFound,
    BlobRef,
    ClosingReader,
    Hasher,
    ProgressCallback,
    Readable,
    StagedPart,
    StorageUnavailable,
    blob_key,
    check_area,
    parse_blob_key,
)
from storage.pipeline import discard, pump

# Flush written data to disk every so often while an upload streams in, so that the
# final fsync does not wait for the whole file and the disk works while the network does.
SYNC_EVERY = 64 << 20
PART_SYNC_EVERY = 8 << 20


class FileBlobReader(ClosingReader):
    """Reads ``length`` bytes of a file from ``start``, in chunks."""

    def __init__(self, path: Path, start: int, length: int | None) -> None:
        try:
            self._file = open(path, "rb")  # noqa: SIM115 - closed by close()
        except FileNotFoundError:
            raise BlobNotFound(str(path.name)) from None
        total = os.fstat(self._file.fileno()).st_size
        start = min(max(start, 0), total)
        self.size = total - start if length is None else max(0, min(length, total - start))
        self._file.seek(start)

    def __iter__(self) -> Iterator[bytes]:
        remaining = self.size
        while remaining > 0:
            chunk = self._file.read(min(CHUNK_SIZE, remaining))
            if not chunk:
                return
            remaining -= len(chunk)
            yield chunk

    def close(self) -> None:
        self._file.close()


class _DurableWriter:
    """Writes chunks to a file descriptor while a helper thread flushes them to disk.

    Every ``SYNC_EVERY`` bytes the flusher is woken to ``fdatasync`` what has been
    written so far, so the disk works while the network does and the final ``fsync``
    has little left to do; the writer itself never waits for the disk.
    """

    def __init__(self, fd: int, every: int = SYNC_EVERY) -> None:
        self.fd = fd
        self.every = every
        self.unsynced = 0
        self.error: OSError | None = None
        self._wake = threading.Event()
        self._done = False
        self._flusher = threading.Thread(target=self._flush, name="depot-fdatasync", daemon=True)
        self._flusher.start()

    def _flush(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            if self._done:
                return
            try:
                os.fdatasync(self.fd)
            except OSError as error:
                self.error = error
                return

    def __call__(self, chunk: bytes) -> None:
        if self.error is not None:
            raise StorageUnavailable(f"cannot write blob: {self.error.strerror}")
        try:
            view = memoryview(chunk)
            while view:
                written = os.write(self.fd, view)
                view = view[written:]
        except OSError as error:
            raise StorageUnavailable(f"cannot write blob: {error.strerror}") from error
        self.unsynced += len(chunk)
        if self.unsynced >= self.every:
            self.unsynced = 0
            self._wake.set()

    def close(self, *, sync: bool) -> None:
        """Stop the flusher; with ``sync``, make everything written durable."""
        self._done = True
        self._wake.set()
        self._flusher.join()
        if self.error is not None:
            raise StorageUnavailable(f"cannot write blob: {self.error.strerror}")
        if sync:
            os.fsync(self.fd)


class FilesystemBlobStore:
    """Blobs in a local folder (see the module docstring for the layout)."""

    def __init__(self, root: str | os.PathLike[str], *, fsync: bool = True) -> None:
        self.root = Path(root).absolute()
        self.fsync = fsync
        self.description = f"file://{self.root}"
        self._tmp = self.root / "tmp"
        self._staging = self.root / "staging"

    def _path(self, area: str, sha256: str) -> Path:
        return self.root / blob_key(area, sha256)

    def ingest(
        self,
        area: str,
        source: Readable,
        *,
        size: int,
        sha256: str,
        progress: ProgressCallback | None = None,
    ) -> BlobRef:
        final = self._path(area, sha256)
        key = blob_key(area, sha256)
        if final.exists():
            pump(source, discard, size=size, sha256=sha256, progress=progress)
            return BlobRef(area, sha256, size, key, created=False)
        self._tmp.mkdir(parents=True, exist_ok=True)
        tmp = self._tmp / f"{uuid.uuid4().hex}.part"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            writer = _DurableWriter(fd)
            try:
                pump(source, writer, size=size, sha256=sha256, progress=progress)
            except BaseException:
                writer.close(sync=False)
                raise
            else:
                writer.close(sync=self.fsync)
            finally:
                os.close(fd)
            os.chmod(tmp, 0o444)
            final.parent.mkdir(parents=True, exist_ok=True)
            created = True
            try:
                os.link(tmp, final)
            except FileExistsError:
                created = False  # the same bytes arrived concurrently; keep the first
            if created and self.fsync:
                _fsync_dir(final.parent)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        return BlobRef(area, sha256, size, key, created=created)

    def _staged(self, staging: str) -> Path:
        if not staging.isalnum():
            raise StorageUnavailable(f"invalid staging id {staging!r}")
        return self._staging / f"{staging}.part"

    def begin_staging(self) -> str:
        staging = uuid.uuid4().hex
        try:
            self._staging.mkdir(parents=True, exist_ok=True)
            os.close(os.open(self._staged(staging), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except OSError as error:
            raise StorageUnavailable(f"cannot begin a staged upload: {error.strerror}") from error
        return staging

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
        try:
            fd = os.open(self._staged(staging), os.O_WRONLY)
        except FileNotFoundError:
            raise StorageUnavailable(f"staged upload {staging} is gone") from None
        try:
            os.lseek(fd, offset, os.SEEK_SET)
            # Flushed more often than a one-shot upload: the part's answer waits for its
            # fsync, and the client sends the next part only then.
            writer = _DurableWriter(fd, PART_SYNC_EVERY)
            try:
                pump(source, writer, size=size, sha256=sha256, progress=progress, hasher=hasher)
            except BaseException:
                writer.close(sync=False)
                raise
            writer.close(sync=self.fsync)
        finally:
            os.close(fd)
        return StagedPart(number)

    def commit_staging(
        self, staging: str, area: str, sha256: str, size: int, parts: list[StagedPart]
    ) -> BlobRef:
        path = self._staged(staging)
        final = self._path(area, sha256)
        key = blob_key(area, sha256)
        try:
            os.truncate(path, size)  # a part sent again shorter than before leaves no tail
            os.chmod(path, 0o444)
            final.parent.mkdir(parents=True, exist_ok=True)
            created = True
            try:
                os.link(path, final)
            except FileExistsError:
                created = False  # the same bytes are stored already; keep the first
            if created and self.fsync:
                _fsync_dir(final.parent)
            path.unlink()
        except FileNotFoundError:
            raise StorageUnavailable(f"staged upload {staging} is gone") from None
        except OSError as error:
            raise StorageUnavailable(f"cannot commit blob {key}: {error.strerror}") from error
        return BlobRef(area, sha256, size, key, created=created)

    def abort_staging(self, staging: str) -> None:
        try:
            self._staged(staging).unlink(missing_ok=True)
        except OSError as error:
            raise StorageUnavailable(
                f"cannot remove staged upload {staging}: {error.strerror}"
            ) from error

    def stat(self, area: str, sha256: str) -> int | None:
        try:
            return self._path(area, sha256).stat().st_size
        except FileNotFoundError:
            return None

    def open(
        self, area: str, sha256: str, start: int = 0, length: int | None = None
    ) -> FileBlobReader:
        return FileBlobReader(self._path(area, sha256), start, length)

    def local_path(self, area: str, sha256: str) -> Path | None:
        path = self._path(area, sha256)
        return path if path.exists() else None

    def iter_blobs(self, area: str | None = None) -> Iterator[BlobInfo]:
        base = self.root / "areas"
        if area is not None:
            check_area(area)
            base = base / area
        if not base.is_dir():
            return
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames.sort()
            for name in sorted(filenames):
                path = Path(dirpath, name)
                parsed = parse_blob_key(path.relative_to(self.root).as_posix())
                if parsed is None:
                    continue
                with contextlib.suppress(FileNotFoundError):
                    found = path.stat()
                    yield BlobInfo(parsed[0], parsed[1], found.st_size, found.st_mtime)

    def remove(self, area: str, sha256: str) -> None:
        try:
            self._path(area, sha256).unlink(missing_ok=True)
        except OSError as error:
            raise StorageUnavailable(
                f"cannot remove blob {blob_key(area, sha256)}: {error.strerror}"
            ) from error

    def remove_incomplete(self, older_than: float, now: float) -> list[str]:
        removed: list[str] = []
        if not self._tmp.is_dir():
            return removed
        for entry in sorted(self._tmp.iterdir()):
            try:
                if entry.is_file() and entry.stat().st_mtime < now - older_than:
                    entry.unlink()
                    removed.append(f"tmp/{entry.name}")
            except FileNotFoundError:
                continue
        return removed

    def create(self) -> None:
        """Make the blob folder (a new installation); :meth:`check` never does."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StorageUnavailable(
                f"cannot create blob folder {self.root}: {error.strerror}"
            ) from error

    def check(self) -> None:
        # A folder that is not there was moved, renamed or not mounted: making a new,
        # empty one would answer every read with "not found" as if nothing had happened.
        if not self.root.is_dir():
            raise StorageUnavailable(
                f"blob folder {self.root} does not exist (moved, or not mounted?)"
            )
        try:
            self._tmp.mkdir(exist_ok=True)
            probe = self._tmp / f".probe-{uuid.uuid4().hex}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as error:
            raise StorageUnavailable(
                f"blob folder {self.root} is not writable: {error.strerror}"
            ) from error


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as error:  # some file systems cannot sync a directory
        if error.errno not in (errno.EINVAL, errno.ENOTSUP):
            raise
    finally:
        os.close(fd)
