"""A keyring's expiry never strands the library (issue 10, item 2), online, end to end.

The server runs with one-day keyrings (``DEPOT_KEYRING_DAYS=1``); the test stops it and
starts it again on the same data folder two days later on its clock (libfaketime, a
constant offset, as in tests/e2e/test_desk_clock.py), and runs alice's client at the same
offset. Once the newest keyring expired, a pinned client refuses to verify (TUF's freeze
protection: only the offline roots can extend trust) and writes nothing; after the roots
run ``keys rotate`` the same client, which pinned before (its keyring long expired),
verifies the library version again. SQLite and the folder store: the restart keeps the
data folder.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import Server, start_server, stop_server
from tests.e2e.test_desk_clock import moved_clock
from tests.e2e.test_trust_keys import REF
from tests.e2e.test_trust_rotation import checked_in

LATER = "+2d"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """A server with one-day keyrings (restarted by the test under faketime)."""
    running = start_server(tmp_path, {"DEPOT_KEYRING_DAYS": "1"})
    try:
        yield running
    finally:
        stop_server(running)


def test_the_library_verifies_again_after_the_roots_renew_an_expired_keyring(
    server: Server, tmp_path: Path
) -> None:
    clock = moved_clock(LATER)
    alice = checked_in(server, tmp_path)
    today = server.depot_json("pull", REF, "-o", str(tmp_path / "today"), env=alice)
    assert today["verified"] is True, today

    port = server.url.rsplit(":", 1)[1]  # the same address, so alice's client finds it
    stop_server(server)
    server = start_server(tmp_path, {"DEPOT_KEYRING_DAYS": "1", "DEPOT_PORT": port, **clock})
    try:
        later = {**alice, **clock}
        stranded = tmp_path / "stranded"
        refused = server.depot("--json", "pull", REF, "-o", str(stranded), env=later,
                               check=False)  # fmt: skip
        assert refused.returncode == 6, refused.stdout + refused.stderr
        assert "expired" in refused.stderr, refused.stderr
        assert not stranded.exists() or not any(stranded.iterdir())

        # The roots extend trust: a new keyring, every document re-signed under it.
        root = server.data_dir / "root-keys" / "root-1.pem"
        server.admin("keys", "rotate", "--root-key", str(root))
        renewed = server.depot_json("pull", REF, "-o", str(tmp_path / "renewed"), env=later)
        assert renewed["verified"] is True, renewed
        assert (tmp_path / "renewed").exists()
        shown = server.depot_json("trust", "show", env=later)
        assert shown["keyring_version"] == 2, shown
    finally:
        stop_server(server)
