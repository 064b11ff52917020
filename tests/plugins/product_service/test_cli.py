"""``depot service`` against a live server with the module enabled."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.client.conftest import Live
from tests.plugins.product_service.conftest import HOLIDAYS, build

OPEN = (
    "service",
    "open",
    "team/app@1.0.0",
    "--kind",
    "complaint",
    "--channel",
    "phone",
    "--customer",
    "@Bank of Example",
    "--contact",
    "Li Wei",
    "--phone",
    "+86 21 5555 0100",
    "--description",
    "The nightly batch stops at step 4.",
)


@pytest.fixture
def desk(make_live: Callable[..., Live]) -> Live:
    live = make_live("product_service", product_service={"holidays": HOLIDAYS})
    build(live.world)
    live.login("bob")
    return live


def test_a_ticket_from_open_to_close(desk: Live, tmp_path: Path) -> None:
    opened = desk.depot(*OPEN)
    assert opened.exit_code == 0, opened.output
    assert "registered S-1: complaint on team/app@1.0.0 (free)" in opened.output
    assert "first response due" in opened.output
    steps = [
        ("respond", "S-1", "--note", "called back"),
        ("assess", "S-1", "--nature", "defect", "--severity", "high", "--problem", "batch stops"),
        ("dispatch", "S-1", "--to", "tom"),
        ("work", "S-1", "--note", "patched the scheduler"),
        ("complete", "S-1", "--confirmed-by", "Li Wei"),
        ("survey", "S-1", "--score", "5", "--comment", "fast"),
        ("follow-up", "S-1", "--note", "all fine"),
        ("close", "S-1"),
    ]
    for step in steps:
        # bob is the clerk; the work is the dispatched technician's, tom's.
        desk.login("tom" if step[0] == "work" else "bob")
        result = desk.depot("service", *step)
        assert result.exit_code == 0, result.output
    assert "S-1 (closed): closed" in result.output
    shown = desk.depot("service", "show", "S-1")
    assert shown.exit_code == 0
    for text in (
        "S-1: complaint from @Bank of Example (closed)",
        "dispatched to tom",
        "satisfaction: 5/5",
        "follow-up visit: all fine",
        "completion confirmed by Li Wei",
    ):
        assert text in shown.output
    data = desk.json("service", "show", "s1")
    assert data["status"] == "closed" and len(data["record"]) == 9
    report = desk.json("service", "analysis", "team/app")
    assert report["tickets"] == 1 and report["satisfaction"]["mean"] == 5
    text = desk.depot("service", "analysis", "team/app@1.0.0")
    assert "team/app@1.0.0: 1 tickets" in text.output
    assert "tom" in text.output.split("per technician")[1]
    today = report["at"][:10]
    group = desk.depot("service", "analysis", "team", "--since", today)
    assert group.exit_code == 0, group.output
    assert f"team (from {today}): 1 tickets, 1 cases" in group.output
    later = desk.json("service", "analysis", "team", "--since", "2999-01-01")
    assert later["tickets"] == 0
    assert "1  defect  batch stops" in text.output
    out = tmp_path / "service.csv"
    saved = desk.depot("service", "analysis", "team/app", "--csv", str(out))
    assert saved.exit_code == 0, saved.output
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert rows[0]["number"] == "S-1" and rows[0]["customer"] == "'@Bank of Example"


def test_overdue_list_and_refusals(desk: Live) -> None:
    desk.depot(*OPEN)
    desk.depot(*OPEN[:4], "service", *OPEN[5:])
    assert desk.depot("service", "list", "--overdue").output.strip() == "No overdue tickets."
    desk.world.clock.advance(hours=25)
    late = desk.depot("service", "list", "--overdue")
    assert "S-1" in late.output and "OVERDUE: response 1 h 0 min late" in late.output
    escalated = desk.json("service", "list", "--escalated")
    assert [t["number"] for t in escalated] == ["S-1"]
    assert "escalated: response on" in desk.depot("service", "show", "S-1").output
    assert "S-2" not in late.output
    everything = desk.json("service", "list", "--open", "--version", "team/app@1.0.0")
    assert [t["number"] for t in everything] == ["S-2", "S-1"]
    assert [t["is_overdue"] for t in everything] == [False, True]
    # Order of steps, bad values, other groups.
    wrong = desk.depot("service", "complete", "S-1", "--confirmed-by", "Li")
    assert wrong.exit_code == 5 and "must come first" in wrong.output
    bad = desk.depot("service", "survey", "S-1", "--score", "9")
    assert bad.exit_code == 5  # the survey's turn has not come
    desk.login("dave")
    hidden = desk.depot("service", "show", "S-1")
    assert hidden.exit_code == 4 and "ticket S-1 not found" in hidden.output
    assert desk.json("service", "list") == []
    usage = desk.depot("service", "show", "ticket-one")
    assert usage.exit_code == 2


def test_honest_ends_roles_and_my_tickets(desk: Live) -> None:
    for _ in range(3):
        assert desk.depot(*OPEN).exit_code == 0
    cancelled = desk.depot("service", "cancel", "S-1", "--reason", "registered by mistake")
    assert cancelled.exit_code == 0, cancelled.output
    assert "S-1 (cancelled): cancelled: registered by mistake" in cancelled.output
    dup = desk.depot("service", "duplicate", "S-3", "--of", "2", "--reason", "same call")
    assert dup.exit_code == 0, dup.output
    assert "S-3 (duplicate): duplicate of S-2: same call" in dup.output
    withdrawn = desk.json("service", "withdraw", "S-2", "--reason", "fixed it themselves")
    assert withdrawn["status"] == "withdrawn" and withdrawn["duplicates"] == ["S-3"]
    assert "duplicate of: S-2" in desk.depot("service", "show", "S-3").output
    assert desk.depot(*OPEN).exit_code == 0
    linked = desk.depot("service", "link", "S-4", "--quality-issue", "Q-3")
    assert linked.exit_code == 0, linked.output
    assert "S-4: linked to quality issue Q-3" in linked.output
    assert "quality issue: Q-3" in desk.depot("service", "show", "S-4").output
    missing = desk.depot("service", "cancel", "S-2")
    assert missing.exit_code == 2  # --reason is required
    # The group's software manager grants and takes away the service roles.
    desk.login("alice")
    granted = desk.depot("service", "grant", "team", "kim", "--role", "clerk")
    assert granted.exit_code == 0, granted.output
    assert "kim is now clerk of team" in granted.output
    roles = desk.depot("service", "roles", "team")
    assert "kim" in roles.output and "technician" in roles.output
    assert {(r["username"], r["role"]) for r in desk.json("service", "roles", "team")} >= {
        ("kim", "clerk"),
        ("tom", "technician"),
    }
    revoked = desk.depot("service", "revoke", "team", "kim", "--role", "clerk")
    assert revoked.exit_code == 0 and "kim is no longer clerk of team" in revoked.output
    desk.login("bob")
    refused = desk.depot("service", "grant", "team", "kim", "--role", "clerk")
    assert refused.exit_code != 0 and "rule service.role_grant" in refused.output
    # A technician's own tickets.
    for step in (
        ("respond", "S-4"),
        ("assess", "S-4", "--nature", "defect", "--severity", "low", "--problem", "x"),
        ("dispatch", "S-4", "--to", "tom"),
    ):
        assert desk.depot("service", *step).exit_code == 0
    desk.login("tom")
    assert [t["number"] for t in desk.json("service", "list", "--mine")] == ["S-4"]
    assert "S-4" in desk.depot("service", "list", "--mine").output


def test_the_customer_register_and_warranties(desk: Live) -> None:
    assert desk.depot(*OPEN).exit_code == 0  # enters "@Bank of Example" in the register
    added = desk.depot(
        "service", "customer", "add", "team", "Example Leasing", "--contact", "Zhang"
    )
    assert added.exit_code == 0, added.output
    assert "C-2: Example Leasing entered in the register of team" in added.output
    listed = desk.depot("service", "customers", "team")
    assert "C-1" in listed.output and "Example Leasing" in listed.output
    desk.login("sue")
    contract = desk.depot(
        "service", "customer", "warranty", "team", "C-2", "--contract", "HT-1", "--days", "90"
    )
    assert contract.exit_code == 0, contract.output
    assert "C-2: contract HT-1, warranty 90 days" in contract.output
    product = desk.depot("service", "warranty", "team/app", "--days", "60")
    assert product.exit_code == 0 and "team/app: warranty 60 days" in product.output
    desk.login("bob")
    shown = desk.depot("service", "show", "S-1")
    assert "customer C-1" in shown.output and "(default warranty 30 days)" in shown.output


def test_a_server_without_the_module(make_live: Callable[..., Live]) -> None:
    live = make_live()
    live.world.user("bob")
    live.login("bob")
    result = live.depot("service", "list")
    assert result.exit_code == 4
    assert "the service module is not enabled on this server" in result.output
