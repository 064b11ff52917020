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

from tests.e2e.conftest import Server
from tests.e2e.test_integrity import payments_team
from tests.e2e.test_trust_keys import REF, release


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
