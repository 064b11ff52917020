"""``depot-server``: preparing, administering and cleaning up a server."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from repo_server.cli import main

ENV = {"DEPOT_SCRYPT_N": "1024"}


@pytest.fixture
def run(tmp_path: Path, database_url: str):
    def invoke(*args: str, input: str | None = None, ok: bool = True) -> tuple[int, str]:
        env = {**ENV, "DEPOT_DATA_DIR": str(tmp_path), "DEPOT_DATABASE_URL": database_url}
        result = CliRunner().invoke(main, list(args), input=input, env=env, catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result.exit_code, result.output

    return invoke


def test_init_creates_the_admin_once(run) -> None:
    _, first = run("--json", "init")
    password = json.loads(first)["admin_password"]
    assert password and len(password) >= 16
    _, second = run("--json", "init")
    assert json.loads(second)["admin_password"] is None
    _, text = run("init")
    assert "created the admin" not in text


def test_users_groups_and_members(run) -> None:
    run("init")
    run(
        "user",
        "create",
        "alice",
        "--password-stdin",
        "--display-name",
        "Alice A.",
        input="a long passphrase\n",
    )
    run(
        "user",
        "create",
        "victor",
        "--role",
        "version_manager",
        "--password-stdin",
        input="another passphrase\n",
    )
    code, out = run(
        "user", "create", "alice", "--password-stdin", input="a long passphrase\n", ok=False
    )
    assert code == 5 and "already exists" in out
    code, out = run("user", "create", "weak", "--password-stdin", input="short\n", ok=False)
    assert code == 1 and "at least 12" in out
    run("group", "create", "payments", "--display-name", "Payments")
    run("group", "add-member", "payments", "alice", "--role", "software_manager")
    _, members = run("--json", "group", "members", "payments")
    assert json.loads(members) == [
        {"username": "alice", "display_name": "Alice A.", "roles": ["software_manager"]}
    ]
    _, users = run("--json", "user", "list")
    assert {u["username"]: u["roles"] for u in json.loads(users)} == {
        "admin": ["admin"],
        "alice": [],
        "victor": ["version_manager"],
    }
    run("user", "disable", "alice")
    _, users = run("--json", "user", "list")
    assert [u["active"] for u in json.loads(users) if u["username"] == "alice"] == [False]
    code, out = run("group", "add-member", "nope", "alice", ok=False)
    assert code == 4
    code, out = run("group", "create", "Bad_Name", ok=False)
    assert code == 8 and "invalid group name" in out
    _, audit = run("--json", "audit", "list", "--action", "group.create")
    record = json.loads(audit)[0]
    assert record["actor"] == "system" and record["remote_addr"].startswith("cli:")


def test_gc_removes_abandoned_temporary_files(run, tmp_path: Path) -> None:
    run("init")
    tmp = tmp_path / "blobs" / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    stale = tmp / "0123.part"
    stale.write_bytes(b"half an upload")
    old = time.time() - 3 * 86400
    os.utime(stale, (old, old))
    (tmp / "4567.part").write_bytes(b"an upload in progress")
    _, out = run("--json", "gc", "--older-than", "1d")
    assert json.loads(out)["removed"] == ["tmp/0123.part"]
    assert not stale.exists() and (tmp / "4567.part").exists()
    code, out = run("gc", "--older-than", "soon", ok=False)
    assert code == 2


def test_check_reports_the_components(run) -> None:
    run("init")
    _, out = run("--json", "check")
    report = json.loads(out)
    assert report["ok"] is True and report["storage"].startswith("file://")


def test_bad_settings_are_reported(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["init"], env={"DEPOT_PORT": "x", "DEPOT_DATA_DIR": str(tmp_path)}
    )
    assert result.exit_code == 2 and "DEPOT_PORT" in result.output


def test_init_creates_the_signing_keys_once_and_keys_show_prints_the_fingerprint(
    run, tmp_path: Path
) -> None:
    _, first = run("--json", "init")
    created = json.loads(first)
    assert created["root_key"] == str(tmp_path.absolute() / "root-keys" / "root-1.pem")
    assert (tmp_path / "root-keys" / "root-1.pem").stat().st_mode & 0o777 == 0o600
    fingerprint = created["root_fingerprint"]
    assert len(fingerprint) == 64
    again = json.loads(run("--json", "init")[1])
    assert again["root_key"] is None and again["root_fingerprint"] == fingerprint
    shown = json.loads(run("--json", "keys", "show")[1])
    assert shown["version"] == 1 and shown["root_fingerprint"] == fingerprint
    assert set(shown["roles"]) == {"root", "enrollment", "release", "status", "log"}
    enrollment_key = tmp_path / "enrollment-keys" / "enrollment-1.pem"
    assert enrollment_key.stat().st_mode & 0o777 == 0o600
    code, text = run(
        "keys", "init", "--root-key", created["root_key"], "--enrollment-key",
        str(enrollment_key), ok=False,
    )  # fmt: skip
    assert code == 5 and "already has a keyring" in text
    rotated = json.loads(run("--json", "keys", "rotate", "--root-key", created["root_key"])[1])
    assert rotated["version"] == 2 and rotated["root_fingerprint"] == fingerprint
    code, text = run("audit", "verify")
    assert code == 0 and "the log and every signature verify" in text


def test_keys_init_before_db_upgrade_says_what_to_do(tmp_path: Path) -> None:
    """Item 9 of issue 10: on a fresh data folder `keys init` ended in a traceback."""
    data = tmp_path / "fresh"

    def invoke(*args: str) -> tuple[int, str]:
        env = {**ENV, "DEPOT_DATA_DIR": str(data), "DEPOT_DATABASE_URL": ""}
        result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
        return result.exit_code, result.output

    invoke("keys", "generate-roots", str(tmp_path / "r"), "--count", "1")
    invoke("keys", "generate-roots", str(tmp_path / "e"), "--count", "1", "--role", "enrollment")
    keys = ("--root-key", str(tmp_path / "r" / "root-1.pem"),
            "--enrollment-key", str(tmp_path / "e" / "enrollment-1.pem"))  # fmt: skip
    # The data folder does not even exist yet.
    code, text = invoke("keys", "init", *keys)
    assert code == 1 and "cannot open the database" in text and "db upgrade" in text
    data.mkdir()
    code, text = invoke("keys", "init", *keys)
    assert code == 1 and "run `depot-server db upgrade` first" in text
    assert "Traceback" not in text
    code, text = invoke("keys", "show")
    assert code == 1 and "db upgrade" in text
    assert invoke("db", "upgrade")[0] == 0
    code, text = invoke("--json", "keys", "init", *keys)
    assert code == 0 and json.loads(text)["version"] == 1


def test_root_custody_m_of_n_is_kept_until_changed_explicitly(run, tmp_path: Path) -> None:
    """Item 7 of issue 10: 3 roots with threshold 2 stay 2 of 3 through every rotation."""
    run("db", "upgrade")
    run("keys", "generate-roots", str(tmp_path / "r"), "--count", "4")
    run("keys", "generate-roots", str(tmp_path / "e"), "--count", "3", "--role", "enrollment")
    r1, r2, r3, r4 = (str(tmp_path / "r" / f"root-{n}.pem") for n in range(1, 5))
    e1, e2, e3 = (str(tmp_path / "e" / f"enrollment-{n}.pem") for n in range(1, 4))

    def roles(output: str) -> dict:  # type: ignore[type-arg]
        return json.loads(output)["roles"]  # type: ignore[no-any-return]

    first = roles(run(
        "--json", "keys", "init", "--root-key", r1, "--root-key", r2, "--root-key", r3,
        "--threshold", "2", "--enrollment-key", e1, "--enrollment-key", e2,
        "--enrollment-threshold", "2",
    )[1])  # fmt: skip
    assert first["root"]["threshold"] == 2 and len(first["root"]["keyids"]) == 3
    assert first["enrollment"]["threshold"] == 2 and len(first["enrollment"]["keyids"]) == 2
    # Any two of the three rotate; all three roots and both thresholds are kept.
    for pair in ((r1, r2), (r2, r3), (r3, r1)):
        kept = roles(
            run("--json", "keys", "rotate", "--root-key", pair[0], "--root-key", pair[1])[1]
        )
        assert kept["root"] == first["root"] and kept["enrollment"] == first["enrollment"]
    code, text = run("keys", "rotate", "--root-key", r1, ok=False)
    assert code == 1 and "need 2 signature(s)" in text
    # Explicit changes only: r4 joins (and signs), r3 leaves, the threshold stays 2.
    changed = roles(run(
        "--json", "keys", "rotate", "--root-key", r1, "--root-key", r2, "--add-root", r4,
        "--remove-root", r3,
    )[1])  # fmt: skip
    assert len(changed["root"]["keyids"]) == 3 and changed["root"]["threshold"] == 2
    assert set(changed["root"]["keyids"]) != set(first["root"]["keyids"])
    code, text = run("keys", "rotate", "--root-key", r1, "--root-key", r2, "--threshold", "4",
                     ok=False)  # fmt: skip
    assert code == 1 and "threshold of 4" in text
    # The enrolment role changes only with its officers re-signing the enrolment document.
    code, text = run("keys", "rotate", "--root-key", r1, "--root-key", r2,
                     "--add-enrollment-key", e3, ok=False)  # fmt: skip
    assert code == 1 and "--enrollment-key" in text
    grown = roles(run(
        "--json", "keys", "rotate", "--root-key", r1, "--root-key", r2, "--add-enrollment-key",
        e3, "--enrollment-key", e1, "--enrollment-key", e3,
    )[1])  # fmt: skip
    assert len(grown["enrollment"]["keyids"]) == 3 and grown["enrollment"]["threshold"] == 2
    enrolled = json.loads(run("--json", "keys", "enroll", "--enrollment-key", e2,
                              "--enrollment-key", e3)[1])  # fmt: skip
    assert enrolled["version"] == 3
    code, text = run("keys", "enroll", "--enrollment-key", e1, ok=False)
    assert code == 1 and "needs 2 valid signatures by enrollment keys" in text
    code, text = run("audit", "verify")
    assert code == 0 and "the log and every signature verify" in text


def test_a_plugin_s_tables_come_with_db_upgrade_and_stay_when_it_is_disabled(
    tmp_path: Path, database_url: str
) -> None:
    def invoke(*args: str, plugins: str = "") -> tuple[int, str]:
        env = {
            **ENV,
            "DEPOT_DATA_DIR": str(tmp_path),
            "DEPOT_DATABASE_URL": database_url,
            "DEPOT_PLUGINS": plugins,
        }
        result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
        return result.exit_code, result.output

    assert invoke("init")[0] == 0
    code, out = invoke("--json", "check", plugins="product_service")
    report, _ = json.JSONDecoder().raw_decode(out)
    assert code != 0 and report["ok"] is False and report["plugins"] == ["product_service"]
    assert report["head"] == {"depot": "0014", "product_service": "product_service_0002"}
    assert report["revision"] == {"depot": "0014", "product_service": None}
    assert "depot-server db upgrade" in out
    code, out = invoke("--json", "db", "upgrade", plugins="product_service")
    assert code == 0 and json.loads(out)["revision"]["product_service"] == "product_service_0002"
    code, out = invoke("--json", "check", plugins="product_service")
    assert code == 0 and json.loads(out)["ok"] is True
    # Disabled again: the core still migrates and checks out, the tables stay.
    assert invoke("db", "upgrade")[0] == 0
    code, out = invoke("check")
    assert code == 0 and "plugins: none enabled" in out


@pytest.mark.parametrize(
    "args",
    [
        ("init", "--json"),
        ("db", "current", "--json"),
        ("db", "--json", "current"),
        ("user", "list", "--json"),
        ("audit", "list", "--json"),
    ],
)
def test_json_is_accepted_after_the_command_name(run, args: tuple[str, ...]) -> None:
    run("init")
    _, out = run(*args)
    json.loads(out)


def test_check_names_each_part_and_never_shows_a_traceback(tmp_path: Path) -> None:
    """The database down: one line per part, exit 1, no traceback (text and --json)."""
    env = {
        "DEPOT_DATA_DIR": str(tmp_path),
        "DEPOT_DATABASE_URL": "postgresql+psycopg://depot@127.0.0.1:9/depot",
    }
    result = CliRunner().invoke(main, ["check"], env=env)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert "FAIL  database: not reachable" in result.output
    assert "not ready: database, migrations" in result.output
    result = CliRunner().invoke(main, ["--json", "check"], env=env)
    report, _ = json.JSONDecoder().raw_decode(result.output)
    assert report["ok"] is False and report["checks"][0]["name"] == "database"
    assert "revision" not in report
