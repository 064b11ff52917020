"""A check-out expires at its date, on the server's own clock, through every interface.

The test stops the server and starts it again on the same data folder under libfaketime
(Debian's ``faketime``) with ``FAKETIME=+25h``: that is how a test moves a running
server's clock (docs/lifecycle.md says so; in-process tests move ``FrozenClock``). A
constant offset, because gunicorn's sleeps fail under an offset that changes while it
runs. SQLite and the folder store: the restart keeps the data folder, and the rule is the
same on PostgreSQL (the lifecycle tests run it there in-process).
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import Server, start_server, stop_server
from tests.e2e.test_desk import BUILD, REF, Browser, delivered, sha, team
from tests.e2e.test_integrity import person
from tests.e2e.test_library_state import login

LIBFAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")


def moved_clock(offset: str) -> dict[str, str]:
    """The environment that runs a process with its clock ``offset`` on (``+25h``).

    libfaketime moves the monotonic clock too; FAKETIME_FORCE_MONOTONIC_FIX makes its timed
    waits (a ``threading.Timer``, a lock's timeout) wait as long as they say instead of until
    the real clock reaches the moved one (a ``depot-server`` command then never exited)."""
    if not LIBFAKETIME.exists():
        pytest.skip("libfaketime is not installed (scripts/ensure-services.sh installs it)")
    return {"LD_PRELOAD": str(LIBFAKETIME), "FAKETIME": offset, "FAKETIME_FORCE_MONOTONIC_FIX": "1"}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """A server on SQLite and the folder store (restarted by the test under faketime)."""
    running = start_server(tmp_path, {})
    running.kind = "folder+sqlite"  # type: ignore[attr-defined]
    try:
        yield running
    finally:
        stop_server(running)


def later(server: Server, tmp_path: Path, offset: str) -> Server:
    """``server`` stopped and started again on its data folder, its clock ``offset`` on."""
    clock = moved_clock(offset)
    stop_server(server)
    return start_server(tmp_path, clock)


def status_of(server: Server, token: str, path: str) -> int:
    request = urllib.request.Request(server.url + path,
                                     headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_a_check_out_expires_at_its_date(server: Server, tmp_path: Path) -> None:
    people = team(server, tmp_path)
    alice, carol, victor = people["alice"], people["carol"], people["victor"]
    delivered(server, tmp_path, people)
    report = tmp_path / "report.txt"
    report.write_text("pass\n")
    server.depot("accept", REF, "--report", str(report), env=carol)
    checkin = server.depot_json("checkin", "request", REF, "--notes", "GA", env=alice)
    server.depot("approve", str(checkin["id"]), env=victor)
    checkout = server.depot_json("checkout", "request", REF, "--purpose", "deploy",
                                 "--days", "1", env=alice)  # fmt: skip
    approved = server.depot_json("approve", str(checkout["id"]), env=victor)
    assert approved["expires_at"]
    path = "/api/v1/groups/payments/products/core/versions/3.0.0/files/core.tar.gz"
    token = login(server, "alice")
    assert status_of(server, token, path) == 200
    pulled = server.depot_json("pull", REF, "core.tar.gz", "-o", str(tmp_path / "a"),
                               "--unverified", env=alice)  # fmt: skip
    assert pulled["files"][0]["sha256"] == sha(BUILD)

    server = later(server, tmp_path, "+25h")  # a day and an hour later, on its clock
    try:
        expired(server, tmp_path)
    finally:
        stop_server(server)


def expired(server: Server, tmp_path: Path) -> None:
    alice = person(server, tmp_path / "next-day", "alice")
    token = login(server, "alice")
    path = "/api/v1/groups/payments/products/core/versions/3.0.0/files/core.tar.gz"
    assert status_of(server, token, path) == 403
    late = server.depot("pull", REF, "core.tar.gz", "-o", str(tmp_path / "b"), "--unverified",
                        env=alice, check=False)  # fmt: skip
    assert late.returncode == 7 and "(rule checkout.required)" in late.stderr
    page = Browser(server, "alice")
    try:
        page.get("/groups/payments/core/3.0.0/files/core.tar.gz")
        raise AssertionError("the page served an expired check-out's file")
    except urllib.error.HTTPError as error:
        assert error.code == 403
    mine = server.depot_json("requests", "--mine", env=alice)
    assert [r["expires_at"] for r in mine if r["kind"] == "checkout"]
