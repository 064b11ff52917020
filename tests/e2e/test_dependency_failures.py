"""When something the server depends on fails or races: clear answers, nothing lost, no 500s.

Against the real server (gunicorn, 2 workers × 4 threads) on SQLite + folder and on
PostgreSQL + S3 over HTTP (moto's server).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import socket
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import urllib3

from tests.e2e.conftest import BIN, Server, free_port, serve, start_server, stop_server
from tests.fixtures.services import create_postgres_database, drop_postgres_database

PASSWORD = "a long passphrase of hers"
RACERS = 16


@dataclass(frozen=True)
class Answer:
    status: int
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


def _call(method: str, url: str, body: Any = None, token: str = "") -> Answer:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with urllib3.PoolManager(timeout=60, retries=False) as http:
        answer = http.request(method, url, json=body, headers=headers)
    return Answer(answer.status, answer.data.decode())


def _token(server: Server, username: str, password: str) -> str:
    answer = _call(
        "POST", f"{server.url}/api/v1/auth/login", {"username": username, "password": password}
    )
    assert answer.status == 201, answer.text
    return str(answer.json()["token"])


def _race(send: Callable[[], Answer]) -> list[Answer]:
    """``send`` from RACERS threads at once (released together by a barrier)."""
    barrier = threading.Barrier(RACERS)
    answers: list[Answer] = []
    lock = threading.Lock()

    def one() -> None:
        barrier.wait()
        answer = send()
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=one) for _ in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def _one_created_rest_conflict(answers: list[Answer]) -> None:
    statuses = Counter(answer.status for answer in answers)
    assert statuses == Counter({201: 1, 409: RACERS - 1}), [
        (answer.status, answer.text[:200]) for answer in answers
    ]
    for answer in answers:
        if answer.status == 409:
            body: dict[str, Any] = answer.json()
            assert body["error"] == "conflict" and body["message"], body


def test_parallel_creations_answer_one_201_and_409_for_the_others(server: Server) -> None:
    url = f"{server.url}/api/v1"
    admin = _token(server, "admin", server.admin_password)
    user = {"username": "alice", "password": PASSWORD}
    assert _call("POST", f"{url}/users", user, admin).status == 201

    _one_created_rest_conflict(
        _race(lambda: _call("POST", f"{url}/groups", {"name": "payments"}, admin))
    )
    members = f"{url}/groups/payments/members"
    manager = {"username": "alice", "role": "software_manager"}
    _one_created_rest_conflict(_race(lambda: _call("POST", members, manager, admin)))
    member = {"username": "alice", "role": "member"}
    assert _call("POST", members, member, admin).status == 201
    alice = _token(server, "alice", PASSWORD)
    product = {"name": "core", "category": "application", "origin": "in_house"}
    products = f"{url}/groups/payments/products"
    _one_created_rest_conflict(_race(lambda: _call("POST", products, product, alice)))
    registration = _call("GET", f"{products}/core", token=alice).json()["registration_request"]
    server.approve_registration(int(registration))
    versions = f"{products}/core/versions"
    _one_created_rest_conflict(_race(lambda: _call("POST", versions, {"version": "1.0.0"}, alice)))
    # Each exists once.
    groups = _call("GET", f"{url}/groups?all=true", token=admin).json()["groups"]
    assert [g["name"] for g in groups].count("payments") == 1
    listed = _call("GET", versions, token=alice).json()["versions"]
    assert [v["version"] for v in listed] == ["1.0.0"]


class Relay:
    """A TCP relay to PostgreSQL that a test can cut (connections dropped, new ones refused)
    and restore, as a database restart or a network partition would."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = free_port()
        self._open: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self._lock = threading.Lock()
        #: Cut everything once this many more bytes came back from upstream (0: never).
        self.cut_after = 0
        self.restore()

    def restore(self) -> None:
        listener = socket.create_server(("127.0.0.1", self.port))
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        assert self._listener is not None
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread
        self._listener.close()
        self._listener = None
        with self._lock:
            for sock in self._open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open += [client, server]
            for a, b, back in ((client, server, False), (server, client, True)):
                threading.Thread(target=self._pipe, args=(a, b, back), daemon=True).start()

    def _pipe(self, source: socket.socket, target: socket.socket, back: bool) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
                if back and self.cut_after:
                    with self._lock:
                        self.cut_after = max(self.cut_after - len(data), 0)
                        due = self.cut_after == 0
                    if due:
                        threading.Thread(target=self.cut, daemon=True).start()
                        return
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                target.shutdown(socket.SHUT_WR)


def _sign_in_as_admin(server: Server) -> None:
    server.depot(
        "login",
        "--server",
        server.url,
        "--user",
        "admin",
        "--password-stdin",
        input=server.admin_password + "\n",
    )


