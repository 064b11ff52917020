"""Resumable pushes of large files (issue 17 §1, last bullet): `depot push` killed twice
mid-way (SIGKILL, the connection cut where a pausing proxy held it), then the third run
resumes where the server stopped and completes; the release is pulled and verified.

The sizes here are small (25 MiB in 5 MiB parts) so the suite stays quick; the same run
with a 10 GiB file in 32 MiB parts is `bench/resumable_push.py`, which sets
``DEPOT_RESUME_SIZE_MIB`` and ``DEPOT_RESUME_PART_MIB`` for these tests (docs/ci.md)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import signal
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.e2e.conftest import BIN, Server, serve
from tests.e2e.test_integrity import PASSWORD, payments_team
from tests.fixtures.helpers import http_json

REF = "payments/core@5.0.0"
PART = int(os.environ.get("DEPOT_RESUME_PART_MIB", "5")) << 20  # 5 MiB: S3's smallest
SIZE = int(os.environ.get("DEPOT_RESUME_SIZE_MIB", "25")) << 20
#: Parts each killed run sends before it is killed (and a half one).
STRIDE = max(1, SIZE // PART // 3 - 1)
VERSION = "/api/v1/groups/payments/products/core/versions/5.0.0"


@pytest.fixture(params=["folder+sqlite", "s3+postgresql"])
def small_parts(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    yield from serve(request, tmp_path, {"DEPOT_UPLOAD_PART_SIZE": str(PART)})


class PausingProxy:
    """A TCP relay in front of the server that, once armed, stops forwarding the client's
    bytes after ``limit`` of them: the upload hangs there until the test cuts it."""

    def __init__(self, upstream: str) -> None:
        host, port = upstream.removeprefix("http://").split(":")
        self.upstream = (host, int(port))
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.limit: int | None = None
        self.sent = 0
        self.paused = threading.Event()
        self.lock = threading.Lock()
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def arm(self, limit: int | None) -> None:
        with self.lock:
            self.limit, self.sent = limit, 0
            self.paused.clear()

    def cut(self) -> None:
        """Close every connection (the client is dead; the server sees the end)."""
        with self.lock:
            for sock in self.sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self.sockets.clear()

    def _accept(self) -> None:
        while True:
            client, _ = self.listener.accept()
            server = socket.create_connection(self.upstream)
            with self.lock:
                self.sockets += [client, server]
            threading.Thread(target=self._up, args=(client, server), daemon=True).start()
            threading.Thread(target=self._down, args=(server, client), daemon=True).start()

    def _up(self, client: socket.socket, server: socket.socket) -> None:
        try:
            while True:
                data = client.recv(1 << 20)
                if not data:
                    server.shutdown(socket.SHUT_WR)
                    return
                with self.lock:
                    room = None if self.limit is None else self.limit - self.sent
                    if room is not None and room <= len(data):
                        data = data[: max(room, 0)]
                        self.paused.set()
                    self.sent += len(data)
                if data:
                    server.sendall(data)
                if self.paused.is_set():
                    return  # holds the rest until the test cuts the connection
        except OSError:
            return

    def _down(self, server: socket.socket, client: socket.socket) -> None:
        try:
            while data := server.recv(1 << 20):
                client.sendall(data)
        except OSError:
            return


def make_file(path: Path, size: int) -> str:
    """A file of ``size`` bytes (random where it is small; above 64 MiB sparse, with a random
    MiB every 64 MiB, so that a 10 GiB one costs little disk); its sha256."""
    with open(path, "wb") as handle:
        if size <= 64 << 20:
            handle.write(os.urandom(size))
        else:
            handle.truncate(size)
            for offset in range(0, size, 64 << 20):
                handle.seek(offset + random.randrange(0, (63 << 20)))
                handle.write(os.urandom(min(1 << 20, size - handle.tell())))
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def digest_of(path: Path, size: int | None = None) -> str:
    """The sha256 of ``path`` (of its first ``size`` bytes)."""
    digest = hashlib.sha256()
    left = size if size is not None else path.stat().st_size
    with open(path, "rb") as handle:
        while left > 0 and (chunk := handle.read(min(8 << 20, left))):
            digest.update(chunk)
            left -= len(chunk)
    return digest.hexdigest()


def long_json(server: Server, *args: str, env: dict[str, str]) -> Any:
    """`depot --json ARGS` with time for a multi-GB transfer on a loaded machine."""
    done = subprocess.run(
        [str(BIN / "depot"), "--json", *args],
        env={**os.environ, "DEPOT_CONFIG_DIR": str(server.config_dir), **env},
        capture_output=True, text=True, timeout=3600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


def held(server: Server, token: str) -> dict[str, object]:
    """The session the server holds for big.bin (asking for it finds it again)."""
    return http_json(
        "POST", f"{server.url}{VERSION}/uploads", {"name": "big.bin", "size": SIZE}, token
    )


def killed_push(proxy: PausingProxy, env: dict[str, str], path: Path, after: int) -> None:
    """Run `depot push` through the proxy and SIGKILL it once ``after`` bytes went up."""
    proxy.arm(after)
    push = subprocess.Popen(
        [str(BIN / "depot"), "push", REF, str(path)],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert proxy.paused.wait(1800), "the push never reached the pause"
    finally:
        push.send_signal(signal.SIGKILL)
        push.wait()
        proxy.cut()


def test_a_push_killed_twice_resumes_and_verifies(small_parts: Server, tmp_path: Path) -> None:
    server = small_parts
    alice, carol, victor = payments_team(server, tmp_path)
    server.create_product("payments/core", "--category", "application",
                          "--origin", "in_house", env=alice)  # fmt: skip
    server.depot("version", "create", REF, env=alice)
    big = tmp_path / "big.bin"
    whole = make_file(big, SIZE)
    token = str(http_json("POST", f"{server.url}/api/v1/auth/login",
                          {"username": "alice", "password": PASSWORD})["token"])  # fmt: skip
    proxy = PausingProxy(server.url)
    through = {**alice, "DEPOT_URL": proxy.url, "DEPOT_TOKEN": token,
               "DEPOT_RESUMABLE_ABOVE": str(PART)}  # fmt: skip

    # Killed in the middle of a part: the server holds the parts before it.
    killed_push(proxy, through, big, after=STRIDE * PART + PART // 2)
    first = held(server, token)
    assert first["received"] == STRIDE * PART
    assert [p["number"] for p in first["parts"]] == list(range(1, STRIDE + 1))  # type: ignore[union-attr]
    assert first["parts"][-1]["sha256"] == digest_of(big, STRIDE * PART)  # type: ignore[index]
    assert server.depot_json("ls", REF, env=alice)["files"] == []  # nothing visible

    # Killed again, after as many parts more and half of the next one.
    killed_push(proxy, through, big, after=STRIDE * PART + PART // 2)
    second = held(server, token)
    assert second["id"] == first["id"] and second["received"] == 2 * STRIDE * PART
    assert server.depot_json("ls", REF, env=alice)["files"] == []

    # The third run sends the rest only, and commits.
    proxy.arm(None)
    done = long_json(server, "push", REF, str(big), env=through)
    assert done["files"][0]["state"] == "resumed"
    assert done["files"][0]["sha256"] == whole
    assert proxy.sent < SIZE - 2 * STRIDE * PART + (1 << 20)  # the held parts went once
    listed = server.depot_json("ls", REF, env=alice)["files"]
    assert [(f["name"], f["size"], f["sha256"]) for f in listed] == [("big.bin", SIZE, whole)]
    _nothing_staged(server)

    # Through the library: pulled verified, then verified offline against the bundle.
    server.depot("submit", REF, "--to", "carol", env=alice)
    report = tmp_path / "report.txt"
    report.write_text("pass\n")
    server.depot("accept", REF, "--report", str(report), env=carol)
    checkin = server.depot_json("checkin", "request", REF, "--notes", "GA", env=alice)
    server.depot("approve", str(checkin["id"]), env=victor)
    checkout = server.depot_json("checkout", "request", REF, "--purpose", "deploy", env=alice)
    server.depot("approve", str(checkout["id"]), env=victor)
    server.depot("trust", "init", server.url, "--root-fingerprint", server.fingerprint, env=alice)
    out = tmp_path / "out"
    big.unlink()  # the disk holds the stored copy and the pulled one, not a third
    pulled = long_json(server, "pull", REF, "-o", str(out), "--bundle", env=alice)
    assert pulled["verified"] is True
    assert digest_of(out / "big.bin") == whole
    offline = {**alice, "DEPOT_URL": "http://127.0.0.1:9"}
    verified = long_json(server, "verify", str(out / "big.bin"), "--bundle", pulled["bundle"],
                         env=offline)  # fmt: skip
    assert verified["verified"][0]["sha256"] == whole


def _nothing_staged(server: Server) -> None:
    """No staged bytes are left once the session is committed."""
    if server.kind.startswith("s3"):  # type: ignore[attr-defined]
        url = server.env["DEPOT_STORAGE_URL"]
        bucket = url.split("/")[2]
        endpoint = url.split("endpoint_url=")[1].split("&")[0]
        s3 = boto3.client("s3", endpoint_url=endpoint)
        assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
        assert not [k for k in keys if "/staging/" in k], keys
    else:
        assert list((server.data_dir / "blobs" / "staging").glob("*")) == []


@pytest.mark.parametrize("small_parts", ["folder+sqlite"], indirect=True)
def test_a_changed_file_begins_a_new_session(small_parts: Server, tmp_path: Path) -> None:
    """A session holding other bytes (the file was rebuilt) is dropped, not continued."""
    server = small_parts
    alice, *_ = payments_team(server, tmp_path)
    server.create_product("payments/core", "--category", "application",
                          "--origin", "in_house", env=alice)  # fmt: skip
    server.depot("version", "create", REF, env=alice)
    token = str(http_json("POST", f"{server.url}/api/v1/auth/login",
                          {"username": "alice", "password": PASSWORD})["token"])  # fmt: skip
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(SIZE))
    proxy = PausingProxy(server.url)
    through = {**alice, "DEPOT_URL": proxy.url, "DEPOT_TOKEN": token,
               "DEPOT_RESUMABLE_ABOVE": str(PART)}  # fmt: skip
    killed_push(proxy, through, big, after=PART + PART // 2)
    assert held(server, token)["received"] == PART
    rebuilt = os.urandom(SIZE)
    big.write_bytes(rebuilt)
    proxy.arm(None)
    done = server.depot_json("push", REF, str(big), env=through)
    assert done["files"][0]["state"] == "uploaded"
    assert done["files"][0]["sha256"] == hashlib.sha256(rebuilt).hexdigest()
    assert (
        json.loads(server.depot("--json", "ls", REF, env=alice).stdout)["files"][0]["sha256"]
        == hashlib.sha256(rebuilt).hexdigest()
    )
