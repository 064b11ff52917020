"""The notification mails, written in the recipient's language and time zone.

:class:`~repo_server.notify.services.Notifier` decides who gets which mail; this module
writes it: the subject and the lines, through the recipient's catalog
(:func:`repo_server.i18n.translations`), with dates in her zone (her setting, else the
server's ``time_zone``).
"""

from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Protocol

from babel.support import NullTranslations

from policies.lifecycle import RequestState
from repo_server.auth.models import User
from repo_server.i18n import shown, translations, zone
from repo_server.lifecycle.facts import RequestInfo
from repo_server.settings import Settings


class Reader(Protocol):
    """What a letter needs to know of its recipient's settings."""

    @property
    def language(self) -> str: ...

    @property
    def time_zone(self) -> str: ...


class Letter:
    """One mail to one person, in her language."""

    def __init__(self, settings: Settings, user: User, reader: Reader) -> None:
        self.settings = settings
        self.user = user
        self.language = reader.language or "en"
        self.tr: NullTranslations = translations(self.language)
        try:
            self.zone = zone(reader.time_zone or settings.time_zone)
        except ValueError:
            self.zone = zone(settings.time_zone)

    def _(self, message: str, **values: object) -> str:
        text = self.tr.gettext(message)
        return text % values if values else text

    def title(self, info: RequestInfo) -> str:
        """The request's one-line title: ``check-in of team/app@1.0.0``."""
        tr = self.tr
        titles = {
            "upgrade": tr.gettext("upgrade to %(ref)s"),
            "acceptance": tr.gettext("acceptance of %(ref)s"),
            "checkin": tr.gettext("check-in of %(ref)s"),
            "checkout": tr.gettext("check-out of %(ref)s"),
            "register": tr.gettext("registration of %(ref)s"),
        }
        return titles.get(info.kind, "%(ref)s") % {"ref": info.ref}

    def message(self, subject: str, lines: list[str]) -> EmailMessage:
        """The mail, addressed to the recipient."""
        message = EmailMessage()
        message["From"] = self.settings.smtp_from
        message["To"] = formataddr((self.user.display_name or self.user.username, self.user.email))
        message["Subject"] = subject
        message["Message-ID"] = make_msgid(domain="depot")
        message["Auto-Submitted"] = "auto-generated"
        message.set_content("\n".join(lines) + "\n")
        message["Content-Language"] = self.language  # after set_content, which clears it
        return message

    def link(self, info: RequestInfo) -> str:
        return f"{self.settings.effective_public_url}/requests/{info.id}"

    def awaiting(
        self, info: RequestInfo, *, reminder: bool, waited: timedelta | None = None
    ) -> EmailMessage:
        """ "#5 check-in of team/app@1.0.0 waits for your decision" (or its reminder)."""
        title = self.title(info)
        if reminder and waited is not None:
            days = max(1, waited.days)
            subject = self.tr.ngettext(
                "[Depot] Reminder: #%(id)s %(title)s has waited %(num)d day for your decision",
                "[Depot] Reminder: #%(id)s %(title)s has waited %(num)d days for your decision",
                days,
            ) % {"id": info.id, "title": title, "num": days}
        else:
            subject = self._(
                "[Depot] #%(id)s %(title)s waits for your decision", id=info.id, title=title
            )
        lines = [
            self._("Hello %(name)s,", name=self.user.display_name or self.user.username),
            "",
            self._(
                "%(who)s filed request #%(id)s, the %(title)s, on %(when)s. You may decide it.",
                who=info.requester,
                id=info.id,
                title=title,
                when=shown(info.created_at, self.zone),
            ),
            *self.what(info),
            "",
            self._("Open it: %(link)s", link=self.link(info)),
        ]
        return self.message(subject, lines)

    def decided(self, info: RequestInfo) -> EmailMessage:
        """ "#5 check-in of team/app@1.0.0: approved by victor"."""
        approved = info.state == RequestState.APPROVED.value
        if info.kind == "acceptance":
            verb = self._("passed") if approved else self._("failed")
        else:
            verb = self._("approved") if approved else self._("refused")
        by = info.decided_by or "?"
        if info.decided_for:
            by = self._("%(who)s for %(whom)s", who=by, whom=info.decided_for)
        title = self.title(info)
        subject = self._(
            "[Depot] #%(id)s %(title)s: %(verb)s by %(by)s",
            id=info.id,
            title=title,
            verb=verb,
            by=by,
        )
        lines = [
            self._("Hello %(name)s,", name=self.user.display_name or self.user.username),
            "",
            self._(
                "Your request #%(id)s, the %(title)s, was %(verb)s by %(by)s on %(when)s.",
                id=info.id,
                title=title,
                verb=verb,
                by=by,
                when=shown(info.decided_at, self.zone),
            )
            if info.decided_at
            else self._(
                "Your request #%(id)s, the %(title)s, was %(verb)s by %(by)s.",
                id=info.id,
                title=title,
                verb=verb,
                by=by,
            ),
        ]
        if info.comment:
            lines += ["", self._("Comment: %(text)s", text=info.comment)]
        if info.expires_at:
            lines += [
                "",
                self._(
                    "You may download it until %(when)s.", when=shown(info.expires_at, self.zone)
                ),
            ]
        lines += ["", self._("Open it: %(link)s", link=self.link(info))]
        return self.message(subject, lines)

    def what(self, info: RequestInfo) -> list[str]:
        """The lines that say what the request is for."""
        details = info.details
        labels = {
            "reason": self._("Reason"),
            "scope": self._("Scope"),
            "purpose": self._("Purpose"),
            "release_notes": self._("Release notes"),
            "comment": self._("Comment"),
        }
        lines = []
        for key, label in labels.items():
            value = str(details.get(key) or "").strip()
            if value:
                lines.append(f"{label}: {value[:500]}")
        if info.kind == "checkout" and details.get("days"):
            lines.append(self._("Days: %(days)s", days=details["days"]))
        return ["", *lines] if lines else []
