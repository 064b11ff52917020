"""Mail about requests: who gets which, written after the transaction commits.

The lifecycle services tell :class:`Notifier` (their :class:`~repo_server.lifecycle.notices.
Notices`) inside the transaction that files or decides a request; once it commits, the
notifier reads the request afresh and mails

- everyone who may decide it now (asked of the same rules that decide it: a version
  manager or her stand-in for an upgrade, a check-in or a check-out, the group's acceptance
  officers for an acceptance — never the requester, an uploader, the officer who accepted
  it), when it is filed;
- the requester, when it is decided;
- and, from ``depot-server notify remind`` (cron), whoever may decide a request that has
  waited longer than ``notify_remind_after_hours``: once a day at most per request and
  person.

Each person's settings (:class:`NotificationSetting`) may turn each kind off; a person
without an e-mail address gets nothing. Mail never fails a request: see mailer.py.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from policies.lifecycle import RequestState, Step, decide_step
from repo_server.artifacts.models import Product
from repo_server.audit.services import AuditLog
from repo_server.auth.models import GlobalRoleGrant, StandIn, User
from repo_server.auth.principal import Principal
from repo_server.auth.services import AuthService
from repo_server.clock import Clock
from repo_server.db import Database
from repo_server.errors import InvalidRequest
from repo_server.groups.models import Group, Membership
from repo_server.i18n import check_language, zone
from repo_server.lifecycle.facts import facts_for_request, request_facts, request_infos
from repo_server.lifecycle.models import Request
from repo_server.notify.letters import Letter
from repo_server.notify.mailer import Mailer
from repo_server.notify.models import NotificationSetting, ReminderSent
from repo_server.settings import Settings

log = logging.getLogger("depot.mail")

_PENDING_KEY = "depot.notices"


@dataclass(frozen=True)
class Preferences:
    """What one person wants mailed."""

    email: str
    awaiting: bool = True
    decided: bool = True
    reminders: bool = True
    #: ``en`` or ``zh-CN``; empty: the browser's language on the pages, English in mail.
    language: str = ""
    #: An IANA zone name; empty: the server's ``time_zone``.
    time_zone: str = ""


@dataclass(frozen=True)
class ReminderRun:
    """What one ``notify remind`` did."""

    requests: int
    sent: int
    skipped: int


class Notifier:
    """The mail side of the lifecycle, for one server."""

    def __init__(
        self,
        db: Database,
        audit: AuditLog,
        clock: Clock,
        settings: Settings,
        auth: AuthService,
        mailer: Mailer | None = None,
    ) -> None:
        self.db = db
        self.audit = audit
        self.clock = clock
        self.settings = settings
        self.auth = auth
        self.mailer = mailer or Mailer(settings)

    # -- told by the lifecycle (inside its transaction) -----------------------------------

    def filed(self, session: Session, request_id: int) -> None:
        """Mail whoever may decide ``request_id`` once ``session`` commits."""
        self._after_commit(session, "awaiting", request_id)

    def decided(self, session: Session, request_id: int) -> None:
        """Mail the requester of ``request_id`` once ``session`` commits."""
        self._after_commit(session, "decided", request_id)

    def _after_commit(self, session: Session, what: str, request_id: int) -> None:
        if not self.mailer.enabled:
            return
        pending: list[tuple[str, int]] = session.info.setdefault(_PENDING_KEY, [])
        if not pending:
            event.listen(session, "after_commit", self._committed, once=True)
        pending.append((what, request_id))

    def _committed(self, session: Session) -> None:
        for what, request_id in session.info.pop(_PENDING_KEY, []):
            try:
                messages = self._messages(what, request_id)
                self.mailer.send(messages)
            except Exception:  # a mail must never fail what was committed
                log.exception("mail about request #%s (%s) not sent", request_id, what)

    def _messages(self, what: str, request_id: int) -> list[EmailMessage]:
        with self.db.read() as session:
            row = session.get(Request, request_id)
            if row is None:
                return []
            info = request_infos(session, [row])[0]
            if what == "awaiting":
                return [
                    Letter(self.settings, user, prefs).awaiting(info, reminder=False)
                    for user, prefs in self._deciders(session, row)
                    if prefs.awaiting
                ]
            requester = session.scalar(sa.select(User).where(User.username == row.requester))
            if requester is None or not requester.active:
                return []
            prefs = preferences(session, requester)
            if not (prefs.email and prefs.decided):
                return []
            return [Letter(self.settings, requester, prefs).decided(info)]

    # -- who may decide -----------------------------------------------------------------

    def _deciders(self, session: Session, row: Request) -> list[tuple[User, Preferences]]:
        """The active people with an address who may decide ``row`` now, by the rules."""
        if row.state != RequestState.PENDING.value:
            return []
        group = session.get(Group, row.group_id)
        product = session.get(Product, row.product_id)
        assert group is not None and product is not None
        facts = facts_for_request(session, row, group, product)
        request = request_facts(row)
        now = self.clock.now()
        # Candidates: holders of a global role, the group's members, current stand-ins.
        candidates = sa.select(User).where(
            User.active.is_(True),
            User.email != "",
            sa.or_(
                User.id.in_(sa.select(GlobalRoleGrant.user_id)),
                User.id.in_(sa.select(Membership.user_id).where(Membership.group_id == group.id)),
                User.id.in_(
                    sa.select(StandIn.stand_in_id).where(
                        StandIn.revoked_at.is_(None),
                        StandIn.starts_at <= now,
                        StandIn.ends_at > now,
                    )
                ),
            ),
        )
        found = []
        for user in session.scalars(candidates.order_by(User.username)):
            actor = self.auth.principal_for(session, user, "").actor
            if decide_step(actor, Step.APPROVE, facts, request, comment="-").allowed:
                found.append((user, preferences(session, user)))
        return found

    # -- reminders (depot-server notify remind) -----------------------------------------

    def remind(self, *, older_than_hours: int | None = None) -> ReminderRun:
        """Remind whoever may decide each request pending for longer than the reminder age,
        once a (UTC) day per request and person. Safe to run as often as cron likes."""
        hours = older_than_hours or self.settings.notify_remind_after_hours
        if hours < 1:
            raise InvalidRequest("the reminder age is at least one hour", field="older_than")
        now = self.clock.now()
        day = now.strftime("%Y-%m-%d")
        requests = sent = skipped = 0
        with self.db.read() as session:
            rows = list(
                session.scalars(
                    sa.select(Request)
                    .where(
                        Request.state == RequestState.PENDING.value,
                        Request.created_at <= now - timedelta(hours=hours),
                    )
                    .order_by(Request.id)
                )
            )
            work = []
            for row in rows:
                info = request_infos(session, [row])[0]
                people = [
                    (user, prefs) for user, prefs in self._deciders(session, row) if prefs.reminders
                ]
                work.append((info, people))
        for info, people in work:
            requests += 1
            for user, prefs in people:
                if not self._claim(info.id, user.username, day, now):
                    skipped += 1
                    continue
                message = Letter(self.settings, user, prefs).awaiting(
                    info, reminder=True, waited=now - info.created_at
                )
                if self.mailer.send([message]) == 1:
                    sent += 1
                else:
                    self._unclaim(info.id, user.username, day)
        return ReminderRun(requests, sent, skipped)

    def _claim(self, request_id: int, username: str, day: str, now: datetime) -> bool:
        """Take today's reminder of ``request_id`` to ``username``: False if it is taken."""
        try:
            with self.db.write() as session:
                taken = session.scalar(
                    sa.select(ReminderSent.id).where(
                        ReminderSent.request_id == request_id,
                        ReminderSent.recipient == username,
                        ReminderSent.day == day,
                    )
                )
                if taken is not None:
                    return False
                session.add(
                    ReminderSent(request_id=request_id, recipient=username, day=day, sent_at=now)
                )
        except sa.exc.IntegrityError:  # another run took it a moment earlier
            return False
        return True

    def _unclaim(self, request_id: int, username: str, day: str) -> None:
        """Give back a reminder the relay did not take, so that a later run sends it."""
        with self.db.write() as session:
            session.execute(
                sa.delete(ReminderSent).where(
                    ReminderSent.request_id == request_id,
                    ReminderSent.recipient == username,
                    ReminderSent.day == day,
                )
            )

    # -- a person's own settings --------------------------------------------------------

    def settings_of(self, principal: Principal) -> Preferences:
        """The caller's notification settings."""
        with self.db.read() as session:
            return preferences(session, _person(session, principal))

    def change_settings(
        self,
        principal: Principal,
        *,
        awaiting: bool | None = None,
        decided: bool | None = None,
        reminders: bool | None = None,
        language: str | None = None,
        time_zone: str | None = None,
    ) -> Preferences:
        """Turn kinds of mail on or off for the caller, set their language and time zone
        (``None``: unchanged, ``""``: back to the default); audited."""
        for field, check, given in (
            ("language", check_language, language),
            ("time_zone", zone, time_zone),
        ):
            try:
                check(given or "")
            except ValueError as error:
                # The rule's own message (made with N_): a page says it in its language.
                raise InvalidRequest(error.args[0], field=field) from None
        with self.db.write() as session:
            user = _person(session, principal)
            row = session.get(NotificationSetting, user.id)
            if row is None:
                row = NotificationSetting(
                    user_id=user.id,
                    awaiting=True,
                    decided=True,
                    reminders=True,
                    language="",
                    time_zone="",
                )
                session.add(row)
            changed: dict[str, bool | str] = {}
            wanted: tuple[tuple[str, bool | str | None], ...] = (
                ("awaiting", awaiting),
                ("decided", decided),
                ("reminders", reminders),
                ("language", language),
                ("time_zone", time_zone),
            )
            for name, value in wanted:
                if value is not None:
                    setattr(row, name, value)
                    changed[name] = value
            row.updated_at = self.clock.now()
            self.audit.record(
                session,
                principal,
                "notify.settings",
                target=f"user:{user.username}",
                details=changed,
            )
            session.flush()
            return preferences(session, user)

    def test_mail(self, to: str) -> bool:
        """Send a test mail to ``to`` (``depot-server notify test``); whether it went."""
        if not self.mailer.enabled:
            raise InvalidRequest("mail is off: set smtp_host and smtp_from", field="smtp_host")
        message = EmailMessage()
        message["From"] = self.settings.smtp_from
        message["To"] = to
        message["Subject"] = "[Depot] Test mail"
        message.set_content(
            f"Depot at {self.settings.effective_public_url} can send mail through "
            f"{self.settings.smtp_host}:{self.settings.smtp_port}.\n"
        )
        return self.mailer.send([message]) == 1


def preferences(session: Session, user: User) -> Preferences:
    """``user``'s notification settings (everything on when never changed)."""
    row = session.get(NotificationSetting, user.id)
    if row is None:
        return Preferences(user.email)
    return Preferences(
        user.email, row.awaiting, row.decided, row.reminders, row.language, row.time_zone
    )


def _person(session: Session, principal: Principal) -> User:
    user = session.get(User, principal.user_id) if principal.user_id is not None else None
    if user is None or principal.actor.is_group_token:
        raise InvalidRequest("notification settings are a signed-in person's own")
    return user
