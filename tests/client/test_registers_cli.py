"""`depot register` and `depot item`: the version manager's registers at the terminal
(issue 12 §2)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from tests.client.conftest import Live
from tests.client.test_lifecycle_cli import ok, run

REF = "team/app@1.0.0"


def in_library(lib: Live, tmp_path: Path) -> None:
    build, report = tmp_path / "app.tar.gz", tmp_path / "report.txt"
    build.write_bytes(b"the build")
    report.write_text("all pass\n")
    ok(lib, "bob", "push", REF, str(build))
    ok(lib, "alice", "submit", REF, "--to", "carol")
    ok(lib, "carol", "accept", REF, "--report", str(report))
    media = "kind=install media,label=DVD 1/1,location=cabinet A,custodian=Li Lei"
    filed = json.loads(ok(lib, "alice", "--json", "checkin", "request", REF, "--notes", "GA",
                          "--item", media))  # fmt: skip
    ok(lib, "victor", "approve", str(filed["id"]), "--comment", "archived")


def test_the_register_lists_and_exports_the_library(lib: Live, tmp_path: Path) -> None:
    in_library(lib, tmp_path)
    listed = ok(lib, "victor", "register", "list")
    line = next(row for row in listed.splitlines() if REF in row)
    assert line.split()[0] == "1" and "in-house" in line and "carol, victor" in line
    assert "in library" in line
    assert ok(lib, "victor", "register", "list", "--state", "retired").strip() == "No versions."
    target = tmp_path / "register.csv"
    ok(lib, "victor", "register", "export", "-o", str(target))
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert [(r["ref"], r["checked_in_by"]) for r in rows] == [(REF, "victor")]
    exported = json.loads(ok(lib, "victor", "register", "export", "--format", "json"))
    assert [e["ref"] for e in exported["entries"]] == [REF]


def test_the_register_in_figures(lib: Live, tmp_path: Path) -> None:
    in_library(lib, tmp_path)
    shown = ok(lib, "victor", "register", "stats").splitlines()
    assert shown[0].split() == ["group", "category", "versions", "in", "library", "checked",
                                "out", "retired", "quarantined"]  # fmt: skip
    assert shown[1].split() == ["team", "application", "1", "1", "0", "0", "0"]
    month = next(line for line in shown if line.split()[:1] and line.split()[0][:2] == "20")
    assert month.split()[1:] == ["1", "0"]  # one check-in approved this month
    figures = json.loads(ok(lib, "victor", "--json", "register", "stats", "--group", "team"))
    assert figures["counts"][0]["versions"] == 1 and figures["months"][0]["checkins"] == 1
    assert ok(lib, "victor", "register", "stats", "--group", "nobody").strip() == "No versions."


def test_items_are_lent_returned_and_shown_with_their_steps(lib: Live, tmp_path: Path) -> None:
    in_library(lib, tmp_path)
    assert "PI-1" in ok(lib, "bob", "item", "list")
    added = ok(lib, "victor", "item", "add", REF, "--kind", "licence dongle", "--label", "key",
               "--location", "safe 2", "--custodian", "Wang Fang", "--id", "KEY-7")  # fmt: skip
    assert added.startswith("added KEY-7: licence dongle 'key' of team/app@1.0.0")
    refused = run(lib, "alice", "item", "move", "KEY-7", "home")
    assert refused.exit_code == 7 and "role.version_manager" in refused.output
    lent = ok(lib, "victor", "item", "lend", "KEY-7", "bob", "--due", "2099-01-01")
    assert "lent to bob until 2099-01-02" in lent
    assert "KEY-7" in ok(lib, "victor", "item", "list", "--on-loan")
    ok(lib, "victor", "item", "return", "KEY-7", "--comment", "intact")
    shown = ok(lib, "victor", "item", "show", "KEY-7")
    assert [line.split()[2] for line in shown.splitlines()[1:]] == ["register", "lend", "return"]
    assert "(intact)" in shown
