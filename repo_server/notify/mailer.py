"""Sending mail through the bank's relay (smtplib), counted and logged, never raising.

A relay that is down, refuses the connection, the sign-in or a recipient costs only the
mail: the failure is a warning in the log and is counted through :attr:`Mailer.count`
(the app counts it in ``depot_mail_messages_total{outcome="failed"}``, see
repo_server/observability); whatever the mail was about stands.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Callable, Sequence
from email.message import EmailMessage
from pathlib import Path

from repo_server.settings import Settings

log = logging.getLogger("depot.mail")


def _uncounted(outcome: str, count: int) -> None:
    return None


class Mailer:
    """The relay of ``settings`` (``smtp_host`` empty: mail is off)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        #: Told ``("sent" | "failed", how many)`` after each attempt (the app's metrics).
        self.count: Callable[[str, int], None] = _uncounted

    @property
    def enabled(self) -> bool:
        """Whether a relay is configured."""
        return bool(self.settings.smtp_host)

    def _password(self) -> str:
        if self.settings.smtp_password_file:
            return Path(self.settings.smtp_password_file).read_text().strip()
        return self.settings.smtp_password

    def send(self, messages: Sequence[EmailMessage]) -> int:
        """Send ``messages`` over one connection; how many the relay took. Never raises."""
        if not self.enabled or not messages:
            return 0
        settings = self.settings
        sent = 0
        try:
            with smtplib.SMTP(
                settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout
            ) as smtp:
                if settings.smtp_starttls:
                    smtp.starttls(
                        context=ssl.create_default_context(cafile=settings.smtp_ca_file or None)
                    )
                if settings.smtp_user:
                    smtp.login(settings.smtp_user, self._password())
                for message in messages:
                    if "From" not in message:
                        message["From"] = settings.smtp_from
                    try:
                        smtp.send_message(message)
                    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPResponseException) as error:
                        self._lost(1, message["To"], error)
                        continue
                    sent += 1
                    self.count("sent", 1)
        except (OSError, smtplib.SMTPException) as error:
            self._lost(len(messages) - sent, settings.smtp_host, error)
        return sent

    def _lost(self, count: int, where: str, error: Exception) -> None:
        if count <= 0:
            return
        self.count("failed", count)
        log.warning(
            "mail not sent: %d message(s) to %s: %s: %s",
            count,
            where,
            type(error).__name__,
            error,
        )