@pytest.fixture
def relayed_server(tmp_path: Path, postgres_server: str) -> Iterator[tuple[Server, Relay]]:
    """A server on PostgreSQL reached through a relay the test can cut."""
    database = create_postgres_database(postgres_server)
    address = urlsplit(database)
    relay = Relay((address.hostname or "127.0.0.1", address.port or 5432))
    relayed = database.replace(f":{address.port}/", f":{relay.port}/", 1)
    running = start_server(tmp_path, {"DEPOT_DATABASE_URL": relayed})
    try:
        yield running, relay
    finally:
        stop_server(running)
        with contextlib.suppress(AssertionError):
            relay.cut()
        drop_postgres_database(postgres_server, database)


def test_a_lost_database_is_a_503_with_retry_after_and_recovers_without_restart(
    relayed_server: tuple[Server, Relay],
) -> None:
    server, relay = relayed_server
    url = f"{server.url}/api/v1"
    admin = _token(server, "admin", server.admin_password)
    _sign_in_as_admin(server)
    assert _call("POST", f"{url}/groups", {"name": "payments"}, admin).status == 201

    relay.cut()
    with urllib3.PoolManager(timeout=30, retries=False) as http:
        for path, headers in (
            ("/api/v1/health", {}),
            ("/api/v1/health/ready", {}),
            ("/api/v1/groups", {"Authorization": f"Bearer {admin}"}),
            ("/api/v1/groups/payments/products", {"Authorization": f"Bearer {admin}"}),
        ):
            answer = http.request("GET", f"{server.url}{path}", headers=headers)
            assert answer.status == 503, (path, answer.status, answer.data[:300])
            assert answer.headers["Retry-After"].isdigit(), path
            body = json.loads(answer.data)
            assert body["error"] == "unavailable", (path, body)
        # The sign-in page: its form needs no database, signing in does.
        form = http.request("GET", f"{server.url}/login")
        assert form.status == 200
        token = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', form.data)
        assert token is not None, form.data[:2000]
        cookie = next(
            c.split(";", 1)[0]
            for c in form.headers.getlist("Set-Cookie")
            if c.startswith("session=")
        )
        page = http.request(
            "POST",
            f"{server.url}/login",
            fields={
                "csrf_token": token.group(1).decode(),
                "username": "admin",
                "password": server.admin_password,
            },
            encode_multipart=False,
            headers={"Cookie": cookie},
        )
        assert page.status == 503 and b"try again" in page.data, page.data[:2000]
        assert page.headers["Retry-After"].isdigit()
    refused = _call("POST", f"{url}/groups", {"name": "cards"}, admin)
    assert refused.status == 503
    listed = server.depot("group", "list", check=False)
    assert listed.returncode == 9, listed.stdout + listed.stderr
    assert "try again" in listed.stderr

    relay.restore()
    assert _call("GET", f"{url}/health").status == 200
    names = [
        g["name"] for g in _call("GET", f"{url}/groups?all=true", token=admin).json()["groups"]
    ]
    assert names == ["payments"]  # the refused creation wrote nothing
    assert server.depot("group", "list").returncode == 0


@pytest.fixture(params=["folder+sqlite"])
def folder_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    yield from serve(request, tmp_path, {})


@pytest.fixture
def server_on_relayed_s3(tmp_path: Path, moto_endpoint: str) -> Iterator[tuple[Server, Relay]]:
    """A server whose S3 endpoint (moto's, over HTTP) is reached through a relay."""
    address = urlsplit(moto_endpoint)
    relay = Relay((address.hostname or "127.0.0.1", address.port or 80))
    bucket = f"depot-e2e-{uuid.uuid4().hex[:8]}"
    storage = f"s3://{bucket}/depot?endpoint_url=http://127.0.0.1:{relay.port}&create_bucket=true"
    running = start_server(tmp_path, {"DEPOT_STORAGE_URL": storage})
    try:
        yield running, relay
    finally:
        stop_server(running)
        with contextlib.suppress(AssertionError):
            relay.cut()


