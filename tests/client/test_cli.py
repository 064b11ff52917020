"""The `depot` command against a live server: what a person at a terminal sees."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from client.transfer import _part_path
from tests.client.conftest import Live
from tests.fixtures.helpers import sha256 as sha


def test_login_keeps_a_private_token(team: Live) -> None:
    team.login("bob")
    config = team.config_dir / "config.toml"
    stored = team.config_dir / "credentials.json"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    text = config.read_text()
    assert 'username = "bob"' in text and team.url in text and "depot_" not in text
    assert '"depot_' in stored.read_text()
    me = team.json("whoami")
    assert me["username"] == "bob" and me["groups"] == {"team": ["member"]}
    result = team.depot("logout")
    assert result.exit_code == 0 and "depot_" not in stored.read_text()
    result = team.depot("whoami")
    assert result.exit_code == 3 and "not signed in" in result.output


def test_bad_password(team: Live) -> None:
    result = team.depot(
        "login", "--server", team.url, "--user", "bob", "--password-stdin", input="nope nope nope\n"
    )
    assert result.exit_code == 3
    assert "invalid user name or password" in result.output


def test_unreachable_server(team: Live) -> None:
    result = team.depot(
        "login", "--server", "http://127.0.0.1:9", "--user", "bob", "--password-stdin", input="x\n"
    )
    assert result.exit_code == 9 and "cannot reach the server" in result.output


def test_push_then_pull_round_trip(team: Live, tmp_path: Path) -> None:
    team.login("bob")
    data = os.urandom(3 << 20)
    source = tmp_path / "app-1.0.0.tar.gz"
    source.write_bytes(data)
    manual = tmp_path / "manual.pdf"
    manual.write_bytes(b"%PDF manual")
    pushed = team.json("push", "team/app@1.0.0", str(source))
    assert pushed == {
        "ref": "team/app@1.0.0",
        "files": [
            {
                "name": source.name,
                "size": len(data),
                "sha256": sha(data),
                "state": "uploaded",
                "status": "uploaded",
            }
        ],
    }
    assert (
        team.json("push", "team/app@1.0.0", str(manual), "--role", "document")["files"][0]["status"]
        == "uploaded"
    )
    listing = team.json("ls", "team/app@1.0.0")
    assert {(f["name"], f["role"]) for f in listing["files"]} == {
        (source.name, "artifact"),
        ("manual.pdf", "document"),
    }
    out = tmp_path / "out"
    pulled = team.json("pull", "team/app@1.0.0", "-o", str(out), "--unverified")
    assert {f["status"] for f in pulled["files"]} == {"downloaded"}
    assert (out / source.name).read_bytes() == data
    assert sorted(p.name for p in out.iterdir()) == ["app-1.0.0.tar.gz", "manual.pdf"]
    # Pulling again finds the files already there and identical.
    again = team.json("pull", "team/app@1.0.0", source.name, "-o", str(out), "--unverified")
    assert again["files"][0]["status"] == "unchanged"


def test_human_output(team: Live, tmp_path: Path) -> None:
    team.login("bob")
    source = tmp_path / "tool.bin"
    source.write_bytes(b"tool")
    result = team.depot("push", "team/app@1.0.0", str(source))
    assert result.exit_code == 0
    assert f"uploaded  tool.bin  4 B  sha256:{sha(b'tool')}" in result.stdout
    assert "uploaded  tool.bin  4 B" in result.stderr  # a plain line per file (no terminal)
    result = team.depot("ls")
    assert "team" in result.stdout and "other" not in result.stdout
    assert "app" in team.depot("ls", "team").stdout
    assert "1.0.0" in team.depot("ls", "team/app").stdout
    assert sha(b"tool") in team.depot("ls", "team/app@1.0.0").stdout
    result = team.depot("pull", "team/app@1.0.0", "-o", str(tmp_path / "o"), "--unverified")
    assert "UNVERIFIED" in result.stdout and "NOT verified" in result.stderr


def test_pushing_again_is_safe_for_ci(team: Live, tmp_path: Path) -> None:
    team.login("bob")
    source = tmp_path / "a.bin"
    source.write_bytes(b"first build")
    assert team.json("push", "team/app@1.0.0", str(source))["files"][0]["status"] == "uploaded"
    assert team.json("push", "team/app@1.0.0", str(source))["files"][0]["status"] == "unchanged"
    source.write_bytes(b"a different build")
    result = team.depot("push", "team/app@1.0.0", str(source))
    assert result.exit_code == 5 and "different content" in result.output
    out = tmp_path / "out"
    team.json("pull", "team/app@1.0.0", "-o", str(out), "--unverified")
    assert (out / "a.bin").read_bytes() == b"first build"


def test_push_creates_the_version_when_asked(team: Live, tmp_path: Path) -> None:
    team.login("bob")
    source = tmp_path / "a.bin"
    source.write_bytes(b"x")
    result = team.depot("push", "team/app@1.1.0", str(source))
    assert result.exit_code == 4 and "version team/app@1.1.0 not found" in result.output
    assert (
        team.json("push", "team/app@1.1.0", str(source), "--create")["files"][0]["status"]
        == "uploaded"
    )
    result = team.depot("push", "team/nothing@1.0.0", str(source), "--create")
    assert result.exit_code == 4 and "product" in result.output


def test_files_with_unsafe_names_are_not_pushed(team: Live, tmp_path: Path) -> None:
    team.login("bob")
    odd = tmp_path / "a:b.txt"
    odd.write_bytes(b"x")
    result = team.depot("push", "team/app@1.0.0", str(odd))
    assert result.exit_code == 8 and "reserved character" in result.output
    assert team.json("ls", "team/app@1.0.0")["files"] == []


def test_pull_refuses_bytes_that_do_not_match(team: Live, tmp_path: Path) -> None:
    team.login("bob")
    data = os.urandom(100_000)
    source = tmp_path / "a.bin"
    source.write_bytes(data)
    team.json("push", "team/app@1.0.0", str(source))
    blob = team.world.depot.store.local_path("team", sha(data))
    assert blob is not None
    blob.chmod(0o644)
    tampered = bytearray(data)
    tampered[5000] ^= 0xFF
    blob.write_bytes(bytes(tampered))  # someone changed the bytes behind the server's back
    out = tmp_path / "out"
    result = team.depot("pull", "team/app@1.0.0", "-o", str(out), "--unverified")
    assert result.exit_code == 6 and "failed verification" in result.output
    assert list(out.iterdir()) == []  # neither the file nor a partial one


def test_interrupted_pull_resumes(team: Live, tmp_path: Path) -> None:
    team.login("bob")
    data = os.urandom(2 << 20)
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    team.json("push", "team/app@1.0.0", str(source))
    out = tmp_path / "out"
    out.mkdir()
    _part_path(out, sha(data), source.name).write_bytes(
        data[: 1 << 20]
    )  # what an interrupted pull leaves
    pulled = team.json("pull", "team/app@1.0.0", "-o", str(out), "--unverified")
    assert pulled["files"][0]["status"] == "resumed"
    assert (out / "big.bin").read_bytes() == data
    assert sorted(p.name for p in out.iterdir()) == ["big.bin"]
    download = team.world.audit(action="file.download")[-1]
    assert download["details"]["range"] == f"bytes={1 << 20}-"


def test_a_corrupt_partial_file_is_not_trusted(team: Live, tmp_path: Path) -> None:
    team.login("bob")
    data = os.urandom(1 << 20)
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    team.json("push", "team/app@1.0.0", str(source))
    out = tmp_path / "out"
    out.mkdir()
    _part_path(out, sha(data), source.name).write_bytes(b"\0" * 1000)
    result = team.depot("pull", "team/app@1.0.0", "-o", str(out), "--unverified")
    assert result.exit_code == 6
    assert list(out.iterdir()) == []
    assert (
        team.json("pull", "team/app@1.0.0", "-o", str(out), "--unverified")["files"][0]["status"]
        == "downloaded"
    )
    assert (out / "big.bin").read_bytes() == data


def test_pull_does_not_overwrite_other_local_files(team: Live, tmp_path: Path) -> None:
    team.login("bob")
    source = tmp_path / "a.bin"
    source.write_bytes(b"from the server")
    team.json("push", "team/app@1.0.0", str(source))
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.bin").write_bytes(b"my own work")
    result = team.depot("pull", "team/app@1.0.0", "-o", str(out), "--unverified")
    assert result.exit_code == 5 and "--force" in result.output
    assert (out / "a.bin").read_bytes() == b"my own work"
    team.json("pull", "team/app@1.0.0", "-o", str(out), "--unverified", "--force")
    assert (out / "a.bin").read_bytes() == b"from the server"


def test_ci_pipeline_with_a_group_token(team: Live, tmp_path: Path) -> None:
    team.login("alice")
    made = team.json(
        "token",
        "create",
        "--group",
        "team",
        "--scope",
        "upload",
        "--expires",
        "2w",
        "--name",
        "nightly",
    )
    assert made["token"].startswith("depot_") and made["scope"] == "upload"
    env = {"DEPOT_URL": team.url, "DEPOT_TOKEN": made["token"]}
    build = tmp_path / "nightly.tar"
    build.write_bytes(b"nightly build")
    pushed = team.json(
        "push", "team/app@1.2.0-nightly.1", str(build), "--create", env=env, config=False
    )
    assert pushed["files"][0]["status"] == "uploaded"
    result = team.depot("group", "add-member", "team", "dave", env=env, config=False)
    assert result.exit_code == 7 and "token.scope" in result.output
    tokens = team.json("token", "list")
    assert made["id"] in {t["id"] for t in tokens}
    team.json("token", "revoke", made["id"])
    result = team.depot("ls", "team", env=env, config=False)
    assert result.exit_code == 3 and "revoked" in result.output


def test_exit_codes_and_json_errors(team: Live) -> None:
    team.login("bob")
    result = team.depot("--json", "ls", "team/nope")
    assert result.exit_code == 4
    assert json.loads(result.stdout) == {
        "error": "not_found",
        "message": "product team/nope not found",
        "exit_code": 4,
    }
    assert team.depot("ls", "other").exit_code == 4  # exists, but not for bob
    assert team.depot("version", "create", "team/app@v2").exit_code == 8
    assert team.depot("version", "create", "team/app@1.0.0").exit_code == 5
    assert team.depot("group", "add-member", "team", "dave").exit_code == 7
    assert team.depot("ls", "team/app@").exit_code == 2
    assert team.depot("pull", "team/app").exit_code == 2


def test_admin_commands_over_the_api(team: Live) -> None:
    team.world.user("root", roles=("admin",))
    team.login("root")
    assert team.json("group", "create", "payments")["storage_area"] == "payments"
    team.depot("user", "create", "erin", "--password-stdin", input="erin has a passphrase\n")
    result = team.depot("user", "create", "frank", "--password-stdin", input="a long passphrase\n")
    assert result.exit_code == 0
    assert team.json("group", "add-member", "payments", "frank", "--role", "software_manager")[
        "roles"
    ] == ["software_manager"]
    assert [m["username"] for m in team.json("group", "members", "payments")] == ["frank"]
    assert {g["name"] for g in team.json("group", "list", "--all")} == {"team", "other", "payments"}
    assert team.json("user", "disable", "frank")["active"] is False
    assert team.json("user", "roles", "frank", "auditor")["roles"] == ["auditor"]
    events = team.json("audit", "--action", "group.create")
    assert [e["target"] for e in events][-1] == "payments"


def test_search(team: Live, tmp_path: Path) -> None:
    team.login("bob")
    source = tmp_path / "payments-core.jar"
    source.write_bytes(b"jar")
    team.json("push", "team/app@1.0.0", str(source))
    hits = team.json("search", "payments")
    assert [(h["kind"], h["file"]) for h in hits] == [("file", "payments-core.jar")]
    assert team.json("search", "--sha256", sha(b"jar"))[0]["version"] == "1.0.0"
    assert team.depot("search").exit_code == 2
