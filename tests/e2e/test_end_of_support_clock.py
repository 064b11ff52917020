"""End of support on the real server's own clock (`depot-server run` with the quality
module, SQLite and the folder store): the day before, a check-out downloads; restarted a
day later under libfaketime, the version is withdrawn through every interface — curl on
the API, `depot pull`, the page — and one retirement request waits for the version
manager. The in-process tests run the same rule on PostgreSQL with a moved FrozenClock."""

from __future__ import annotations

import urllib.error
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.e2e.conftest import start_server, stop_server
from tests.e2e.test_desk import Browser
from tests.e2e.test_desk_clock import moved_clock, status_of
from tests.e2e.test_integrity import payments_team, person
from tests.e2e.test_library_state import login

REF = "payments/core@1.0.0"
FILE = "/api/v1/groups/payments/products/core/versions/1.0.0/files/core.tar.gz"
PLUGINS = {"DEPOT_PLUGINS": "quality"}


def test_past_its_end_of_support_a_version_stops_downloading(tmp_path: Path) -> None:
    server = start_server(tmp_path, PLUGINS)
    try:
        alice, carol, victor, quinn = payments_team(server, tmp_path, ("quinn", "quality_manager"))
        server.create_product("payments/core", "--category", "application",
                              "--origin", "in_house", env=alice)  # fmt: skip
        build = tmp_path / "core.tar.gz"
        build.write_bytes(b"core" * 10_000)
        server.depot("push", REF, str(build), "--create", env=alice)
        server.depot("submit", REF, "--to", "carol", env=alice)
        report = tmp_path / "report.txt"
        report.write_text("pass\n")
        server.depot("accept", REF, "--report", str(report), env=carol)
        checkin = server.depot_json("checkin", "request", REF, "--notes", "GA", env=alice)
        server.depot("approve", str(checkin["id"]), env=victor)
        checkout = server.depot_json("checkout", "request", REF, "--purpose", "deploy",
                                     "--days", "7", env=alice)  # fmt: skip
        server.depot("approve", str(checkout["id"]), env=victor)
        tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
        server.depot("quality", "archive", REF, "--end-of-support", tomorrow, env=quinn)
        assert status_of(server, login(server, "alice"), FILE) == 200
        assert server.depot_json("quality", "retirements", env=victor) == []
    finally:
        stop_server(server)

    server = start_server(tmp_path, {**PLUGINS, **moved_clock("+25h")})
    try:
        alice = person(server, tmp_path / "next-day", "alice")
        victor = person(server, tmp_path / "next-day", "victor")
        assert status_of(server, login(server, "alice"), FILE) == 403
        late = server.depot("pull", REF, "core.tar.gz", "-o", str(tmp_path / "b"),
                            "--unverified", env=alice, check=False)  # fmt: skip
        assert late.returncode == 7, late.stderr
        assert f"support of this version ended on {tomorrow}" in late.stderr
        page = Browser(server, "alice")
        try:
            page.get("/groups/payments/core/1.0.0/files/core.tar.gz")
            raise AssertionError("the page served a withdrawn version's file")
        except urllib.error.HTTPError as error:
            assert error.code == 403
        [waiting] = server.depot_json("quality", "retirements", env=victor)
        assert waiting["ref"] == REF and waiting["end_of_support"] == tomorrow
        again = server.depot_json("quality", "retirements", env=victor)
        assert len(again) == 1
    finally:
        stop_server(server)
