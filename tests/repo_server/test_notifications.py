"""Mail about requests, sent to a real SMTP server (aiosmtpd) the test starts.

Who may decide a request is mailed when it is filed, the requester when it is decided,
and ``Notifier.remind`` (``depot-server notify remind``) reminds of what waited too long,
once a day. A relay that is down costs the mail, never the decision.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from repo_server.auth.principal import system
from repo_server.clock import FrozenClock
from repo_server.observability.metrics import exposition
from tests.fixtures.factories import accept, api, populate_lib, ref_path
from tests.fixtures.mail import Mailbox, body_of, free_port, start_tls_relay
from tests.support import PASSWORD, World, make_settings, running_world

REF = "team/app@1.0.0"
PEOPLE = ("alice", "bob", "carol", "dave", "victor", "ivy")


def _with_addresses(w: World) -> World:
    populate_lib(w)
    for name in PEOPLE:
        w.depot.accounts.update_user(
            system(), name, email=f"{name}@bank.test", display_name=name.title()
        )
    return w


@pytest.fixture
def mail_lib(
    tmp_path: Path, database_url: str, clock: FrozenClock, mailbox: Mailbox
) -> Iterator[World]:
    settings = make_settings(
        tmp_path, database_url, public_url="https://depot.bank.test", **mailbox.settings
    )
    with running_world(settings, clock) as w:
        yield _with_addresses(w)


def file_checkin(w: World) -> int:
    accept(w, REF)
    answer = api(w, "alice", "POST", ref_path(REF) + "/checkin", {"release_notes": "GA"}, 201)
    return int(answer["id"])


def test_whoever_may_decide_is_mailed_with_a_link(mail_lib: World, mailbox: Mailbox) -> None:
    w = mail_lib
    api(w, "alice", "POST", ref_path(REF) + "/submit", {}, 201)
    # An acceptance waits for the group's officer, never for the uploader or the requester.
    mailbox.wait(lambda box: len(box.to("carol@bank.test")) == 1)
    assert mailbox.to("bob@bank.test") == [] and mailbox.to("alice@bank.test") == []
    mailbox.clear()
    w.upload(REF, "test-report.pdf", b"ok", w.tokens["carol"], role="report")
    acceptance = api(w, "alice", "GET", "/api/v1/requests?view=mine")["requests"][0]["id"]
    api(w, "carol", "POST", f"/api/v1/requests/{acceptance}/approve",
        {"report": "test-report.pdf"})  # fmt: skip
    mailbox.wait(lambda box: len(box.to("alice@bank.test")) == 1)
    mailbox.clear()

    number = int(
        api(w, "alice", "POST", ref_path(REF) + "/checkin", {"release_notes": "GA"}, 201)["id"]
    )
    mailbox.wait(lambda box: len(box.to("victor@bank.test")) == 1)
    mail = mailbox.to("victor@bank.test")[0]
    assert mail["Subject"] == f"[Depot] #{number} check-in of {REF} waits for your decision"
    assert mail["From"] == "depot@bank.test"
    assert mail["To"] == "Victor <victor@bank.test>"
    text = body_of(mail)
    assert f"https://depot.bank.test/requests/{number}" in text
    assert "Release notes: GA" in text
    # The auditor, the officer who accepted it and the requester decide nothing here.
    for name in ("ivy", "carol", "alice", "bob", "dave"):
        assert mailbox.to(f"{name}@bank.test") == [], name


def test_the_requester_is_mailed_the_decision(mail_lib: World, mailbox: Mailbox) -> None:
    w = mail_lib
    number = file_checkin(w)
    mailbox.clear()
    api(w, "victor", "POST", f"/api/v1/requests/{number}/refuse", {"comment": "notes are thin"})
    mailbox.wait(lambda box: len(box.to("alice@bank.test")) == 1)
    mail = mailbox.to("alice@bank.test")[0]
    assert mail["Subject"] == f"[Depot] #{number} check-in of {REF}: refused by victor"
    assert "Comment: notes are thin" in body_of(mail)
    assert f"https://depot.bank.test/requests/{number}" in body_of(mail)


def test_a_person_turns_kinds_of_mail_off(mail_lib: World, mailbox: Mailbox) -> None:
    w = mail_lib
    assert api(w, "victor", "GET", "/api/v1/me/notifications") == {
        "email": "victor@bank.test",
        "awaiting": True,
        "decided": True,
        "reminders": True,
        "language": "",
        "time_zone": "",
    }
    changed = api(w, "victor", "PATCH", "/api/v1/me/notifications", {"awaiting": False})
    assert changed["awaiting"] is False and changed["reminders"] is True
    assert [e["action"] for e in w.audit(actor="victor")][-1] == "notify.settings"
    api(w, "alice", "PATCH", "/api/v1/me/notifications", {"decided": False})
    number = file_checkin(w)
    api(w, "victor", "POST", f"/api/v1/requests/{number}/approve", {})
    # The officer's acceptance mail is the proof that mail flows; victor and alice get none.
    mailbox.wait(lambda box: len(box.to("carol@bank.test")) == 1)
    assert mailbox.to("victor@bank.test") == []
    assert mailbox.to("alice@bank.test") == []
    bad = w.call("PATCH", "/api/v1/me/notifications", w.tokens["victor"], json={"awaiting": 3})
    assert bad.status_code == 400


def test_a_dead_relay_costs_the_mail_not_the_decision(
    tmp_path: Path, database_url: str, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    dead = {"smtp_host": "127.0.0.1", "smtp_port": free_port(), "smtp_from": "depot@bank.test"}
    with running_world(make_settings(tmp_path, database_url, **dead), clock) as w:
        _with_addresses(w)
        before = _failed(w)
        with caplog.at_level(logging.WARNING, logger="depot.mail"):
            number = file_checkin(w)
            approved = api(w, "victor", "POST", f"/api/v1/requests/{number}/approve", {})
        assert approved["state"] == "approved" and approved["version"] == "1.0.0"
        assert "mail not sent" in caplog.text and "ConnectionRefusedError" in caplog.text
        # Submit, pass, check-in filed, check-in decided: every mail was counted as lost.
        assert _failed(w) >= before + 4
        run = w.depot.notify.remind(older_than_hours=1)
        assert run.sent == 0


def _failed(w: World) -> float:
    for line in exposition(w.depot).decode().splitlines():
        if line.startswith('depot_mail_messages_total{outcome="failed"}'):
            return float(line.split()[-1])
    return 0.0


def test_reminders_once_a_day_for_what_waited_too_long(
    mail_lib: World, mailbox: Mailbox, clock: FrozenClock
) -> None:
    w = mail_lib
    number = file_checkin(w)
    mailbox.clear()
    assert w.depot.notify.remind().sent == 0  # not 48 hours yet
    clock.advance(hours=49)
    first = w.depot.notify.remind()
    assert (first.sent, first.skipped) == (1, 0)
    mail = mailbox.to("victor@bank.test")[0]
    assert mail["Subject"] == (
        f"[Depot] Reminder: #{number} check-in of {REF} has waited 2 days for your decision"
    )
    again = w.depot.notify.remind()
    assert (again.sent, again.skipped) == (0, 1)  # cron ran twice the same day
    clock.advance(days=1)
    assert w.depot.notify.remind().sent == 1
    api(w, "victor", "POST", f"/api/v1/requests/{number}/approve", {})
    clock.advance(days=1)
    assert w.depot.notify.remind().requests == 0  # decided: nothing to remind of
    assert len(mailbox.to("victor@bank.test")) == 2


def test_a_stand_in_is_mailed_and_the_decision_says_for_whom(
    mail_lib: World, mailbox: Mailbox, clock: FrozenClock
) -> None:
    w = mail_lib
    w.depot.accounts.create_user(system(), "sara", PASSWORD, email="sara@bank.test")
    w.depot.groups.add_member(system(), "team", "sara", "member")
    w.sign_in("victor")
    ends = (clock.now() + timedelta(days=3)).isoformat()
    api(w, "victor", "POST", "/api/v1/stand-ins", {"stand_in": "sara", "ends_at": ends}, 201)
    number = file_checkin(w)
    mailbox.wait(lambda box: len(box.to("sara@bank.test")) == 1)
    assert "waits for your decision" in mailbox.to("sara@bank.test")[0]["Subject"]
    assert len(mailbox.to("victor@bank.test")) == 1  # she is away, but still told
    w.sign_in("sara")
    mailbox.clear()
    api(w, "sara", "POST", f"/api/v1/requests/{number}/approve", {})
    mailbox.wait(lambda box: len(box.to("alice@bank.test")) == 1)
    assert mailbox.to("alice@bank.test")[0]["Subject"] == (
        f"[Depot] #{number} check-in of {REF}: approved by sara for victor"
    )


def test_depot_server_notify_test_and_remind(
    tmp_path: Path, database_url: str, mailbox: Mailbox
) -> None:
    from click.testing import CliRunner

    from repo_server.cli import main

    def run(*args: str, **extra: str) -> tuple[int, str]:
        env = {"DEPOT_SCRYPT_N": "16", "DEPOT_DATA_DIR": str(tmp_path),
               "DEPOT_DATABASE_URL": database_url, **extra}  # fmt: skip
        result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
        return result.exit_code, result.output

    assert run("init")[0] == 0
    code, text = run("notify", "remind")
    assert code == 2 and "mail is off" in text
    relay = {f"DEPOT_{k.upper()}": str(v) for k, v in mailbox.settings.items()}
    code, text = run("notify", "test", "ops@bank.test", **relay)
    assert code == 0 and "test mail sent to ops@bank.test" in text
    mailbox.wait(lambda box: len(box.to("ops@bank.test")) == 1)
    assert mailbox.to("ops@bank.test")[0]["Subject"] == "[Depot] Test mail"
    code, text = run("--json", "notify", "remind", "--older-than", "1", **relay)
    assert code == 0 and '"sent": 0' in text
    dead = {**relay, "DEPOT_SMTP_PORT": str(free_port())}
    code, text = run("notify", "test", "ops@bank.test", **dead)
    assert code == 1 and "did not take it" in text
    code, text = run("notify", "remind", **{**relay, "DEPOT_SMTP_FROM": "nobody"})
    assert code != 0 and "smtp_from" in text


def test_starttls_and_a_sign_in_on_the_relay(tmp_path: Path, test_ca: Any) -> None:
    from email.message import EmailMessage

    from repo_server.notify.mailer import Mailer
    from repo_server.settings import load_settings

    box = Mailbox("127.0.0.1", free_port())
    start_tls_relay(box, str(test_ca.server_cert), str(test_ca.server_key), "depot", "s3cret")
    secret = tmp_path / "smtp-password"
    secret.write_text("s3cret\n")
    relay = {**box.settings, "smtp_starttls": True, "smtp_user": "depot"}
    trusted = {**relay, "smtp_ca_file": str(test_ca.ca_file)}

    def send(**settings: Any) -> tuple[int, list[tuple[str, int]]]:
        counted: list[tuple[str, int]] = []
        mailer = Mailer(load_settings({}, **settings))
        mailer.count = lambda outcome, n: counted.append((outcome, n))
        message = EmailMessage()
        message["To"] = "ops@bank.test"
        message["Subject"] = "over TLS"
        message.set_content("hello")
        return mailer.send([message]), counted

    try:
        assert send(**trusted, smtp_password_file=str(secret)) == (1, [("sent", 1)])
        box.wait(lambda b: len(b.to("ops@bank.test")) == 1)
        # A relay whose certificate the server does not trust gets nothing, nor one the
        # password does not open: the mail is counted as lost.
        assert send(**relay, smtp_password="s3cret") == (0, [("failed", 1)])
        assert send(**trusted, smtp_password="wrong") == (0, [("failed", 1)])
        assert len(box.to("ops@bank.test")) == 1
    finally:
        box.stop()
