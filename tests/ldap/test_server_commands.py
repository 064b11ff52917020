"""``depot-server ldap sync`` (for a scheduler) and ``depot-server ldap test``."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from repo_server.cli import main
from tests.ldap.conftest import ldap_settings
from tests.ldap.directory import LiveDirectory
from tests.ldap.test_sign_in import login, whoami
from tests.support import TEST_SCRYPT_N, World


class Runner:
    def __init__(self, world: World, directory: LiveDirectory, mapping_file: Path) -> None:
        self.world = world
        self.env = {
            "DEPOT_SCRYPT_N": str(TEST_SCRYPT_N),
            "DEPOT_DATA_DIR": str(world.depot.settings.data_dir),
            "DEPOT_DATABASE_URL": world.depot.settings.database_url,
            "DEPOT_STORAGE_URL": world.depot.settings.storage_url,
            "DEPOT_CONFIG": "",
        }
        for key, value in ldap_settings(directory, mapping_file).items():
            self.env[f"DEPOT_{key.upper()}"] = str(value)

    def __call__(self, *args: str, code: int = 0, **env: str) -> str:
        result = CliRunner().invoke(
            main, list(args), env={**self.env, **env}, catch_exceptions=False
        )
        assert result.exit_code == code, result.output
        return result.output

    def json(self, *args: str, code: int = 0, **env: str) -> Any:
        return json.loads(self("--json", *args, code=code, **env))


@pytest.fixture
def run(world: World, directory: LiveDirectory, mapping_file: Path) -> Runner:
    return Runner(world, directory, mapping_file)


def test_sync_creates_accounts_and_follows_the_directory(
    run: Runner, world: World, directory: LiveDirectory
) -> None:
    first = run.json("ldap", "sync")
    assert first["completed"] is True and first["problems"] == []
    # Everyone in a mapped group (nested ones too), but not the disabled dave.
    assert first["created"] == ["alice", "bob", "carol", "erin", "frank", "olivia"]
    assert {(c["user"], c["group"], c["role"]) for c in first["changes"]} == {
        ("alice", "payments", "member"),
        ("bob", "payments", "member"),
        ("bob", "payments", "software_manager"),
        ("carol", "payments", "member"),
        ("erin", "ops", "member"),
        ("frank", "deep", "acceptance_officer"),
        ("olivia", None, "admin"),
    }
    members = world.call(
        "GET", "/api/v1/groups/payments/members", login(world, "bob").json["token"]
    ).json["members"]
    assert [m["username"] for m in members] == ["alice", "bob", "carol"]

    directory.remove_member("payments-dev", "alice")
    directory.disable("carol")
    second = run("ldap", "sync")
    for who in ("alice", "carol"):
        assert re.search(rf"│ {who}\s+│ removed\s+│ payments\s+│ member\s+│", second), second
    assert (
        "checked 7 directory account(s): 0 created, 1 gone from the directory, 2 change(s)"
        in second
    )
    assert "gone: carol (directory grants removed, tokens refused)" in second
    assert run.json("ldap", "sync")["changes"] == []

    syncs = world.audit(action="ldap.sync")
    assert [s["actor"] for s in syncs] == ["system"] * 3
    assert syncs[1]["details"] == {
        "checked": 7,
        "created": 0,
        "gone": 1,
        "changes": 2,
        "problems": 0,
    }
    removal = world.audit(action="group.member.remove", actor="system")[0]
    assert removal["target"] == "payments:user:alice" and removal["details"]["via"] == "sync"
    # alice's token saw the change at once: the sync is the re-check.
    assert whoami(world, login(world, "alice").json["token"])["groups"] == {}


def test_sync_when_the_directory_is_down(run: Runner, directory: LiveDirectory) -> None:
    directory.pause()
    out = run("ldap", "sync", code=1)
    assert "error: synchronisation stopped before the end: no directory server answered" in out
    directory.resume()


def test_the_connection_test(run: Runner, directory: LiveDirectory) -> None:
    out = run("ldap", "test")
    assert out.splitlines() == [
        f"ok   {directory.url}: no TLS, bound as dn:cn=depot-svc,ou=services,dc=example,dc=org",
        "mapping: 6 entries",
    ]
    frank = run.json("ldap", "test", "--user", "frank")["user"]
    assert frank["dn"] == "uid=frank,ou=people,dc=example,dc=org" and not frank["disabled"]
    assert frank["groups"] == {"deep": ["acceptance_officer"]}
    assert len(frank["directory_groups"]) == 3
    assert re.fullmatch(r"[0-9a-f-]{36}", frank["directory_id"])
    assert frank["account"] == "frank" and frank["account_exists"] is False
    out = run("ldap", "test", "--user", "olivia")
    assert "  gets global role admin" in out
    assert "  would get the new account olivia" in out
    out = run("ldap", "test", "--user", "olivia", code=1, DEPOT_LDAP_ID_ATTRIBUTE="employeeNumber")
    assert (
        "problem: uid=olivia,ou=people,dc=example,dc=org has no employeeNumber "
        "(ldap_id_attribute): cannot sign in" in out
    )
    out = run("ldap", "test", "--user", "nobody")
    assert "user nobody: not found in the directory" in out


def test_the_connection_test_reports_every_problem(
    run: Runner, directory: LiveDirectory, tmp_path: Path
) -> None:
    mapping = tmp_path / "more.toml"
    mapping.write_text(
        '[[map]]\ndirectory_group = "cn=nowhere,ou=groups,dc=example,dc=org"\n'
        'project_group = "nosuch"\nroles = ["member"]\n'
    )
    out = run(
        "ldap",
        "test",
        code=1,
        DEPOT_LDAP_URL=f"ldap://127.0.0.1:9 {directory.url}",
        DEPOT_LDAP_MAPPING_FILE=str(mapping),
    )
    assert "FAIL ldap://127.0.0.1:9: Can't contact LDAP server" in out
    assert f"ok   {directory.url}" in out
    assert "problem: project group 'nosuch' of the mapping file does not exist in Depot" in out
    assert (
        "problem: directory group 'cn=nowhere,ou=groups,dc=example,dc=org' of the mapping "
        "file was not found" in out
    )
    assert "error: the directory check found problems (see above)" in out


def test_starttls_in_the_connection_test(run: Runner, directory: LiveDirectory) -> None:
    out = run(
        "ldap", "test", DEPOT_LDAP_STARTTLS="yes", DEPOT_LDAP_CA_FILE=str(directory.ca.ca_file)
    )
    assert f"ok   {directory.url}: StartTLS, bound as dn:cn=depot-svc" in out


def test_without_a_directory_the_commands_say_how_to_set_one_up(run: Runner) -> None:
    out = run("ldap", "sync", code=1, DEPOT_LDAP_URL="")
    assert "error: directory sign-in is not configured: set ldap_url (DEPOT_LDAP_URL)" in out


def test_a_mistake_in_the_mapping_file_stops_the_server(run: Runner, tmp_path: Path) -> None:
    mapping = tmp_path / "bad.toml"
    mapping.write_text(
        '[[map]]\ndirectory_group = "cn=x,dc=example,dc=org"\nproject_group = "payments"\n'
        'roles = ["boss"]\n'
    )
    out = run("check", code=1, DEPOT_LDAP_MAPPING_FILE=str(mapping))
    assert (
        f"error: {mapping}, map entry 1: unknown role 'boss' in roles; use member, "
        "software_manager, acceptance_officer" in out
    )


def test_the_crontab_line_takes_json_after_the_command(run: Runner) -> None:
    # docs/ldap.md's crontab line: `depot-server ldap sync --json`.
    report = json.loads(run("ldap", "sync", "--json"))
    assert report["completed"] is True
    assert json.loads(run("ldap", "test", "--json"))["problems"] == []
