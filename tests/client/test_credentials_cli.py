"""Sign-in tokens are bound to the server that issued them (issue 13 §3).

Stored per profile and per normalised origin, in the OS keyring when there is one, else in
a 0600 file; a first-format config file is migrated. Against a live server, plus a second
HTTP server that records what it is sent.
"""

from __future__ import annotations

import dataclasses
import json
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import keyring
import pytest
from flask import Flask, Response, jsonify, request
from keyring.backend import KeyringBackend
from keyring.backends import fail, null

from client.credentials import origin
from tests.client.conftest import Live
from tests.fixtures.oidc import oidc_issuer
from tests.fixtures.servers import serve


@pytest.fixture
def listener() -> Iterator[tuple[str, list[dict[str, str]]]]:
    """Another HTTP server on 127.0.0.1 that answers 200 to everything and records the
    headers of every request."""
    seen: list[dict[str, str]] = []
    app = Flask("listener")

    @app.route("/", defaults={"path": ""}, methods=["GET", "POST", "PUT", "DELETE"])
    @app.route("/<path:path>", methods=["GET", "POST", "PUT", "DELETE"])
    def record(path: str) -> Response:
        seen.append(dict(request.headers))
        return jsonify(products=[], groups=[], username="x", roles=[])

    with serve(app) as url:
        yield url, seen


def credentials(live: Live) -> dict[str, dict[str, str]]:
    path = live.config_dir / "credentials.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    data: dict[str, dict[str, str]] = json.loads(path.read_text())
    return data


def test_the_token_is_never_sent_to_another_server(
    team: Live, listener: tuple[str, list[dict[str, str]]]
) -> None:
    other, seen = listener
    team.login("bob")
    for args, env in (
        (("--server", other, "ls", "team"), {}),
        (("ls", "team"), {"DEPOT_URL": other}),
        (("--server", other, "whoami"), {}),
        (("--server", other, "token", "list"), {}),
    ):
        result = team.depot(*args, env=env)
        assert result.exit_code == 3, result.output
        assert f"not signed in to {other}" in result.output
    assert all("Authorization" not in headers for headers in seen)
    # The issuing server, spelt another way, still gets it.
    spelt = team.url + "/"
    assert team.json("--server", spelt, "whoami")["username"] == "bob"


def test_tokens_are_kept_per_server_and_profile_out_of_the_config_file(team: Live) -> None:
    team.login("bob")
    result = team.depot(
        "--profile",
        "manager",
        "login",
        "--server",
        team.url,
        "--user",
        "alice",
        "--password-stdin",
        input="correct horse battery staple\n",
    )
    assert result.exit_code == 0, result.output
    assert team.json("whoami")["username"] == "bob"
    assert team.json("--profile", "manager", "whoami")["username"] == "alice"
    assert team.json("whoami", env={"DEPOT_PROFILE": "manager"})["username"] == "alice"
    config = team.config_dir / "config.toml"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert "depot_" not in config.read_text()
    stored = credentials(team)
    assert set(stored) == {"default", "manager"}
    assert list(stored["default"]) == [origin(team.url)]
    # Signing out of one profile leaves the other signed in.
    assert team.depot("--profile", "manager", "logout").exit_code == 0
    assert team.depot("--profile", "manager", "whoami").exit_code == 3
    assert team.json("whoami")["username"] == "bob"
    result = team.depot("--profile", "../x", "whoami")
    assert result.exit_code == 2 and "invalid profile name" in result.output


def test_a_readable_credentials_file_is_made_private_with_a_warning(team: Live) -> None:
    team.login("bob")
    path = team.config_dir / "credentials.json"
    path.chmod(0o644)
    result = team.depot("whoami")
    assert result.exit_code == 0, result.output
    assert "was readable by others" in result.stderr and "Revoke" in result.stderr
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_first_format_config_is_migrated(team: Live) -> None:
    team.login("bob")
    token = credentials(team)["default"][origin(team.url)]
    (team.config_dir / "credentials.json").unlink()
    config = team.config_dir / "config.toml"
    config.write_text(f'server = "{team.url}"\nusername = "bob"\ntoken = "{token}"\n')
    config.chmod(0o600)
    result = team.depot("--json", "whoami")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["username"] == "bob"
    assert "moved your sign-in token" in result.stderr
    assert "depot_" not in config.read_text() and '[profiles."default"]' in config.read_text()
    assert credentials(team) == {"default": {origin(team.url): token}}


def memory_keyring() -> Any:
    """An OS keyring stand-in (there is none on the test machines).

    Made only after keyring chose its backend: a subclass of KeyringBackend that exists
    when keyring first looks would be chosen as the process's default."""

    class MemoryKeyring(KeyringBackend):
        priority = 1

        def __init__(self) -> None:
            super().__init__()  # type: ignore[no-untyped-call]
            self.items: dict[tuple[str, str], str] = {}

        def get_password(self, service: str, username: str) -> str | None:
            return self.items.get((service, username))

        def set_password(self, service: str, username: str, password: str) -> None:
            self.items[(service, username)] = password

        def delete_password(self, service: str, username: str) -> None:
            self.items.pop((service, username), None)

    return MemoryKeyring()


