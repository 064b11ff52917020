"""Pushing files into a version and pulling them out, verified.

Push: hash the file (sha256), then stream it with its declared size and digest; the
server verifies both before storing. Pull: stream into a hidden partial file while
hashing, resume it with an HTTP Range after an interruption, and rename it into place
only when size and sha256 match what the server recorded at upload.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from urllib3.exceptions import HTTPError as Urllib3Error

from client import resumable
from client.api import Api, seg, version_path
from client.errors import ClientError, Exit
from client.refs import Ref
from policies.errors import InvalidName
from policies.names import validate_file_path

CHUNK = 1 << 20
Progress = Callable[[int], None]


def _noop(_: int) -> None:
    pass


@dataclass(frozen=True)
class TransferResult:
    """What happened to one file: ``uploaded``, ``unchanged``, ``downloaded`` or ``resumed``."""

    name: str
    size: int
    sha256: str
    status: str
    path: str = ""

    def to_json(self) -> dict[str, Any]:
        """The JSON form (``state`` and its older spelling ``status`` say the same)."""
        body = {
            "name": self.name,
            "size": self.size,
            "sha256": self.sha256,
            "state": self.status,
            "status": self.status,
        }
        if self.path:
            body["path"] = self.path
        return body


def hash_file(path: Path, progress: Progress = _noop) -> str:
    """The sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb", buffering=0) as handle:
        buffer = bytearray(CHUNK)
        view = memoryview(buffer)
        while True:
            n = handle.readinto(buffer)
            if not n:
                break
            digest.update(view[:n])
            progress(n)
    return digest.hexdigest()


class _CountingReader:
    """A file whose reads report progress (the upload body)."""

    def __init__(self, handle: Any, progress: Progress) -> None:
        self.handle = handle
        self.progress = progress

    def read(self, n: int = -1) -> bytes:
        data: bytes = self.handle.read(n)
        self.progress(len(data))
        return data


def local_name(name: str) -> str:
    """``name`` (``sub/inner.txt`` and the like) if it is safe to create in the target
    folder, else ``ClientError``.

    The server checks names on upload; the client checks again, so that a server
    cannot make it write outside the folder it was given.
    """
    try:
        return validate_file_path(name)
    except InvalidName as error:
        raise ClientError(
            f"refusing to write a file named {name!r}: {error}", Exit.INTEGRITY
        ) from None


def push_file(
    api: Api,
    ref: Ref,
    path: Path,
    *,
    existing: dict[str, dict[str, Any]],
    role: str = "artifact",
    build: dict[str, str] | None = None,
    hashing: Progress = _noop,
    sending: Progress = _noop,
    name: str | None = None,
) -> TransferResult:
    """Upload one local file into the version ``ref`` (under ``name``, by default the
    file's own name).

    ``existing`` maps file names already in the version to their records: identical
    bytes are skipped, different bytes under the same name are a conflict (nothing is
    sent). The server checks size and sha256 again as the bytes arrive. ``build`` is
    the provenance recorded with the file (and signed into the manifest at check-in).
    """
    name = name or path.name
    try:
        validate_file_path(name)
    except InvalidName as error:
        raise ClientError(f"cannot push {str(path)!r}: {error}", Exit.INVALID) from None
    size = path.stat().st_size
    digest = hash_file(path, hashing)
    if name in existing:
        check_unchanged(ref, name, digest, existing)
        sending(size)
        return TransferResult(name, size, digest, "unchanged")
    return send_file(api, ref, path, name, size, digest, role=role, build=build, sending=sending)


def check_unchanged(ref: Ref, name: str, digest: str, existing: dict[str, dict[str, Any]]) -> None:
    """Nothing, when ``existing[name]`` holds these bytes; a conflict (exit 5) when it
    holds others: stored files never change."""
    if existing[name]["sha256"] != digest:
        raise ClientError(
            f"{ref} already holds {name!r} with different content "
            f"(sha256 {existing[name]['sha256']}); stored files never change",
            Exit.CONFLICT,
            "conflict",
            "upload it as a new version instead",
        )


