"""Backup and restore with the real commands, on folder+SQLite and on S3+PostgreSQL: a
server with a checked-in version is backed up while it runs, restored into a new database,
blob store and keys folder, passes `audit verify` and `scrub`, and serves the version to a
client that pinned the original root fingerprint. Also: `db downgrade` and back."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import create_postgres_database, drop_postgres_database
from tests.e2e.conftest import BIN, Server, serve, start_server, stop_server
from tests.e2e.test_integrity import PASSWORD, payments_team

pytestmark = pytest.mark.e2e

REF = "payments/core@1.0.0"
PLUGINS = {"DEPOT_PLUGINS": "quality,product_service"}


@pytest.fixture(params=["folder+sqlite", "s3+postgresql"])
def original(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    (tmp_path / "original").mkdir()
    yield from serve(request, tmp_path / "original", PLUGINS)


def server_command(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "depot-server"), *args], env=env, capture_output=True, text=True, timeout=300
    )


def check_in_a_version(server: Server, tmp_path: Path) -> bytes:
    alice, carol, victor = payments_team(server, tmp_path)
    server.create_product("payments/core", "--category", "application", "--origin", "in_house",
        env=alice, approver=victor,
    )  # fmt: skip
    build = tmp_path / "core.tar.gz"
    data = os.urandom(2 << 20)
    build.write_bytes(data)
    server.depot("push", REF, str(build), "--create", env=alice)
    server.depot("submit", REF, "--to", "carol", env=alice)
    report = tmp_path / "report.txt"
    report.write_text("all tests pass\n")
    server.depot("accept", REF, "--report", str(report), env=carol)
    checkin = server.depot_json("checkin", "request", REF, "--notes", "GA", env=alice)
    server.depot("approve", str(checkin["id"]), env=victor)
    checkout = server.depot_json("checkout", "request", REF, "--purpose", "deploy", env=alice)
    server.depot("approve", str(checkout["id"]), env=victor)
    draft = tmp_path / "next.bin"
    draft.write_bytes(b"work in progress")
    server.create_product("payments/tools", "--category", "application", "--origin", "in_house",
        env=alice, approver=victor,
    )  # fmt: skip
    server.depot("push", "payments/tools@0.1.0", str(draft), "--create", env=alice)
    return data


def test_backup_and_restore_into_a_new_server(
    original: Server, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    data = check_in_a_version(original, tmp_path)
    folder = tmp_path / "backup"
    made = server_command(original.env, "--json", "backup", str(folder))
    assert made.returncode == 0, made.stdout + made.stderr
    manifest = json.loads((folder / "depot-backup.json").read_text())
    assert manifest["complete"] and manifest["blobs"]["count"] == 3  # build, report, draft
    assert {k["name"] for k in manifest["keys"]} == {"1.release.pem", "1.status.pem", "1.log.pem"}
    assert not list(folder.rglob("root-*.pem"))
    refused = server_command(original.env, "backup", str(folder))
    assert refused.returncode == 5 and "not empty" in refused.stderr

    # A new machine: its own data folder, an empty database and an empty blob store.
    target = tmp_path / "restored"
    env = {**original.env, "DEPOT_DATA_DIR": str(target / "server")}
    database = None
    if original.kind.startswith("s3"):  # type: ignore[attr-defined]
        admin = request.getfixturevalue("postgres_server")
        database = create_postgres_database(admin)
        env["DEPOT_DATABASE_URL"] = database
        endpoint = request.getfixturevalue("moto_endpoint")
        bucket = f"depot-restored-{uuid.uuid4().hex[:8]}"
        env["DEPOT_STORAGE_URL"] = f"s3://{bucket}/depot?endpoint_url={endpoint}&create_bucket=true"
    try:
        restored = server_command(env, "restore", str(folder))
        assert restored.returncode == 0, restored.stdout + restored.stderr
        assert "restored the backup" in restored.stdout and "3 blob(s)" in restored.stdout
        again = server_command(env, "restore", str(folder))
        assert again.returncode == 5 and "is not empty" in again.stderr

        verify = server_command(env, "audit", "verify")
        assert verify.returncode == 0, verify.stdout + verify.stderr
        assert "the log and every signature verify" in verify.stdout
        scrub = server_command(env, "--json", "scrub")
        assert scrub.returncode == 0, scrub.stdout + scrub.stderr
        assert json.loads(scrub.stdout)["checked"] == 3

        # The restored server signs with the restored keys: a client pinned to the original
        # root fingerprint pulls the checked-in version and verifies it.
        server = start_server(target, {k: v for k, v in env.items() if k != "DEPOT_PORT"})
        try:
            alice = {"DEPOT_CONFIG_DIR": str(target / "cli-alice")}
            server.depot(
                "login", "--server", server.url, "--user", "alice", "--password-stdin",
                input=PASSWORD + "\n", env=alice,
            )  # fmt: skip
            server.depot(
                "trust", "init", server.url, "--root-fingerprint", original.fingerprint, env=alice
            )
            pulled = server.depot_json("pull", REF, "-o", str(target / "out"), env=alice)
            assert pulled["signed"]["library_number"] == 1
            assert (target / "out" / "core.tar.gz").read_bytes() == data
        finally:
            stop_server(server)
    finally:
        if database:
            drop_postgres_database(request.getfixturevalue("postgres_server"), database)


def test_restore_refuses_a_changed_backup_and_another_database_kind(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "DEPOT_DATA_DIR": str(tmp_path / "a"), **PLUGINS}
    assert server_command(env, "init").returncode == 0
    folder = tmp_path / "backup"
    assert server_command(env, "backup", str(folder)).returncode == 0
    (folder / "depot-backup.json").write_text(
        (folder / "depot-backup.json").read_text().replace('"dialect": "sqlite"', '"dialect": "x"')
    )
    other = {**env, "DEPOT_DATA_DIR": str(tmp_path / "b")}
    kind = server_command(other, "restore", str(folder))
    assert kind.returncode == 2 and "holds a x database" in kind.stderr
    (folder / "depot-backup.json").write_text(
        (folder / "depot-backup.json").read_text().replace('"dialect": "x"', '"dialect": "sqlite"')
    )
    with (folder / "database.sqlite3").open("ab") as handle:
        handle.write(b"\0")
    changed = server_command(other, "restore", str(folder))
    assert changed.returncode == 6 and "does not match the backup's checksum" in changed.stderr
    missing = server_command(other, "restore", str(tmp_path))
    assert missing.returncode == 2 and "depot-backup.json is missing" in missing.stderr
    assert "Traceback" not in kind.stderr + changed.stderr + missing.stderr


def test_db_downgrade_and_upgrade_again(tmp_path: Path) -> None:
    env = {**os.environ, "DEPOT_DATA_DIR": str(tmp_path), **PLUGINS}
    assert server_command(env, "init").returncode == 0
    unconfirmed = server_command(env, "db", "downgrade", "0004")
    assert unconfirmed.returncode == 2 and "--yes" in unconfirmed.stderr
    down = server_command(env, "--json", "db", "downgrade", "0004", "--yes")
    assert down.returncode == 0, down.stderr
    assert json.loads(down.stdout)["revision"] == {
        "depot": "0004",
        "quality": None,
        "product_service": None,
    }
    assert server_command(env, "check").returncode == 1
    assert server_command(env, "db", "upgrade").returncode == 0
    assert server_command(env, "check").returncode == 0
    unknown = server_command(env, "db", "downgrade", "9999", "--yes")
    assert unknown.returncode == 2 and "Can't locate revision" in unknown.stderr
