"""Move a declared number of bytes from a source to a sink, hashing them on the way.

Three stages run at once: a reader thread pulls chunks from the source (a socket, for an
upload), the calling thread hashes them, and a writer thread hands them to the sink (a
file or S3 parts). ``hashlib`` and file and socket I/O release the GIL, so on two cores
the stages overlap instead of adding up. Bounded queues keep memory at a few chunks
whatever the size of the blob.
"""

from __future__ import annotations

import hashlib
import hmac
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass

from storage.base import CHUNK_SIZE, Hasher, IntegrityMismatch, ProgressCallback, Readable

QUEUE_DEPTH = 4
_POLL = 0.05


class _End:
    pass


@dataclass
class _Failure:
    error: BaseException


@dataclass
class _TooLong:
    pass


_END = _End()


def _put(q: queue.Queue[object], item: object, stop: threading.Event) -> bool:
    while not stop.is_set():
        try:
            q.put(item, timeout=_POLL)
            return True
        except queue.Full:
            continue
    return False


def _get(q: queue.Queue[object], stop: threading.Event) -> object:
    while True:
        try:
            return q.get(timeout=_POLL)
        except queue.Empty:
            if stop.is_set():
                return _END


def discard(chunk: bytes) -> None:
    """A sink that keeps nothing: for bytes that only need verifying (a blob already stored)."""


def pump(
    source: Readable,
    sink: Callable[[bytes], None],
    *,
    size: int,
    sha256: str,
    progress: ProgressCallback | None = None,
    chunk_size: int = CHUNK_SIZE,
    hasher: Hasher | None = None,
) -> None:
    """Read exactly ``size`` bytes from ``source`` into ``sink`` and check their digest.

    Raises :class:`IntegrityMismatch` when the source ends early, holds more bytes than
    declared, or the sha256 differs; any error of the source or the sink is re-raised.
    The sink may have received bytes before an error: the caller discards them.
    ``hasher`` (a fresh ``hashlib.sha256()`` by default) is updated with the bytes, and
    its ``hexdigest()`` is what must equal ``sha256``: an upload session's part passes the
    running hash of the whole file, so ``sha256`` is the digest of every byte up to the
    part's end.
    """
    if size < 0:
        raise IntegrityMismatch("size", size, 0)
    stop = threading.Event()
    inbox: queue.Queue[object] = queue.Queue(maxsize=QUEUE_DEPTH)
    outbox: queue.Queue[object] = queue.Queue(maxsize=QUEUE_DEPTH)
    sink_errors: list[BaseException] = []

    def read() -> None:
        try:
            remaining = size
            while remaining > 0 and not stop.is_set():
                chunk = source.read(min(chunk_size, remaining))
                if not chunk:
                    break
                if len(chunk) > remaining:  # a source that ignores the requested size
                    _put(inbox, _TooLong(), stop)
                    return
                remaining -= len(chunk)
                if not _put(inbox, chunk, stop):
                    return
            if remaining == 0 and not stop.is_set() and source.read(1):
                _put(inbox, _TooLong(), stop)
        except BaseException as error:  # re-raised in the calling thread
            _put(inbox, _Failure(error), stop)
        finally:
            _put(inbox, _END, stop)

    def write() -> None:
        try:
            while True:
                item = _get(outbox, stop)
                if isinstance(item, _End):
                    return
                assert isinstance(item, bytes)
                sink(item)
        except BaseException as error:  # re-raised in the calling thread
            sink_errors.append(error)
            stop.set()

    reader = threading.Thread(target=read, name="depot-pump-read", daemon=True)
    writer = threading.Thread(target=write, name="depot-pump-write", daemon=True)
    reader.start()
    writer.start()
    digest: Hasher = hasher if hasher is not None else hashlib.sha256()
    received = 0
    failure: BaseException | None = None
    try:
        while True:
            item = _get(inbox, stop)
            if isinstance(item, _End):
                break
            if isinstance(item, _Failure):
                failure = item.error
                break
            if isinstance(item, _TooLong):
                failure = IntegrityMismatch("size", size, f"more than {size}")
                break
            assert isinstance(item, bytes)
            digest.update(item)
            received += len(item)
            if not _put(outbox, item, stop):
                break
            if progress is not None:
                progress(len(item))
    except BaseException as error:
        failure = error
    if failure is not None:
        stop.set()
    else:
        _put(outbox, _END, stop)
    writer.join()
    stop.set()
    reader.join()
    if sink_errors:
        raise sink_errors[0]
    if failure is not None:
        raise failure
    if received != size:
        raise IntegrityMismatch("size", size, received)
    actual = digest.hexdigest()
    if not hmac.compare_digest(actual, sha256):
        raise IntegrityMismatch("sha256", sha256, actual)
