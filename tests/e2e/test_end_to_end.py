"""A person's first day and a CI night, against the real server and the real CLI."""

from __future__ import annotations

import http.client
import os
import signal
import threading
import time
from pathlib import Path

import boto3

from tests.e2e.conftest import Server
from tests.fixtures.helpers import sha256 as sha

PASSWORD = "a long passphrase of hers"


def set_up_team(server: Server) -> None:
    assert server.admin_password, "the first start printed no admin password"
    server.depot(
        "login",
        "--server",
        server.url,
        "--user",
        "admin",
        "--password-stdin",
        input=server.admin_password + "\n",
    )
    server.depot("group", "create", "payments")
    server.depot("user", "create", "alice", "--password-stdin", input=PASSWORD + "\n")
    server.depot("group", "add-member", "payments", "alice", "--role", "software_manager")
    server.depot("group", "add-member", "payments", "alice", "--role", "member")
    server.depot(
        "login",
        "--server",
        server.url,
        "--user",
        "alice",
        "--password-stdin",
        input=PASSWORD + "\n",
    )
    server.create_product("payments/core", "--category", "application", "--origin", "in_house")


def test_first_day(server: Server, tmp_path: Path) -> None:
    set_up_team(server)
    data = os.urandom(20 << 20)
    artifact = tmp_path / "core-2.1.0.tar.gz"
    artifact.write_bytes(data)
    pushed = server.depot_json("push", "payments/core@2.1.0", str(artifact), "--create")
    assert pushed["files"][0]["sha256"] == sha(data)
    out = tmp_path / "out"
    pulled = server.depot_json("pull", "payments/core@2.1.0", "-o", str(out), "--unverified")
    assert pulled["files"][0]["status"] == "downloaded"
    assert (out / artifact.name).read_bytes() == data
    listing = server.depot("ls", "payments/core@2.1.0").stdout
    assert sha(data) in listing and "alice" in listing
    # A pipeline token pushes the nightly build with no config file at all.
    token = server.depot_json("token", "create", "--group", "payments", "--scope", "upload")[
        "token"
    ]
    nightly = tmp_path / "nightly.bin"
    nightly.write_bytes(b"nightly")
    ci_env = {
        "DEPOT_URL": server.url,
        "DEPOT_TOKEN": token,
        "DEPOT_CONFIG_DIR": str(tmp_path / "ci"),
    }
    assert server.depot_json(
        "push", "payments/core@2.2.0-nightly.1", str(nightly), "--create", env=ci_env
    )
    result = server.depot(
        "ls",
        "payments",
        env={**ci_env, "DEPOT_TOKEN": "depot_0000000000000000_" + "A" * 43},
        check=False,
    )
    assert result.returncode == 3


def put_raw(
    server: Server, path: str, token: str, size: int, digest: str
) -> http.client.HTTPConnection:
    host, port = server.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    connection.putrequest("PUT", path)
    connection.putheader("Authorization", f"Bearer {token}")
    connection.putheader("Content-Length", str(size))
    connection.putheader("X-Checksum-Sha256", digest)
    connection.endheaders()
    return connection


def login_token(server: Server) -> str:
    import json
    import urllib.request

    request = urllib.request.Request(
        f"{server.url}/api/v1/auth/login",
        data=json.dumps({"username": "alice", "password": PASSWORD}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request) as response:
        return str(json.load(response)["token"])


def test_server_keeps_answering_during_a_large_upload_and_a_cut_off_upload_leaves_nothing(
    server: Server,
) -> None:
    set_up_team(server)
    server.depot("version", "create", "payments/core@3.0.0")
    token = login_token(server)
    size = 48 << 20
    data = os.urandom(size)
    path = "/api/v1/groups/payments/products/core/versions/3.0.0/files/big.bin"
    connection = put_raw(server, path, token, size, sha(data))
    connection.send(data[: 8 << 20])
    # Half-way through an upload, other requests are answered at once.
    started = time.monotonic()
    for _ in range(5):
        assert server.health(timeout=5) == 200
    assert time.monotonic() - started < 5
    connection.close()  # the client goes away mid-upload
    time.sleep(0.5)
    files = server.depot_json("ls", "payments/core@3.0.0")["files"]
    assert files == []
    # Now the same file, whole.
    connection = put_raw(server, path, token, size, sha(data))
    for offset in range(0, size, 4 << 20):
        connection.send(data[offset : offset + (4 << 20)])
    response = connection.getresponse()
    assert response.status == 201, response.read()
    assert [f["name"] for f in server.depot_json("ls", "payments/core@3.0.0")["files"]] == [
        "big.bin"
    ]


def test_gc_removes_what_a_crashed_worker_left(server: Server, moto_endpoint: str) -> None:
    set_up_team(server)
    server.depot("version", "create", "payments/core@4.0.0")
    token = login_token(server)
    size = 32 << 20
    data = os.urandom(size)
    connection = put_raw(
        server,
        "/api/v1/groups/payments/products/core/versions/4.0.0/files/x.bin",
        token,
        size,
        sha(data),
    )
    connection.send(data[: 16 << 20])
    time.sleep(1.0)
    for pid in server.workers():  # the machine loses the worker half-way
        os.kill(pid, signal.SIGKILL)
    connection.close()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if server.health(timeout=2) == 200:
                break
        except OSError:
            time.sleep(0.2)
    assert server.depot_json("ls", "payments/core@4.0.0")["files"] == []
    if server.kind.startswith("s3"):  # type: ignore[attr-defined]
        bucket = server.env["DEPOT_STORAGE_URL"].split("/")[2]
        s3 = boto3.client("s3", endpoint_url=moto_endpoint)
        assert len(s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])) == 1
        assert s3.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0
    else:
        leftovers = list((server.data_dir / "blobs" / "tmp").glob("*.part"))
        assert len(leftovers) == 1
        assert list((server.data_dir / "blobs").glob("areas/**/*.*")) == []
    report = server.admin("--json", "gc", "--older-than", "0").stdout
    assert '"removed": [' in report and report.count("\n") > 2
    if server.kind.startswith("s3"):  # type: ignore[attr-defined]
        assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    else:
        assert list((server.data_dir / "blobs" / "tmp").glob("*.part")) == []


def test_concurrent_pushes_of_the_same_build(server: Server, tmp_path: Path) -> None:
    set_up_team(server)
    server.depot("version", "create", "payments/core@5.0.0")
    build = tmp_path / "same.bin"
    build.write_bytes(os.urandom(6 << 20))
    results: list[int] = []

    def push() -> None:
        results.append(
            server.depot("push", "payments/core@5.0.0", str(build), check=False).returncode
        )

    threads = [threading.Thread(target=push) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [0, 0, 0]
    files = server.depot_json("ls", "payments/core@5.0.0")["files"]
    assert [f["name"] for f in files] == ["same.bin"]
