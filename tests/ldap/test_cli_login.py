"""``depot login`` and friends with a directory account, against a live server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from client.main import cli
from repo_server.clock import FrozenClock
from tests.ldap.directory import LiveDirectory, password

# The client does not depend on the database: SQLite only, as in tests/client.
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
def depot(live_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    def run(*args: str, input: str | None = None) -> Result:
        env = {
            "DEPOT_CONFIG_DIR": str(tmp_path / "client-config"),
            "DEPOT_URL": "",
            "DEPOT_TOKEN": "",
            "COLUMNS": "200",
        }
        return CliRunner().invoke(cli, list(args), input=input, env=env, catch_exceptions=False)

    def login(user: str, secret: str) -> Result:
        return run(
            "login", "--server", live_url, "--user", user, "--password-stdin", input=secret + "\n"
        )

    run.login = login  # type: ignore[attr-defined]
    return run


def test_depot_login_with_the_directory_password(depot, live_url: str) -> None:  # type: ignore[no-untyped-def]
    signed_in = depot.login("alice", password("alice"))
    assert signed_in.exit_code == 0, signed_in.output
    assert signed_in.output.startswith(f"Signed in to {live_url} as alice (token valid until ")
    me = depot("whoami")
    assert me.exit_code == 0
    assert me.output == f"alice at {live_url}\ngroup payments: member\n"
    assert json.loads(depot("--json", "ls", "payments").output) == []


def test_a_wrong_directory_password(depot) -> None:  # type: ignore[no-untyped-def]
    refused = depot.login("alice", "not her password")
    assert refused.exit_code == 3
    assert "invalid user name or password" in refused.output


def test_depot_login_while_the_directory_is_down(depot, directory: LiveDirectory) -> None:  # type: ignore[no-untyped-def]
    directory.pause()
    refused = depot.login("alice", password("alice"))
    assert refused.exit_code == 9
    assert (
        "the directory (LDAP) cannot be reached, so directory accounts cannot sign in now"
        in refused.output
    )
    directory.resume()
    assert depot.login("alice", password("alice")).exit_code == 0


def test_losing_the_directory_group_shows_in_the_cli(  # type: ignore[no-untyped-def]
    depot, directory: LiveDirectory, clock: FrozenClock
) -> None:
    assert depot.login("alice", password("alice")).exit_code == 0
    directory.remove_member("payments-dev", "alice")
    clock.advance(seconds=300)
    me = depot("whoami")
    assert me.exit_code == 0 and "payments" not in me.output
    listing = depot("ls", "payments")
    assert listing.exit_code == 4
    assert "group 'payments' not found" in listing.output


def test_depot_passwd_points_to_the_directory(depot) -> None:  # type: ignore[no-untyped-def]
    assert depot.login("alice", password("alice")).exit_code == 0
    changed = depot(
        "passwd", "--password-stdin", input=f"{password('alice')}\na brand new password\n"
    )
    assert changed.exit_code == 8
    assert "change your password there, not in Depot" in changed.output


def test_a_newcomer_under_a_departed_persons_name_is_told_their_account(  # type: ignore[no-untyped-def]
    depot, directory: LiveDirectory, world, live_url: str
) -> None:
    from repo_server.auth.principal import system

    assert depot.login("alice", password("alice")).exit_code == 0
    directory.delete("alice")
    world.depot.auth.directory.sync_all(system())
    directory.add_person("alice", "Alice Newcomer", secret="newcomer-pw")
    signed_in = depot.login("alice", "newcomer-pw")
    assert signed_in.exit_code == 0, signed_in.output
    assert signed_in.output.startswith(f"Signed in to {live_url} as alice-2 (token valid until ")
    assert depot("whoami").output.startswith(f"alice-2 at {live_url}\n")
    # The profile keeps the name they sign in with: the directory's.
    again = depot("login", "--password-stdin", input="newcomer-pw\n")
    assert again.exit_code == 0, again.output