def send_file(
    api: Api,
    ref: Ref,
    path: Path,
    name: str,
    size: int,
    digest: str | None,
    *,
    role: str = "artifact",
    build: dict[str, str] | None = None,
    sending: Progress = _noop,
) -> TransferResult:
    """Stream the file ``path`` as ``name`` with its size and digest; the server
    verifies both before it stores anything.

    A file of :func:`~client.resumable.threshold` bytes or more goes through an upload
    session (resumable, hashed while it is sent: ``digest`` may then be ``None``); a
    smaller one in one request, with the ``digest`` computed beforehand."""
    if digest is None or size >= resumable.threshold():
        whole, response, resumed = resumable.push_resumable(
            api, ref, path, name, size, role=role, build=build, sending=sending, sha256=digest
        )
        if response.get("sha256") != whole or response.get("size") != size:
            raise ClientError(f"the server recorded {name!r} differently than sent", Exit.INTEGRITY)
        status = "resumed" if resumed else "uploaded"
        return TransferResult(name, size, whole, status if response.get("created") else "unchanged")
    with open(path, "rb") as handle:
        response = _put(
            api, ref, name, role, size, digest, _CountingReader(handle, sending), build or {}
        )
    if response.get("sha256") != digest or response.get("size") != size:
        raise ClientError(f"the server recorded {name!r} differently than sent", Exit.INTEGRITY)
    return TransferResult(
        name, size, digest, "uploaded" if response.get("created") else "unchanged"
    )


def _put(
    api: Api,
    ref: Ref,
    name: str,
    role: str,
    size: int,
    digest: str,
    body: Any,
    build: dict[str, str],
) -> dict[str, Any]:
    import json

    response = api.send(
        "PUT",
        f"{version_path(ref)}/files/{file_path(name)}",
        params={"role": role, **build},
        body=body,
        headers={
            "Content-Length": str(size),
            "Content-Type": "application/octet-stream",
            "X-Checksum-Sha256": digest,
        },
    )
    result: dict[str, Any] = json.loads(response.data)
    return result


def refusal(api: Api, path: str) -> ClientError | None:
    """Why the server now refuses to send the file at ``path``, or ``None`` if it would
    or cannot say (it or its blob store is unavailable: the partial file is worth keeping).

    Asks with HEAD (nothing is sent, nothing is audited as a download); a HEAD answer
    has no body, so a refusal is asked again with a one-byte GET to get its reason.
    """
    try:
        api.send("HEAD", path, ok=(200,))
        return None
    except ClientError:
        pass
    try:
        api.send("GET", path, headers={"Range": "bytes=0-0"}, ok=(200, 206)).release_conn()
    except ClientError as error:
        return None if error.exit_code == Exit.UNAVAILABLE else error
    return None


def file_path(name: str) -> str:
    """A stored name in a URL: each segment escaped, the folders' ``/`` kept."""
    return "/".join(seg(part) for part in name.split("/"))


def _part_path(folder: Path, sha256: str, name: str) -> Path:
    # One per name and content: two files of the same bytes may be pulled at once.
    tag = hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]
    return folder / f".depot-{sha256[:20]}-{tag}.part"


def _inside(folder: Path, target: Path) -> None:
    """Refuse a target that a symbolic link in the folder would put outside of it."""
    root = folder.resolve()
    if not target.resolve().is_relative_to(root):
        raise ClientError(
            f"refusing to write {target}: it is outside {folder} (a symbolic link?)",
            Exit.INTEGRITY,
        )


class _Writer:
    """Hands chunks to ``use`` (a file's ``write``, a digest's ``update``) in a thread of
    its own, so that the network, the hashing and the disk overlap: on two cores a
    download is then as fast as the slowest of the three, not their sum (hashlib and
    file writes release the GIL)."""

    def __init__(self, use: Callable[[bytes], object], name: str = "depot-pull-write") -> None:
        self.use = use
        self.queue: queue.Queue[bytes | None] = queue.Queue(maxsize=8)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            chunk = self.queue.get()
            if chunk is None:
                return
            if self.error is None:
                try:
                    self.use(chunk)
                except BaseException as error:  # reported by put()/close()
                    self.error = error

    def put(self, chunk: bytes) -> None:
        if self.error is not None:
            raise self.error
        self.queue.put(chunk)

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error