def test_the_os_keyring_is_used_when_there_is_one(team: Live) -> None:
    before = keyring.get_keyring()
    ring = memory_keyring()
    keyring.set_keyring(ring)
    try:
        team.login("bob")
        assert list(ring.items) == [("depot", f"default {origin(team.url)}")]
        assert not (team.config_dir / "credentials.json").exists()
        assert team.json("whoami")["username"] == "bob"
        assert team.depot("logout").exit_code == 0
        assert ring.items == {}
    finally:
        keyring.set_keyring(before)


@pytest.mark.parametrize("backend", [fail.Keyring, null.Keyring])
def test_without_a_keyring_the_file_is_used(team: Live, backend: type[KeyringBackend]) -> None:
    before = keyring.get_keyring()
    keyring.set_keyring(backend())
    try:
        team.login("bob")
        assert origin(team.url) in credentials(team)["default"]
        assert team.json("whoami")["username"] == "bob"
    finally:
        keyring.set_keyring(before)


def test_depot_credentials_file_keeps_the_token_out_of_the_keyring(team: Live) -> None:
    before = keyring.get_keyring()
    ring = memory_keyring()
    keyring.set_keyring(ring)
    try:
        result = team.depot(
            "login",
            "--server",
            team.url,
            "--user",
            "bob",
            "--password-stdin",
            input="correct horse battery staple\n",
            env={"DEPOT_CREDENTIALS": "file"},
        )
        assert result.exit_code == 0, result.output
        assert ring.items == {}
        assert origin(team.url) in credentials(team)["default"]
    finally:
        keyring.set_keyring(before)


def test_group_tokens_from_the_cli(team: Live) -> None:
    team.login("bob")
    result = team.depot("token", "create", "--group", "team", "--scope", "upload")
    assert result.exit_code == 7 and "only a software manager of team" in result.output
    team.login("alice")
    made = team.json("token", "create", "--group", "team", "--scope", "read", "--name", "ci")
    env = {"DEPOT_URL": team.url, "DEPOT_TOKEN": made["token"]}
    assert team.depot("ls", "team", env=env, config=False).exit_code == 0
    listed = team.json("token", "list", "--group", "team")
    assert [t["id"] for t in listed] == [made["id"]]
    assert listed[0]["last_used_addr"] == "127.0.0.1" and listed[0]["owner"] == "alice"
    table = team.depot("token", "list", "--group", "team")
    assert "127.0.0.1" in table.output and "last used" in table.output
    team.login("bob")
    result = team.depot("token", "list", "--group", "team")
    assert result.exit_code == 7 and "tokens.software_manager" in result.output
    team.login("alice")
    assert team.json("token", "revoke", made["id"], "--group", "team")["revoked_at"]
    assert team.depot("ls", "team", env=env, config=False).exit_code == 3


def test_a_pipeline_signs_in_with_its_oidc_token(team: Live) -> None:
    oidc = team.world.app.extensions["depot"].oidc
    oidc.settings = dataclasses.replace(oidc.settings, oidc_allow_http=True)
    oidc.jwks.allow_http = True
    with oidc_issuer() as issuer:
        team.login("alice")
        made = team.json(
            "token",
            "oidc",
            "add",
            "--group",
            "team",
            "--issuer",
            issuer.url,
            "--audience",
            "depot",
            "--claim",
            "project_path=payments/core",
            "--claim",
            "ref=main",
        )
        assert made["claims"] == {"project_path": "payments/core", "ref": "main"}
        listing = team.depot("token", "oidc", "list", "--group", "team")
        assert issuer.url in listing.output and "project_path=payments/core" in listing.output
        result = team.depot(
            "token",
            "oidc",
            "add",
            "--group",
            "team",
            "--issuer",
            issuer.url,
            "--audience",
            "depot",
            "--claim",
            "nonsense",
        )
        assert result.exit_code == 2
        # The pipeline: its own config folder, the ID token in the environment.
        ci_dir = team.config_dir.parent / "ci-config"
        env = {"DEPOT_CONFIG_DIR": str(ci_dir), "DEPOT_OIDC_TOKEN": issuer.token(now())}
        signed = team.json("login", "--server", team.url, env=env)
        assert signed["group"] == "team" and signed["scope"] == "upload"
        env = {"DEPOT_CONFIG_DIR": str(ci_dir)}
        assert team.depot("ls", "team", env=env).exit_code == 0
        # The same ID token again is a replay; from standard input too.
        token = issuer.token(now())
        assert (
            team.depot(
                "login", "--server", team.url, "--oidc-token", "-", input=token + "\n", env=env
            ).exit_code
            == 0
        )
        again = team.depot("login", "--server", team.url, "--oidc-token", token, env=env)
        assert again.exit_code == 3 and "exchanged before" in again.output
        removed = team.json("token", "oidc", "remove", "--group", "team", str(made["id"]))
        assert removed["id"] == made["id"]


def now() -> datetime:
    return datetime.now(UTC)