def test_a_lost_blob_store_is_a_503_and_the_pull_resumes_from_its_partial_file(
    server_on_relayed_s3: tuple[Server, Relay], tmp_path: Path
) -> None:
    server, relay = server_on_relayed_s3
    _sign_in_as_admin(server)
    server.depot("group", "create", "payments")
    server.depot("group", "add-member", "payments", "admin", "--role", "member")
    server.create_product("payments/core", "--category", "application", "--origin", "in_house")
    data = os.urandom(16 << 20)
    artifact = tmp_path / "core.tar.gz"
    artifact.write_bytes(data)
    server.depot("push", "payments/core@1.0.0", str(artifact), "--create")
    out = tmp_path / "out"

    relay.cut_after = 3 << 20  # S3 goes away three MiB into the download
    first = server.depot("pull", "payments/core@1.0.0", "-o", str(out), "--unverified", check=False)
    assert first.returncode == 9, first.stdout + first.stderr
    assert "resume" in first.stderr
    parts = list(out.glob(".depot-*.part"))
    assert len(parts) == 1 and 0 < parts[0].stat().st_size < len(data)
    assert not (out / "core.tar.gz").exists()
    kept = parts[0].stat().st_size

    with urllib3.PoolManager(timeout=60, retries=False) as http:
        token = _token(server, "admin", server.admin_password)
        answer = http.request(
            "GET",
            f"{server.url}/api/v1/groups/payments/products/core/versions/1.0.0/files/core.tar.gz",
            headers={"Authorization": f"Bearer {token}"},
        )
    assert answer.status == 503, answer.status
    assert answer.headers["Retry-After"].isdigit()
    assert json.loads(answer.data)["error"] == "unavailable"
    again = server.depot("pull", "payments/core@1.0.0", "-o", str(out), "--unverified", check=False)
    assert again.returncode == 9 and parts[0].stat().st_size == kept  # still kept

    relay.restore()
    resumed = server.depot_json("pull", "payments/core@1.0.0", "-o", str(out), "--unverified")
    assert resumed["files"][0]["status"] == "resumed", resumed
    assert (out / "core.tar.gz").read_bytes() == data
    assert not list(out.glob(".depot-*.part"))


def _area_blobs(server: Server, area: str) -> list[Path]:
    return sorted(p for p in (server.data_dir / "blobs" / "areas" / area).rglob("*") if p.is_file())


def test_bytes_of_uploads_refused_in_a_race_are_removed_and_scrub_stays_clean(
    server: Server, tmp_path: Path
) -> None:
    url = f"{server.url}/api/v1"
    _sign_in_as_admin(server)
    server.depot("group", "create", "payments")
    server.depot("group", "add-member", "payments", "admin", "--role", "member")
    server.create_product("payments/core", "--category", "application", "--origin", "in_house")
    token = _token(server, "admin", server.admin_password)
    assert (
        _call(
            "POST", f"{url}/groups/payments/products/core/versions", {"version": "1.0.0"}, token
        ).status
        == 201
    )
    file_url = f"{url}/groups/payments/products/core/versions/1.0.0/files/core.tar.gz"

    def upload() -> Answer:
        data = os.urandom(256 << 10)  # each racer its own build of the same name
        with urllib3.PoolManager(timeout=60, retries=False) as http:
            answer = http.request(
                "PUT",
                file_url,
                body=data,
                headers={
                    "Authorization": f"Bearer {token}",
                    "X-Checksum-Sha256": hashlib.sha256(data).hexdigest(),
                },
            )
        return Answer(answer.status, answer.data.decode())

    _one_created_rest_conflict(_race(upload))
    if server.kind == "folder+sqlite":  # type: ignore[attr-defined]
        assert len(_area_blobs(server, "payments")) == 1  # the winner's bytes only
    scrub = subprocess.run(
        [str(BIN / "depot-server"), "scrub"], env=server.env, capture_output=True, text=True
    )
    assert scrub.returncode == 0, scrub.stdout + scrub.stderr
    assert "unreferenced" not in scrub.stdout


def test_gc_removes_unreferenced_blobs_past_their_age_and_scrub_calls_them_no_damage(
    folder_server: Server,
) -> None:
    server = folder_server
    _sign_in_as_admin(server)
    server.depot("group", "create", "payments")
    server.depot("group", "add-member", "payments", "admin", "--role", "member")
    server.create_product("payments/core", "--category", "application", "--origin", "in_house")
    artifact = server.data_dir.parent / "core.tar.gz"
    artifact.write_bytes(os.urandom(4096))
    server.depot("push", "payments/core@1.0.0", str(artifact), "--create")
    [kept] = _area_blobs(server, "payments")
    strays = []
    for age in (7200, 0):  # one left two hours ago, one of an upload in progress
        data = os.urandom(1000)
        digest = hashlib.sha256(data).hexdigest()
        path = kept.parents[2] / digest[:2] / digest[2:4] / digest
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.utime(path, (time.time() - age, time.time() - age))
        strays.append(path)
    os.utime(kept, (time.time() - 7200, time.time() - 7200))  # referenced: never removed

    scrub = server.admin("scrub")
    assert "unreferenced (gc removes it)" in scrub.stdout  # reported, exit 0: no damage
    gc = server.admin("--json", "gc", "--older-than", "1h")
    removed = json.loads(gc.stdout)["removed"]
    assert len(removed) == 1 and strays[0].name in removed[0], removed
    assert not strays[0].exists() and strays[1].exists() and kept.exists()
    pulled = server.depot_json(
        "pull", "payments/core@1.0.0", "-o", str(server.data_dir.parent / "out"), "--unverified"
    )
    assert pulled["files"][0]["status"] == "downloaded"
