"""CI pipelines as users (issue 17 §1 and §4): a whole build tree in one `depot push`
(folders, globs, excludes, --flat), `depot pull` with patterns into folders, `@latest`
and library numbers as refs, --threads, --json summaries, --dry-run changing nothing on
either side, and no prompt (nor click's "Aborted!") where no terminal is."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tests.e2e.conftest import Server
from tests.e2e.test_integrity import payments_team

REF = "payments/core@4.0.0"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def build_tree(root: Path) -> dict[str, bytes]:
    """A small build tree: what each relative path holds."""
    files = {
        "app.tar.gz": b"app " * 3000,
        "sub/inner.txt": b"inner\n",
        "sub/deep/plugin.tar.gz": b"plugin " * 500,
        "logs/build.log": b"noise\n",
    }
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return files


def listed(server: Server, ref: str, env: dict[str, str]) -> dict[str, str]:
    version = server.depot_json("ls", ref, env=env)
    return {f["name"]: f["sha256"] for f in version["files"]}


def test_a_build_tree_pushed_and_pulled_in_one_command(server: Server, tmp_path: Path) -> None:
    (alice, _carol, _victor) = payments_team(server, tmp_path)
    server.create_product("payments/core", "--category", "application",
                          "--origin", "in_house", env=alice)  # fmt: skip
    build = tmp_path / "build"
    files = build_tree(build)

    # A dry run lists what would be sent, with sizes and digests, and creates nothing.
    dry = server.depot_json("push", REF, str(build), "--create", "--exclude", "*.log",
                            "--dry-run", env=alice)  # fmt: skip
    assert dry["dry_run"] is True
    assert {f["name"]: (f["size"], f["sha256"], f["state"]) for f in dry["files"]} == {
        name: (len(data), sha(data), "would_upload")
        for name, data in files.items()
        if not name.endswith(".log")
    }
    missing = server.depot("ls", REF, env=alice, check=False)
    assert missing.returncode == 4, missing.stdout

    # The folder, recursively, relative paths kept; the excluded log left out.
    pushed = server.depot_json("push", REF, str(build), "--create", "--exclude", "*.log",
                               "--threads", "3", env=alice)  # fmt: skip
    summary = {f["name"]: (f["size"], f["sha256"], f["state"]) for f in pushed["files"]}
    assert summary == {
        name: (len(data), sha(data), "uploaded")
        for name, data in files.items()
        if not name.endswith(".log")
    }
    assert listed(server, REF, alice) == {
        name: sha(data) for name, data in files.items() if not name.endswith(".log")
    }
    # Pushed again (a retried job): nothing changes.
    again = server.depot_json("push", REF, str(build), "--exclude", "logs/**", env=alice)
    assert {f["state"] for f in again["files"]} == {"unchanged"}

    # A glob, expanded by the client, and --flat: the names without their folders.
    glob = server.depot_json("push", "payments/core@4.0.1", f"{build}/**/*.tar.gz",
                             "--create", "--flat", env=alice)  # fmt: skip
    assert sorted(f["name"] for f in glob["files"]) == ["app.tar.gz", "plugin.tar.gz"]
    # Without --flat a glob keeps the path below its first wildcard's folder.
    kept = server.depot_json("push", "payments/core@4.0.2", f"{build}/**/*.tar.gz",
                             "--create", env=alice)  # fmt: skip
    assert sorted(f["name"] for f in kept["files"]) == ["app.tar.gz", "sub/deep/plugin.tar.gz"]

    # A name that equals a stored one once case is ignored: refused, naming the stored one.
    other = tmp_path / "other"
    (other / "SUB").mkdir(parents=True)
    (other / "SUB" / "Inner.txt").write_bytes(b"different\n")
    clash = server.depot("push", REF, str(other), env=alice, check=False)
    assert clash.returncode == 5, clash.stderr
    assert "'sub/inner.txt'" in clash.stderr and "SUB/Inner.txt" in clash.stderr
    assert "SUB/Inner.txt" not in listed(server, REF, alice)

    # Pull with a pattern: only those files, in their folders.
    out = tmp_path / "out"
    pulled = server.depot_json("pull", REF, "sub/**", "-o", str(out), "--unverified",
                               "--threads", "2", env=alice)  # fmt: skip
    assert sorted(f["name"] for f in pulled["files"]) == ["sub/deep/plugin.tar.gz", "sub/inner.txt"]
    assert {f["state"] for f in pulled["files"]} == {"downloaded"}
    assert (out / "sub" / "deep" / "plugin.tar.gz").read_bytes() == files["sub/deep/plugin.tar.gz"]
    assert (out / "sub" / "inner.txt").read_bytes() == files["sub/inner.txt"]
    assert not (out / "app.tar.gz").exists()
    nothing = server.depot("pull", REF, "*.exe", "-o", str(out), "--unverified", env=alice,
                           check=False)  # fmt: skip
    assert nothing.returncode == 4 and "'*.exe'" in nothing.stderr

    # A dry run of a pull writes nothing, not even the folder.
    dry_out = tmp_path / "dry"
    dry_pull = server.depot_json("pull", REF, "-o", str(dry_out), "--unverified", "--dry-run",
                                 env=alice)  # fmt: skip
    assert sorted((f["name"], f["state"]) for f in dry_pull["files"]) == [
        ("app.tar.gz", "would_download"),
        ("sub/deep/plugin.tar.gz", "would_download"),
        ("sub/inner.txt", "would_download"),
    ]
    assert not dry_out.exists()

    # @latest --draft: the newest draft of the product (4.0.2).
    latest = server.depot_json("pull", "payments/core@latest", "--draft", "-o",
                               str(tmp_path / "latest"), "--unverified", env=alice)  # fmt: skip
    assert latest["ref"] == "payments/core@4.0.2"
    assert (tmp_path / "latest" / "sub" / "deep" / "plugin.tar.gz").exists()
    none = server.depot("pull", "payments/core@latest", "-o", str(tmp_path / "x"), env=alice,
                        check=False)  # fmt: skip
    assert none.returncode == 4 and "no version of payments/core in the library" in none.stderr


def test_a_release_with_folders_verifies_by_library_number(server: Server, tmp_path: Path) -> None:
    alice, carol, victor = payments_team(server, tmp_path)
    server.create_product("payments/core", "--category", "application",
                          "--origin", "in_house", env=alice)  # fmt: skip
    build = tmp_path / "build"
    files = build_tree(build)
    server.depot("push", REF, str(build), "--create", env=alice)
    server.depot("submit", REF, "--to", "carol", env=alice)
    report = tmp_path / "report.txt"
    report.write_text("pass\n")
    server.depot("accept", REF, "--report", str(report), env=carol)
    checkin = server.depot_json("checkin", "request", REF, "--notes", "GA", env=alice)
    server.depot("approve", str(checkin["id"]), env=victor)
    checkout = server.depot_json("checkout", "request", REF, "--purpose", "deploy", env=alice)
    server.depot("approve", str(checkout["id"]), env=victor)
    server.depot("trust", "init", server.url, "--root-fingerprint", server.fingerprint, env=alice)

    # The library number as the ref; the signed manifest names files in folders.
    out = tmp_path / "out"
    pulled = server.depot_json("pull", "payments/core@#1", "-o", str(out), "--bundle",
                               env=alice)  # fmt: skip
    assert pulled["verified"] is True and pulled["ref"] == REF
    for name, data in files.items():
        assert (out / name).read_bytes() == data
    # Offline, a file in a folder verifies under its stored name.
    offline = {**alice, "DEPOT_URL": "http://127.0.0.1:9"}
    verified = server.depot_json("verify", str(out / "sub" / "deep" / "plugin.tar.gz"),
                                 "--bundle", pulled["bundle"], env=offline)  # fmt: skip
    assert verified["verified"][0]["sha256"] == sha(files["sub/deep/plugin.tar.gz"])
    # @latest: the newest version in the library.
    latest = server.depot_json("pull", "payments/core@latest", "sub/*", "-o",
                               str(tmp_path / "latest"), env=alice)  # fmt: skip
    assert latest["ref"] == REF and [f["name"] for f in latest["files"]] == ["sub/inner.txt"]
    unknown = server.depot("pull", "payments/core@#7", env=alice, check=False)
    assert unknown.returncode == 4 and "library number 7" in unknown.stderr


def test_no_terminal_no_prompt(server: Server, tmp_path: Path) -> None:
    (alice, *_rest) = payments_team(server, tmp_path)
    fresh = {"DEPOT_CONFIG_DIR": str(tmp_path / "fresh")}
    # No terminal and no --password-stdin: a clear message and exit 2, never "Aborted!".
    login = server.depot("login", "--server", server.url, "--user", "alice", input="",
                         env=fresh, check=False)  # fmt: skip
    assert login.returncode == 2, login.stderr
    assert "Aborted" not in login.stderr and "--password-stdin" in login.stderr
    nouser = server.depot("login", "--server", server.url, input="", env=fresh, check=False)
    assert nouser.returncode == 2 and "--user" in nouser.stderr
    create = server.depot("user", "create", "zed", input="", env=alice, check=False)
    assert create.returncode == 2 and "Aborted" not in create.stderr
    # Flags come from DEPOT_* variables too: DEPOT_PUSH_DRY_RUN is --dry-run of push.
    server.create_product("payments/core", "--category", "application",
                          "--origin", "in_house", env=alice)  # fmt: skip
    build = tmp_path / "one.txt"
    build.write_text("x")
    dry = server.depot("--json", "push", REF, str(build), "--create",
                       env={**alice, "DEPOT_PUSH_DRY_RUN": "1"})  # fmt: skip
    assert json.loads(dry.stdout)["dry_run"] is True
    assert server.depot("ls", REF, env=alice, check=False).returncode == 4
