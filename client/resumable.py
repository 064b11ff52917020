"""Resumable pushes of large files: an upload session, parts sent with their digests.

The file is read once: each part is read into memory, added to the running sha256 and
sent with the digest of the file up to its end, while the next part is being read and
hashed. The session is committed with the whole file's digest at the end; the server
makes nothing visible unless it matches. When a push is cut off (the network, a killed
job), the next push of the same file finds the session, checks that the bytes the server
holds are this file's (the running digest at the last part it holds), and sends the rest.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from client.api import Api, version_path
from client.errors import ClientError, Exit
from client.refs import Ref

Progress = Callable[[int], None]
#: Files from this size up are pushed through an upload session (DEPOT_RESUMABLE_ABOVE).
DEFAULT_THRESHOLD = 64 << 20
#: How often a part is sent again after the connection failed, before giving up.
PART_ATTEMPTS = 3


def threshold() -> int:
    """The size from which ``depot push`` uses an upload session (resumable)."""
    raw = os.environ.get("DEPOT_RESUMABLE_ABOVE", "").strip()
    return int(raw) if raw.isdigit() else DEFAULT_THRESHOLD


def _noop(_: int) -> None:
    pass


def _parts(path: Path, start: int, part_size: int, hasher: Any) -> Iterator[tuple[bytes, str]]:
    """The file's parts from ``start`` (a part boundary), each with the running digest of
    the file up to its end; read and hashed one part ahead, in a thread of their own."""
    ready: queue.Queue[tuple[bytes, str] | BaseException | None] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def read() -> None:
        try:
            with open(path, "rb", buffering=0) as handle:
                handle.seek(start)
                while not stop.is_set():
                    data = handle.read(part_size)  # one allocation, no copy
                    while data and len(data) < part_size:  # a short read before the end
                        more = handle.read(part_size - len(data))
                        if not more:
                            break
                        data += more
                    if not data:
                        break
                    hasher.update(data)
                    ready.put((data, hasher.copy().hexdigest()))
                    if len(data) < part_size:
                        break
            ready.put(None)
        except BaseException as error:  # raised in the sending thread
            ready.put(error)

    thread = threading.Thread(target=read, name="depot-push-read", daemon=True)
    thread.start()
    try:
        while True:
            item = ready.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():
            try:
                ready.get_nowait()
            except queue.Empty:
                thread.join(0.05)


def _held_prefix(path: Path, parts: list[dict[str, Any]], hasher: Any, progress: Progress) -> int:
    """Hash the file up to the end of the last part the server holds; whether the server's
    running digest at each part end is this file's: the bytes held, or -(bytes hashed)
    when the session holds other bytes."""
    ends = {int(p["end"]): str(p["sha256"]) for p in parts}
    last = max(ends)
    with open(path, "rb", buffering=0) as handle:
        done = 0
        for end in sorted(ends):
            while done < end:
                chunk = handle.read(min(8 << 20, end - done))
                if not chunk:
                    return -done
                hasher.update(chunk)
                done += len(chunk)
                progress(len(chunk))
            if hasher.copy().hexdigest() != ends[end]:
                return -done
    return done if done == last else -done


def push_resumable(
    api: Api,
    ref: Ref,
    path: Path,
    name: str,
    size: int,
    *,
    role: str = "artifact",
    build: dict[str, str] | None = None,
    sending: Progress = _noop,
    sha256: str | None = None,
) -> tuple[str, dict[str, Any], int]:
    """Push ``path`` as ``name`` through an upload session, resuming one left by an earlier
    push of the same file. Returns the whole file's sha256, the server's file record and
    how many bytes the server held already (0: a new session)."""
    base = f"{version_path(ref)}/uploads"
    ask: dict[str, Any] = {"name": name, "size": size, "role": role, **(build or {})}
    if sha256:
        ask["sha256"] = sha256
    session = api.json("POST", base, ask)
    hasher = hashlib.sha256()
    held = list(session["parts"])
    checked = _held_prefix(path, held, hasher, sending) if held else 0
    if checked < 0:
        # The session holds other bytes (the file was rebuilt since): begin again.
        api.send("DELETE", f"{base}/{session['id']}", ok=(204,))
        session = api.json("POST", base, ask)
        hasher, held = hashlib.sha256(), []
        sending(checked)
    resumed = int(held[-1]["end"]) if held else 0
    part_size = int(session["part_size"])
    where = f"{base}/{session['id']}"
    number = len(held)
    for data, digest in _parts(path, resumed, part_size, hasher):
        number += 1
        _send_part(api, f"{where}/parts/{number}", data, digest)
        sending(len(data))
    whole = hasher.hexdigest()
    record: dict[str, Any] = api.json("POST", f"{where}/commit", {"sha256": whole})
    return whole, record, resumed


def _send_part(api: Api, path: str, data: bytes, digest: str) -> None:
    """PUT one part; sent again (up to :data:`PART_ATTEMPTS` times) after the connection
    failed or while the server still finishes a request that was cut off."""
    for attempt in range(1, PART_ATTEMPTS + 1):
        try:
            response = api.send(
                "PUT",
                path,
                body=data,
                headers={
                    "Content-Length": str(len(data)),
                    "Content-Type": "application/octet-stream",
                    "X-Checksum-Sha256": digest,
                },
            )
            json.loads(response.data or b"{}")
            return
        except ClientError as error:
            busy = error.exit_code == Exit.CONFLICT and "receiving a part" in error.message
            if attempt == PART_ATTEMPTS or not (busy or error.exit_code == Exit.UNAVAILABLE):
                if error.exit_code == Exit.UNAVAILABLE:
                    error.hint = "run the same push again: it resumes where it stopped"
                raise
            time.sleep(attempt)
