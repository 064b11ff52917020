"""Rotation end to end (issue 10): a rotation takes effect for every worker at once, and a
keyring's expiry never strands the library.

`depot-server keys rotate` writes the next keyring and re-signs every online document in
one transaction; every worker of the running server must serve that keyring from the
moment it commits, or a client pulling in between sees documents signed by keys its
keyring does not name yet (exit 6).
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from pathlib import Path

from tests.e2e.conftest import Server, free_port, start_server, stop_server
from tests.e2e.test_integrity import PASSWORD, payments_team
from tests.e2e.test_trust_keys import REF, release
from tests.fixtures.helpers import http_json
from tests.proxy import Answer, rewriting_proxy


def checked_in(server: Server, tmp_path: Path) -> dict[str, str]:
    """``REF`` checked in (server-attested) and checked out by alice, whose client pinned
    the root; alice's environment."""
    team = payments_team(server, tmp_path)
    alice, _, victor = team
    request = release(server, tmp_path, team, REF)
    server.depot("approve", str(request["id"]), env=victor)
    checkout = server.depot_json("checkout", "request", REF, "--purpose", "deploy", env=alice)
    server.depot("approve", str(checkout["id"]), env=victor)
    server.depot("trust", "init", server.url, "--root-fingerprint", server.fingerprint, env=alice)
    return alice


class KeyringWatch:
    """Asks the server for its newest keyring every few milliseconds, each time on a new
    connection (so both workers answer), and remembers when each answer was asked for."""

    def __init__(self, server: Server) -> None:
        self.url = f"{server.url}/api/v1/trust/keyring"
        self.seen: list[tuple[float, int]] = []
        self.errors: list[str] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while not self.stop.is_set():
            asked = time.monotonic()
            try:
                with urllib.request.urlopen(self.url, timeout=30) as answer:
                    self.seen.append((asked, json.loads(answer.read())["version"]))
            except OSError as error:  # pragma: no cover - reported by the assertion
                self.seen.append((asked, -1))
                self.errors.append(repr(error))
            time.sleep(0.02)

    def __enter__(self) -> KeyringWatch:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()

    def versions_since(self, moment: float) -> set[int]:
        return {version for asked, version in self.seen if asked > moment}


def test_a_pull_right_after_a_rotation_verifies(server: Server, tmp_path: Path) -> None:
    """Every worker serves the new keyring from the moment `keys rotate` returns, and a
    pull right after it verifies (it used to fail with exit 6 for about 5 s: the workers
    served the keyring they had cached while the documents were already re-signed)."""
    alice = checked_in(server, tmp_path)
    root1 = str(server.data_dir / "root-keys" / "root-1.pem")
    for version in (2, 3):
        server.depot_json("pull", REF, "-o", str(tmp_path / f"before-{version}"),
                                   env=alice)  # fmt: skip
        with KeyringWatch(server) as watch:
            time.sleep(1)  # both workers have the current keyring in hand
            began = time.monotonic()
            server.admin("keys", "rotate", "--root-key", root1)
            rotated = time.monotonic()
            pulled = server.depot("--json", "pull", REF, "-o",
                                           str(tmp_path / f"after-{version}"),
                                           env=alice, check=False)  # fmt: skip
            assert pulled.returncode == 0, pulled.stdout + pulled.stderr
            time.sleep(0.5)
        before = [(0.0, 0), *watch.seen[:-1]]
        changes = [
            (round(t - began, 2), v)
            for (t, v), (_, w) in zip(watch.seen, before, strict=True)
            if v != w
        ]
        assert watch.versions_since(rotated) == {version}, (rotated - began, changes)
        assert not watch.errors, watch.errors
    shown = server.depot_json("trust", "show", env=alice)
    assert shown["keyring_version"] == 3, shown


def second_node(server: Server, tmp_path: Path) -> Server:
    """Another `depot-server run` of the same installation: the same database, blob store
    and key folder, its own port and workers (a second node behind a load balancer)."""
    shared = {
        key: server.env[key]
        for key in ("DEPOT_DATA_DIR", "DEPOT_DATABASE_URL", "DEPOT_STORAGE_URL")
        if key in server.env
    }
    return start_server(tmp_path / "node2", {**shared, "DEPOT_PORT": str(free_port())})


def test_a_rotation_in_the_middle_of_a_pull_through_another_node_verifies(
    server: Server, tmp_path: Path
) -> None:
    """`keys rotate` commits after the client read the keyring and before it read the
    documents (signed by the new keys from then on), the pull going through a second
    node: the client follows the keyring to the new version and verifies; it used to
    exit 6 (its keyring did not name the keys that signed the library index)."""
    alice = checked_in(server, tmp_path)
    node = second_node(server, tmp_path)
    try:
        login = {"username": "alice", "password": PASSWORD, "client": "e2e"}
        token = str(http_json("POST", f"{node.url}/api/v1/auth/login", login)["token"])
        root1 = str(server.data_dir / "root-keys" / "root-1.pem")
        with rewriting_proxy(node.url) as proxy:
            env = {**alice, "DEPOT_URL": proxy.url, "DEPOT_TOKEN": token,
                   "DEPOT_TRUST_DIR": str(tmp_path / "trust-node2")}  # fmt: skip
            server.depot("trust", "init", proxy.url, "--root-fingerprint", server.fingerprint,
                         env=env)  # fmt: skip
            server.depot("pull", REF, "-o", str(tmp_path / "before"), env=env)
            rotated: list[str] = []

            def rotate_once_the_keyring_is_read(answer: Answer) -> None:
                if answer.path == "/api/v1/trust/keyring" and not rotated:
                    rotated.append(server.admin("keys", "rotate", "--root-key", root1).stdout)

            proxy.rewrites.append(rotate_once_the_keyring_is_read)
            pulled = server.depot("--json", "pull", REF, "-o", str(tmp_path / "after"),
                                  env=env, check=False)  # fmt: skip
            assert rotated, proxy.seen
            assert pulled.returncode == 0, pulled.stdout + pulled.stderr
            assert json.loads(pulled.stdout)["verified"] is True
            assert server.depot_json("trust", "show", env=env)["keyring_version"] == 2
            # And straight at the second node, right after the next rotation.
            proxy.rewrites.clear()
            server.admin("keys", "rotate", "--root-key", root1)
            direct = {**alice, "DEPOT_URL": node.url, "DEPOT_TOKEN": token,
                      "DEPOT_TRUST_DIR": str(tmp_path / "trust-direct")}  # fmt: skip
            server.depot("trust", "init", node.url, "--root-fingerprint", server.fingerprint,
                         env=direct)  # fmt: skip
            server.depot("pull", REF, "-o", str(tmp_path / "direct"), env=direct)
            again = server.depot("--json", "pull", REF, "-o", str(tmp_path / "again"),
                                 env=env, check=False)  # fmt: skip
            assert again.returncode == 0, again.stdout + again.stderr
            assert server.depot_json("trust", "show", env=env)["keyring_version"] == 3
    finally:
        stop_server(node)
