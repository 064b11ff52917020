"""The CLI read in a CI log or through a pipe (issue 12 §6): tables in plain columns that
are never cut to "…", no "0 bytes/s", the library number in `depot ls REF`, sentences
with the right article, and an officer's upload recorded in her role."""

from __future__ import annotations

import re
from pathlib import Path

from tests.e2e.conftest import Server
from tests.e2e.test_desk import REF, delivered, team

NARROW = {"COLUMNS": "40"}


def test_the_cli_in_a_ci_log(server: Server, tmp_path: Path) -> None:
    people = team(server, tmp_path)
    alice, carol, victor = people["alice"], people["carol"], people["victor"]
    delivered(server, tmp_path, people)

    # Not a terminal, and narrow: every cell whole, plain columns, no "…".
    inbox = server.depot("requests", "--all", env={**carol, **NARROW}).stdout
    assert "…" not in inbox and "acceptance of payments/core@3.0.0" in inbox
    assert inbox.splitlines()[0].split() == ["id", "kind", "what", "requester", "state", "filed"]
    groups = server.depot("ls", env={**alice, **NARROW}).stdout
    assert "…" not in groups and "software_manager" in groups

    tiny = tmp_path / "notes.txt"
    tiny.write_text("x")
    pushed = server.depot("push", "payments/core@3.0.1", str(tiny), "--create", env=alice)
    assert not re.search(r"(?<![\d.])0 bytes/s", pushed.stderr), pushed.stderr

    # An officer who uploads a file does so as an acceptance officer, and the trail says so.
    server.depot("push", "payments/core@3.0.1", str(tmp_path / "manual.pdf"), env=carol)
    rows = server.depot("history", "payments/core@3.0.1", env=alice).stdout.splitlines()
    upload = next(line for line in rows if "carol" in line and "file.upload" in line)
    assert "acceptance_officer" in upload

    # Grammar: "an acceptance officer", "an upload token".
    report = tmp_path / "report.txt"
    report.write_text("pass\n")
    refused = server.depot("accept", REF, "--report", str(report), env=alice, check=False)
    assert refused.returncode == 7
    assert "only an acceptance officer of payments may accept" in refused.stderr
    token = server.depot_json("token", "create", "--group", "payments", "--scope", "upload",
                              env=alice)["token"]  # fmt: skip
    ci = {"DEPOT_URL": server.url, "DEPOT_TOKEN": token, "DEPOT_CONFIG_DIR": str(tmp_path / "ci")}
    members = server.depot("group", "add-member", "payments", "dave", env=ci, check=False)
    assert members.returncode == 7 and "an upload token cannot" in members.stderr
    whoami = server.depot("whoami", env=ci).stdout
    assert "using an upload token" in whoami

    # In the library: `depot ls REF` shows its library number.
    server.depot("accept", REF, "--report", str(report), env=carol)
    checkin = server.depot_json("checkin", "request", REF, "--notes", "GA", env=alice)
    server.depot("approve", str(checkin["id"]), env=victor)
    listing = server.depot("ls", REF, env=alice).stdout
    assert listing.splitlines()[0].startswith(f"{REF}  checked_in  library number 1  ")
