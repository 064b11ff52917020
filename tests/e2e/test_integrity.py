"""Integrity end to end: a version signed at check-in, pulled and verified by a client
that trusts only the root fingerprint, verified again offline; a blob changed in the store
is caught by the pull and by the scrub; the log replays clean and only grows."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import boto3

from tests.e2e.conftest import Server

PASSWORD = "a long passphrase for everyone"
REF = "payments/core@3.0.0"


def person(server: Server, tmp_path: Path, name: str) -> dict[str, str]:
    """The environment of ``name``'s own terminal, signed in."""
    env = {"DEPOT_CONFIG_DIR": str(tmp_path / f"cli-{name}")}
    server.depot(
        "login", "--server", server.url, "--user", name, "--password-stdin",
        input=PASSWORD + "\n", env=env,
    )  # fmt: skip
    return env


def payments_team(server: Server, tmp_path: Path, *extra: tuple[str, str]) -> list[dict[str, str]]:
    """Group ``payments`` with alice (software manager, member) and carol (acceptance
    officer); victor (version manager) and the ``extra`` (name, global role) people;
    each one's signed-in terminal, in that order."""
    admin = server.admin
    people = (("alice", None), ("carol", None), ("victor", "version_manager"), *extra)
    for name, role in people:
        admin(
            "user", "create", name, "--password-stdin", *(("--role", role) if role else ()),
            input=PASSWORD + "\n",
        )  # fmt: skip
    admin("group", "create", "payments")
    for name, role in (
        ("alice", "software_manager"),
        ("alice", "member"),
        ("carol", "acceptance_officer"),
    ):
        admin("group", "add-member", "payments", name, "--role", role)
    return [person(server, tmp_path, name) for name, _ in people]


def test_a_signed_release_verified_online_and_offline(server: Server, tmp_path: Path) -> None:
    assert server.fingerprint, "the first start printed no root fingerprint"
    alice, carol, victor = payments_team(server, tmp_path)
    server.create_product("payments/core", "--category", "application", "--origin", "in_house",
        env=alice, approver=victor,
    )  # fmt: skip
    build = tmp_path / "core.tar.gz"
    build.write_bytes(b"release build " * 5000)
    server.depot("push", REF, str(build), "--create", env={**alice, "DEPOT_BUILD_ID": "nightly-7"})
    server.depot("submit", REF, "--to", "carol", env=alice)
    report = tmp_path / "report.txt"
    report.write_text("all 212 tests pass\n")
    server.depot("accept", REF, "--report", str(report), env=carol)
    request = server.depot_json("checkin", "request", REF, "--notes", "GA", env=alice)
    # victor approves with his personal key: the statement carries his own signature.
    server.depot("keys", "generate", env=victor)
    enrollment_key = server.data_dir / "enrollment-keys" / "enrollment-1.pem"
    server.admin("keys", "enroll", "--enrollment-key", str(enrollment_key), "--user", "victor")
    server.depot("approve", str(request["id"]), "--comment", "archived", env=victor)
    checkout = server.depot_json("checkout", "request", REF, "--purpose", "deploy", env=alice)
    server.depot("approve", str(checkout["id"]), env=victor)

    # alice trusts only the fingerprint her administrator gave her.
    server.depot("trust", "init", server.url, "--root-fingerprint", server.fingerprint, env=alice)
    out = tmp_path / "out"
    pulled = server.depot_json("pull", REF, "-o", str(out), "--bundle", env=alice)
    assert pulled["signed"]["library_number"] == 1
    assert (out / "core.tar.gz").read_bytes() == build.read_bytes()
    bundle = Path(pulled["bundle"])
    statements = json.loads(bundle.read_text())["statements"]
    assert len(statements) == 2

    # Offline: no server needed (a wrong URL proves it), and a changed file is refused.
    offline = {**alice, "DEPOT_URL": "http://127.0.0.1:9"}
    verified = server.depot_json(
        "verify", str(out / "core.tar.gz"), "--bundle", str(bundle), env=offline
    )
    assert verified["verified"][0]["sha256"] == hashlib.sha256(build.read_bytes()).hexdigest()
    forged = tmp_path / "forged" / "core.tar.gz"
    forged.parent.mkdir()
    forged.write_bytes(build.read_bytes()[:-1] + b"X")
    refused = server.depot("verify", str(forged), "--bundle", str(bundle), env=offline, check=False)
    assert refused.returncode == 6 and "does not verify" in refused.stderr

    # Someone changes the blob in the store: the pull refuses it, the scrub reports it.
    tamper(server, hashlib.sha256(build.read_bytes()).hexdigest())
    again = server.depot("pull", REF, "-o", str(tmp_path / "again"), env=alice, check=False)
    assert again.returncode == 6, again.stderr
    assert not (tmp_path / "again" / "core.tar.gz").exists()
    scrub = subprocess_admin(server, "--json", "scrub")
    assert scrub[0] == 6 and json.loads(scrub[1])["changed"][0]["file"] == "core@3.0.0/core.tar.gz"

    # The log replays clean on the server, and alice's client sees it only grew.
    code, text = subprocess_admin(server, "audit", "verify")
    assert code == 0 and "the log and every signature verify" in text
    grown = server.depot_json("audit", "verify", env=alice)
    assert grown["ok"] and grown["size"] >= grown["previous_size"]


def tamper(server: Server, sha: str) -> None:
    key = f"areas/payments/sha256/{sha[:2]}/{sha[2:4]}/{sha}"
    if server.kind.startswith("folder"):  # type: ignore[attr-defined]
        path = server.data_dir / "blobs" / key
        path.chmod(0o644)
        path.write_bytes(b"X" + path.read_bytes()[1:])
        return
    url = server.env["DEPOT_STORAGE_URL"]
    bucket = url.removeprefix("s3://").split("/", 1)[0]
    endpoint = url.split("endpoint_url=", 1)[1].split("&", 1)[0]
    s3 = boto3.client("s3", endpoint_url=endpoint)
    body = s3.get_object(Bucket=bucket, Key=f"depot/{key}")["Body"].read()
    s3.put_object(Bucket=bucket, Key=f"depot/{key}", Body=b"X" + body[1:])


def subprocess_admin(server: Server, *args: str) -> tuple[int, str]:
    import subprocess

    from tests.e2e.conftest import BIN

    result = subprocess.run(
        [str(BIN / "depot-server"), *args], env=server.env, capture_output=True, text=True
    )
    return result.returncode, result.stdout + result.stderr
