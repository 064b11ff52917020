"""The library state end to end, against the real server (SQLite + folder, PostgreSQL + S3
over HTTP) attacked by someone who can write its database and its bucket: a checked-in
version reported as `accepted`, with other bytes, then dropped from the library altogether.
Pinned clients refuse, write nothing and exit 6. And a retired version is served to nobody,
not even over plain HTTP to someone who held a check-out, while the log replays clean.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from pathlib import Path

import boto3
import sqlalchemy as sa

from tests.e2e.conftest import Server
from tests.e2e.test_integrity import PASSWORD, REF, payments_team, person, subprocess_admin
from tests.fixtures.helpers import sha256 as sha

BUILD = b"release build " * 5000
EVIL = b"X" * len(BUILD)


def released(server: Server, tmp_path: Path) -> tuple[dict[str, str], ...]:
    """``payments/core@3.0.0`` checked in, alice holding an approved check-out."""
    alice, carol, victor = payments_team(server, tmp_path)
    server.create_product("payments/core", "--category", "application",
                 "--origin", "in_house", env=alice, approver=victor)  # fmt: skip
    build = tmp_path / "core.tar.gz"
    build.write_bytes(BUILD)
    server.depot("push", REF, str(build), "--create", env=alice)
    server.depot("submit", REF, "--to", "carol", env=alice)
    report = tmp_path / "report.txt"
    report.write_text("all tests pass\n")
    server.depot("accept", REF, "--report", str(report), env=carol)
    request = server.depot_json("checkin", "request", REF, "--notes", "GA", env=alice)
    server.depot("approve", str(request["id"]), "--comment", "archived", env=victor)
    checkout = server.depot_json("checkout", "request", REF, "--purpose", "deploy", env=alice)
    server.depot("approve", str(checkout["id"]), env=victor)
    for env in (alice, carol):
        server.depot("trust", "init", server.url, "--root-fingerprint", server.fingerprint, env=env)
    return alice, carol, victor


def database(server: Server) -> sa.Engine:
    url = server.env.get("DEPOT_DATABASE_URL") or f"sqlite:///{server.data_dir / 'depot.sqlite3'}"
    return sa.create_engine(url)


def put_blob(server: Server, data: bytes) -> None:
    """Write ``data`` into the group's area under its own sha256, as the bucket's owner can."""
    digest = sha(data)
    key = f"areas/payments/sha256/{digest[:2]}/{digest[2:4]}/{digest}"
    if server.kind.startswith("folder"):  # type: ignore[attr-defined]
        path = server.data_dir / "blobs" / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return
    url = server.env["DEPOT_STORAGE_URL"]
    bucket = url.removeprefix("s3://").split("/", 1)[0]
    endpoint = url.split("endpoint_url=", 1)[1].split("&", 1)[0]
    boto3.client("s3", endpoint_url=endpoint).put_object(
        Bucket=bucket, Key=f"depot/{key}", Body=data
    )


def refused(server: Server, env: dict[str, str], folder: Path, *extra: str) -> str:
    result = server.depot("pull", REF, "core.tar.gz", "-o", str(folder), *extra, env=env,
                          check=False)  # fmt: skip
    assert result.returncode == 6, result.stdout + result.stderr
    assert not folder.exists() or not any(folder.iterdir()), list(folder.iterdir())
    return result.stderr


def test_database_and_bucket_edits_never_make_other_bytes_verified(
    server: Server, tmp_path: Path
) -> None:
    alice, carol, _ = released(server, tmp_path)
    pulled = server.depot_json("pull", REF, "core.tar.gz", "-o", str(tmp_path / "ok"), env=alice)
    assert pulled["verified"] and (tmp_path / "ok" / "core.tar.gz").read_bytes() == BUILD

    # The rows say `accepted` with the other bytes' hash; the bucket holds those bytes.
    put_blob(server, EVIL)
    with database(server).begin() as db:
        db.execute(sa.text("UPDATE versions SET state = 'accepted'"))
        db.execute(sa.text("UPDATE files SET sha256 = :s WHERE name = 'core.tar.gz'"),
                   {"s": sha(EVIL)})  # fmt: skip
    assert server.depot_json("ls", REF, env=carol)["state"] == "accepted"
    assert sha(BUILD) in refused(server, alice, tmp_path / "a")  # the signed sha256
    # carol holds no check-out: a draft's bytes would be served to her; the index says no.
    assert sha(BUILD) in refused(server, carol, tmp_path / "c", "--unverified")

    # The rows drop the version out of the library: the server signs an index without it.
    with database(server).begin() as db:
        db.execute(sa.text("UPDATE versions SET manifest = NULL, manifest_sha256 = NULL, "
                           "library_number = NULL"))  # fmt: skip
    for env in (alice, carol):  # both saw it in the library
        assert "no longer lists it" in refused(server, env, tmp_path / "x", "--unverified")
    # A machine that never saw it: not in the library, so nothing is written without the
    # flag, and with it the bytes are never called verified.
    newcomer = person(server, tmp_path / "new-machine", "carol")
    server.depot("trust", "init", server.url, "--root-fingerprint", server.fingerprint,
                 env=newcomer)  # fmt: skip
    assert "is not in the library" in refused(server, newcomer, tmp_path / "n")
    got = server.depot("--json", "pull", REF, "core.tar.gz", "-o", str(tmp_path / "n"),
                       "--unverified", env=newcomer)  # fmt: skip
    assert json.loads(got.stdout)["verified"] is False and "NOT verified" in got.stderr


def test_a_retired_version_is_served_to_nobody(server: Server, tmp_path: Path) -> None:
    alice, _, victor = released(server, tmp_path)
    assert server.depot("pull", REF, "core.tar.gz", "-o", str(tmp_path / "ok"), env=alice)
    server.depot("retire", REF, "--reason", "superseded by 3.1", env=victor)
    # Plain HTTP with alice's own token, under the check-out approved before: 403.
    token = login(server, "alice")
    url = f"{server.url}/api/v1/groups/payments/products/core/versions/3.0.0/files/core.tar.gz"
    for method in ("GET", "HEAD"):
        request = urllib.request.Request(url, method=method,
                                         headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        try:
            urllib.request.urlopen(request, timeout=10)
            raise AssertionError(f"{method} of a retired version's file was answered")
        except urllib.error.HTTPError as error:
            assert error.code == 403
    result = server.depot("pull", REF, "-o", str(tmp_path / "again"), env=alice, check=False)
    assert result.returncode == 7 and "retired" in result.stderr
    code, text = subprocess_admin(server, "audit", "verify")
    assert code == 0 and "the log and every signature verify" in text


def login(server: Server, name: str) -> str:
    body = json.dumps({"username": name, "password": PASSWORD, "client": "curl"}).encode()
    request = urllib.request.Request(f"{server.url}/api/v1/auth/login", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})  # fmt: skip
    with urllib.request.urlopen(request, timeout=10) as answer:
        return str(json.loads(answer.read())["token"])


def test_trust_show_and_the_bundle_carry_the_library_state(server: Server, tmp_path: Path) -> None:
    """`depot trust show` tells what the client saw of each library (index serial, expiry,
    versions); the signed index travels in the bundle, so offline verification knows the
    version is in the library; a bundle whose index was altered is refused."""
    alice, _, victor = released(server, tmp_path)
    pulled = server.depot_json("pull", REF, "-o", str(tmp_path / "got"), "--bundle", env=alice)
    shown = server.depot_json("trust", "show", env=alice)
    library = shown["library"]["payments/core"]
    assert library["serial"] >= 1 and library["versions_listed"] == 1, shown
    assert library["versions_seen"] == 1 and library["expires"].startswith("20"), shown
    remembered = library["versions"]["3.0.0"]
    assert remembered["library_number"] == 1 and remembered["state"] == "checked_in", shown
    assert len(remembered["manifest_sha256"]) == 64, shown
    text = server.depot("trust", "show", env=alice).stdout
    assert f"library payments/core: index serial {library['serial']}" in text, text
    assert "  payments/core@3.0.0: #1 checked_in (signed 20" in text, text
    bundle = json.loads(Path(pulled["bundle"]).read_text())
    assert bundle["library"]["payloadType"] == "application/vnd.depot.library.v1+json"
    offline = {**alice, "DEPOT_URL": "http://127.0.0.1:9"}
    artifact = str(tmp_path / "got" / "core.tar.gz")
    verified = server.depot_json("verify", artifact, "--bundle", pulled["bundle"], env=offline)
    assert verified["verified"][0]["library_serial"] == library["serial"], verified
    # The index's payload altered (its state says retired): the signature fails, exit 6.
    altered = tmp_path / "altered.bundle.json"
    index = json.loads(base64.b64decode(bundle["library"]["payload"]))
    index["versions"][0]["state"] = "retired"
    payload = json.dumps(index, sort_keys=True, separators=(",", ":")).encode()
    altered.write_text(json.dumps({**bundle, "library": {**bundle["library"],
                                   "payload": base64.b64encode(payload).decode()}}))  # fmt: skip
    result = server.depot("verify", artifact, "--bundle", str(altered), env=offline, check=False)
    assert result.returncode == 6 and "the bundle's library index" in result.stderr, result.stderr
    # Retired since, and this client saw it: the bundle of before is refused offline
    # (its index and status say checked_in), and `trust show` remembers the retirement.
    server.depot("retire", REF, "--reason", "superseded by 3.1", env=victor)
    stopped = server.depot("pull", REF, "-o", str(tmp_path / "late"), env=alice, check=False)
    assert stopped.returncode == 7, stopped.stdout + stopped.stderr
    after = server.depot_json("trust", "show", env=alice)["library"]["payments/core"]
    assert after["versions"]["3.0.0"]["state"] == "retired", after
    result = server.depot("verify", artifact, "--bundle", pulled["bundle"], env=offline,
                          check=False)  # fmt: skip
    assert result.returncode == 6 and "was seen retired" in result.stderr, result.stderr