def pull_file(
    api: Api,
    ref: Ref,
    record: dict[str, Any],
    folder: Path,
    *,
    force: bool = False,
    progress: Progress = _noop,
    deferred: list[tuple[Path, Path]] | None = None,
) -> TransferResult:
    """Download one file of ``ref`` (``record`` as listed by the server) into ``folder``.

    Resumes a partial download left by an earlier attempt; verifies size and sha256
    before renaming into place; leaves nothing under the final name on failure. With
    ``deferred``, the verified partial file and its final path are added to it instead of
    renamed: the caller puts a whole set in place once every file of it verified.
    """
    name = local_name(str(record["name"]))
    size = int(record["size"])
    expected = str(record["sha256"])
    target = folder / name
    if "/" in name:
        _inside(folder, target)
    if target.exists():
        if target.is_file() and target.stat().st_size == size and hash_file(target) == expected:
            progress(size)
            return TransferResult(name, size, expected, "unchanged", str(target))
        if not force:
            raise ClientError(
                f"{target} exists with other content",
                Exit.CONFLICT,
                "conflict",
                "use --force to replace it, or pull into another folder with -o",
            )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise ClientError(
            f"cannot make the folder of {target}: a file is in the way", Exit.CONFLICT, "conflict"
        ) from None
    part = _part_path(target.parent, expected, name)
    digest = hashlib.sha256()
    offset = 0
    if part.exists() and part.stat().st_size == size and hash_file(part) == expected:
        # Complete and verified, but not yet renamed when the last attempt stopped.
        progress(size)
        return _place(part, target, TransferResult(name, size, expected, "resumed", str(target)),
                      deferred)  # fmt: skip
    if part.exists() and part.stat().st_size < size:
        offset = part.stat().st_size
        with open(part, "rb") as handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
    elif part.exists():
        part.unlink()
    headers = {"Accept": "*/*"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
        headers["If-Range"] = f'"{expected}"'
    response = api.send(
        "GET",
        f"{version_path(ref)}/files/{file_path(name)}",
        headers=headers,
        stream=True,
        ok=(200, 206),
    )
    status = "downloaded"
    try:
        if response.status == 200 and offset:
            offset, digest = 0, hashlib.sha256()  # the server sent it whole: start over
        elif response.status == 206:
            status = "resumed"
        announced = response.headers.get("X-Checksum-Sha256")
        if announced and announced != expected:
            raise ClientError(
                f"the server sent {name!r} with sha256 {announced}, but listed {expected}",
                Exit.INTEGRITY,
            )
        progress(offset)
        received = offset
        with open(part, "ab" if offset else "wb") as handle:
            writer = _Writer(handle.write)
            hasher = _Writer(digest.update, "depot-pull-hash")
            try:
                while True:
                    chunk = response.read(CHUNK, decode_content=False)
                    if not chunk:
                        break
                    received += len(chunk)
                    if received > size:
                        raise ClientError(
                            f"the server sent more than the {size} bytes of {name!r}",
                            Exit.INTEGRITY,
                        )
                    hasher.put(chunk)
                    writer.put(chunk)
                    progress(len(chunk))
            finally:
                try:
                    hasher.close()
                finally:
                    writer.close()
    except (Urllib3Error, OSError) as error:
        stopped = refusal(api, f"{version_path(ref)}/files/{file_path(name)}")
        if stopped is not None:  # cut off because use of the version was stopped meanwhile
            with contextlib.suppress(FileNotFoundError):
                part.unlink()
            raise stopped from None
        raise ClientError(
            f"download of {name!r} interrupted at {part.stat().st_size if part.exists() else 0} of "
            f"{size} bytes: {error}",
            Exit.UNAVAILABLE,
            hint="run the same command again to resume",
        ) from None
    except ClientError:
        with contextlib.suppress(FileNotFoundError):
            part.unlink()
        raise
    finally:
        response.release_conn()
    actual = digest.hexdigest()
    if received != size or not hmac.compare_digest(actual, expected):
        with contextlib.suppress(FileNotFoundError):
            part.unlink()
        what = (
            f"{received} bytes instead of {size}"
            if received != size
            else f"sha256 {actual} instead of {expected}"
        )
        raise ClientError(
            f"download of {name!r} failed verification: {what}; nothing was kept", Exit.INTEGRITY
        )
    return _place(part, target, TransferResult(name, size, expected, status, str(target)), deferred)


def _place(
    part: Path, target: Path, result: TransferResult, deferred: list[tuple[Path, Path]] | None
) -> TransferResult:
    if deferred is None:
        os.replace(part, target)
    else:
        deferred.append((part, target))
    return result
