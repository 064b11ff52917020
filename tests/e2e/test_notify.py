"""Mail and stand-ins against the real server process, the real CLI and a real SMTP
server (aiosmtpd, started by the test), with the server's clock moved by libfaketime.

Whoever may decide a request is mailed with a link to its page, the requester gets the
decision; a version manager names a stand-in with `depot stand-in add`, who decides in
her place ("sara for victor") until her period ends, and is refused by rule after it;
`depot-server notify remind` reminds of what waited too long, once a day; a relay that is
down is logged and counted, and the decision stands.
"""

from __future__ import annotations

import re
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import BIN, Server, start_server, stop_server
from tests.e2e.test_desk import delivered
from tests.e2e.test_desk_clock import moved_clock
from tests.e2e.test_integrity import PASSWORD, REF, person
from tests.fixtures.mail import Mailbox, body_of

PUBLIC = "https://depot.bank.test"


@pytest.fixture
def server(tmp_path: Path, mailbox: Mailbox) -> Iterator[Server]:
    """A server on SQLite and the folder store that mails through ``mailbox``."""
    running = start_server(tmp_path, mail_env(mailbox))
    try:
        yield running
    finally:
        stop_server(running)


def mail_env(mailbox: Mailbox) -> dict[str, str]:
    return {
        "DEPOT_SMTP_HOST": mailbox.host,
        "DEPOT_SMTP_PORT": str(mailbox.port),
        "DEPOT_SMTP_FROM": "Depot <depot@bank.test>",
        "DEPOT_PUBLIC_URL": PUBLIC,
    }


def later(server: Server, tmp_path: Path, mailbox: Mailbox, offset: str) -> Server:
    """``server`` started again on its data folder, its clock ``offset`` on (faketime)."""
    clock = moved_clock(offset)
    stop_server(server)
    return start_server(tmp_path, {**mail_env(mailbox), **clock})


def admin(server: Server, *args: str) -> str:
    """``depot-server ARGS`` on the server's machine and clock (its faketime too); what it
    printed."""
    done = subprocess.run([str(BIN / "depot-server"), *args], env=server.env, capture_output=True,
                          text=True, timeout=120, check=True)  # fmt: skip
    return done.stdout


def people(server: Server, tmp_path: Path) -> dict[str, dict[str, str]]:
    """payments: alice (software manager), carol (officer), sara (member); victor the
    version manager; each with an address and a signed-in terminal."""
    for name, role in (("alice", None), ("carol", None), ("sara", None),
                       ("victor", "version_manager")):  # fmt: skip
        server.admin(
            "user", "create", name, "--password-stdin", "--email", f"{name}@bank.test",
            *(("--role", role) if role else ()), input=PASSWORD + "\n",
        )  # fmt: skip
    server.admin("group", "create", "payments")
    for name, role in (("alice", "software_manager"), ("alice", "member"),
                       ("carol", "acceptance_officer"), ("sara", "member")):  # fmt: skip
        server.admin("group", "add-member", "payments", name, "--role", role)
    return {name: person(server, tmp_path, name) for name in ("alice", "carol", "sara", "victor")}


def request_id(mail_text: str) -> int:
    found = re.search(rf"{re.escape(PUBLIC)}/requests/(\d+)", mail_text)
    assert found, mail_text
    return int(found.group(1))


def mail_metric(server: Server, outcome: str) -> float:
    with urllib.request.urlopen(server.url + "/metrics", timeout=10) as answer:
        text = answer.read().decode()
    found = re.search(rf'depot_mail_messages_total{{outcome="{outcome}"}} ([0-9.e+]+)', text)
    return float(found.group(1)) if found else 0.0


def test_mail_stand_ins_and_reminders_on_a_running_server(
    server: Server, tmp_path: Path, mailbox: Mailbox
) -> None:
    who = people(server, tmp_path)
    alice, carol, sara, victor = who["alice"], who["carol"], who["sara"], who["victor"]
    delivered(server, tmp_path, who)
    mailbox.wait(lambda box: len(box.to("carol@bank.test")) == 1)
    offer = mailbox.to("carol@bank.test")[0]
    assert offer["Subject"].endswith(f"acceptance of {REF} waits for your decision")
    report = tmp_path / "report.txt"
    report.write_text("pass\n")
    # alice filed the product's registration too: victor's approval of it came first.
    assert [m["Subject"] for m in mailbox.to("alice@bank.test")] == [
        "[Depot] #1 registration of payments/core: approved by victor"
    ]
    server.depot("accept", REF, "--report", str(report), env=carol)
    mailbox.wait(lambda box: len(box.to("alice@bank.test")) == 2)
    assert "passed by carol" in mailbox.to("alice@bank.test")[1]["Subject"]

    named = server.depot_json("stand-in", "add", "sara", "--until", "2d", "--reason", "leave",
                              env=victor)  # fmt: skip
    assert (named["stand_in"], named["stands_for"], named["active"]) == ("sara", "victor", True)
    assert "stands in for victor as version manager" in server.depot("whoami", env=sara).stdout
    listed = server.depot("stand-in", "list", env=sara).stdout
    assert "sara" in listed and "victor" in listed and "active" in listed
    checkin = server.depot_json("checkin", "request", REF, "--notes", "GA", env=alice)
    mailbox.wait(lambda box: len(box.to("sara@bank.test")) == 1)
    assert request_id(body_of(mailbox.to("sara@bank.test")[0])) == checkin["id"]
    assert len(mailbox.to("victor@bank.test")) == 1
    approved = server.depot_json("approve", str(checkin["id"]), env=sara)
    assert (approved["decided_by"], approved["decided_for"]) == ("sara", "victor")
    mailbox.wait(lambda box: any("sara for victor" in m["Subject"]
                                 for m in box.to("alice@bank.test")))  # fmt: skip
    checkout = server.depot_json("checkout", "request", REF, "--purpose", "deploy", env=alice)
    server.depot("notify", "set", "--no-decided", env=alice)
    assert "no" in server.depot("notify", "show", env=alice).stdout

    server = later(server, tmp_path, mailbox, "+49h")  # her period ended an hour ago
    try:
        sara_late = person(server, tmp_path / "later", "sara")
        refused = server.depot("approve", str(checkout["id"]), env=sara_late, check=False)
        assert refused.returncode == 7 and "(rule stand_in.period)" in refused.stderr
        mailbox.clear()
        first = admin(server, "--json", "notify", "remind")
        assert '"sent": 1' in first
        reminder = mailbox.to("victor@bank.test")[0]
        assert reminder["Subject"].startswith(f"[Depot] Reminder: #{checkout['id']}")
        assert mailbox.to("sara@bank.test") == []  # she may decide nothing now
        again = admin(server, "notify", "remind")
        assert "0 reminder(s) sent, 1 already sent today" in again

        # The relay goes away: the decision stands, the lost mail is logged and counted.
        mailbox.stop()
        lost = mail_metric(server, "failed")
        victor_late = person(server, tmp_path / "later", "victor")
        alice_late = person(server, tmp_path / "later", "alice")
        server.depot("notify", "set", "--decided", env=alice_late)
        decided = server.depot_json("approve", str(checkout["id"]), env=victor_late)
        assert decided["state"] == "approved"
        server.wait_for_output(lambda text: "mail not sent" in text)
        assert "mail not sent" in server.output()
        assert mail_metric(server, "failed") >= lost + 1
    finally:
        stop_server(server)
