"""The pages in the person's language and time zone (Flask-Babel over the catalogs of
:mod:`repo_server.i18n`).

The language is the person's own setting (``depot notify set --language``, or the form on
the settings page), else the browser's ``Accept-Language``, else English; the time zone is
the person's setting, else the server's ``time_zone``. Templates show moments with the
``when`` filter (``{{ r.created_at|when }}``), days with ``day`` and waiting times with
``age``.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from flask import Flask, current_app, g, request
from flask_babel import Babel, format_timedelta
from flask_login import current_user

from repo_server.core import Depot
from repo_server.i18n import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    TRANSLATIONS,
    best_language,
    local_time,
    shown,
    zone,
)
from repo_server.notify.services import Preferences
from repo_server.web.session import page_principal


def _depot() -> Depot:
    found: Depot = current_app.extensions["depot"]
    return found


def _preferences() -> Preferences | None:
    """The signed-in person's settings, read once a request (``None``: nobody signed in)."""
    if "_login_user" not in g:
        # Asked while flask-login is still loading the person (a flash of the loader):
        # the browser's language, and ask again once she is loaded.
        return None
    if "person_settings" not in g:
        found = None
        if current_user.is_authenticated:
            me = page_principal()
            if me.user_id is not None:
                found = _depot().notify.settings_of(me)
        g.person_settings = found
    settings: Preferences | None = g.person_settings
    return settings


def page_language() -> str:
    """The language of this page: the person's setting, the browser's, or English."""
    prefs = _preferences()
    if prefs is not None and prefs.language in LANGUAGES:
        return prefs.language
    if request:
        return best_language(list(request.accept_languages))
    return DEFAULT_LANGUAGE


def page_zone() -> tzinfo:
    """The time zone of this page's dates."""
    prefs = _preferences()
    name = prefs.time_zone if prefs is not None and prefs.time_zone else ""
    try:
        return zone(name or _depot().settings.time_zone)
    except ValueError:  # a zone the server no longer knows: the server's own
        return zone(_depot().settings.time_zone)


def _locale() -> str:
    return LANGUAGES[page_language()]


def _timezone() -> str:
    return str(page_zone())


def _moment(moment: datetime | str | None) -> datetime | None:
    """A stored moment, or its RFC 3339 text as the API answers it (``...Z``); ``None`` and
    ``""`` are no moment."""
    if isinstance(moment, str):
        return datetime.fromisoformat(moment) if moment else None
    return moment


def when(moment: datetime | str | None, seconds: bool = False) -> str:
    """A stored moment (or its RFC 3339 text) as this person reads it:
    ``2026-12-03 21:05 CST``."""
    return shown(_moment(moment), page_zone(), seconds=seconds)


def day(moment: datetime | str | None) -> str:
    """The day of a stored moment (or its RFC 3339 text) in this person's zone:
    ``2026-12-03``."""
    found = _moment(moment)
    return "" if found is None else local_time(found, page_zone()).strftime("%Y-%m-%d")


def age(moment: datetime | None) -> str:
    """How long ago ``moment`` was, in words of the page's language ("3 days", "3天")."""
    if moment is None:
        return ""
    now = _depot().clock.now()
    return str(format_timedelta(now - local_time(moment, page_zone()), threshold=1.1))


def install(app: Flask) -> None:
    """Set up the pages' languages and time zones on ``app``."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "en")
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    Babel(app, locale_selector=_locale, timezone_selector=_timezone)
    app.jinja_env.filters.update(when=when, day=day, age=age)

    @app.context_processor
    def _language() -> dict[str, object]:
        return {"html_lang": page_language()}
