"""Rotation end to end (issue 10): a rotation takes effect for every worker at once, and a
keyring's expiry never strands the library.

`depot-server keys rotate` writes the next keyring and re-signs every online document in
one transaction; every worker of the running server must serve that keyring from the
moment it commits, or a client pulling in between sees documents signed by keys its
keyring does not name yet (exit 6).
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import Server, serve, start_server, stop_server
from tests.e2e.test_integrity import PASSWORD, payments_team
from tests.e2e.test_trust_keys import REF, release


def drained(server: Server) -> Server:
    """``server`` with what it logged so far read from its output pipe.

    The harness leaves the server's stdout a pipe nobody reads; after about 150 requests
    (a dozen pulls) its 64 KiB fill and the worker writing a log line blocks for good. A
    test of many pulls reads it as it goes."""
    assert server.process.stdout is not None
    with contextlib.suppress(BlockingIOError):
        while chunk := os.read(server.process.stdout.fileno(), 1 << 16):
            server.log.append(chunk.decode(errors="replace"))
    return server


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
        drained(server).depot_json("pull", REF, "-o", str(tmp_path / f"before-{version}"),
                                   env=alice)  # fmt: skip
        with KeyringWatch(server) as watch:
            time.sleep(1)  # both workers have the current keyring in hand
            began = time.monotonic()
            drained(server).admin("keys", "rotate", "--root-key", root1)
            rotated = time.monotonic()
            pulled = drained(server).depot("--json", "pull", REF, "-o",
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
    shown = drained(server).depot_json("trust", "show", env=alice)
    assert shown["keyring_version"] == 3, shown


FAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"


@pytest.fixture(params=["folder+sqlite"])
def sqlite_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    yield from serve(request, tmp_path, {})


def test_the_library_outlives_an_expired_keyring(sqlite_server: Server, tmp_path: Path) -> None:
    """400 days on, keyring 1 (365 days) has expired: an online pull is refused with the
    remedy (TUF's freeze protection: only the roots can extend trust); once the roots
    rotate, the version verifies online for the client that pinned before and for one that
    pins now, and from the bundle fetched then. Server and clients run under faketime."""
    server = sqlite_server
    alice = checked_in(server, tmp_path)
    server.depot_json("pull", REF, "-o", str(tmp_path / "before"), env=alice)
    port, fingerprint = server.url.rsplit(":", 1)[1], server.fingerprint
    stop_server(server)
    later = {"LD_PRELOAD": FAKETIME, "FAKETIME": "+400d", "DEPOT_PORT": port}
    server = start_server(tmp_path, later)
    try:
        alice = {**alice, **later}
        server.depot("login", "--server", server.url, "--user", "alice", "--password-stdin",
                     input=PASSWORD + "\n", env=alice)  # fmt: skip
        frozen = server.depot("pull", REF, "-o", str(tmp_path / "frozen"), env=alice, check=False)
        assert frozen.returncode == 6, frozen.stdout + frozen.stderr
        assert "keyring version 1 expired" in frozen.stderr, frozen.stderr
        assert not (tmp_path / "frozen").exists() or not any((tmp_path / "frozen").iterdir())
        root1 = str(server.data_dir / "root-keys" / "root-1.pem")
        server.admin("keys", "rotate", "--root-key", root1)
        after = server.depot_json("pull", REF, "-o", str(tmp_path / "after"), "--bundle", env=alice)
        assert after["verified"] and after["signed"]["library_number"] == 1, after
        late = {**alice, "DEPOT_TRUST_DIR": str(tmp_path / "late-trust")}
        server.depot("trust", "init", server.url, "--root-fingerprint", fingerprint, env=late)
        assert server.depot_json("pull", REF, "-o", str(tmp_path / "late"), env=late)["verified"]
        offline = {**alice, "DEPOT_URL": "http://127.0.0.1:9"}
        artifact = str(tmp_path / "after" / "core-3.0.0.tar.gz")
        verdict = server.depot_json("verify", artifact, "--bundle", after["bundle"], env=offline)
        assert verdict["verified"][0]["standing"] == "current", verdict
    finally:
        stop_server(server)
