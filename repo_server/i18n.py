"""The languages of the pages and the mail, and the person's time zone.

The catalogs are gettext files under ``repo_server/translations`` (``messages.po`` is the
source people edit, ``messages.mo`` its compiled form, both kept in the repository so
that a fresh clone runs as is; ``make translations`` extracts, updates and compiles them,
and tests/repo_server/test_translations.py fails when they drift). The pages use them
through Flask-Babel (:mod:`repo_server.web.language`); the mail, sent outside any
request, through :func:`translations`.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.support import NullTranslations, Translations

from repo_server.errors import N_

#: Where the catalogs live (one folder per locale, gettext's layout).
TRANSLATIONS = Path(__file__).parent / "translations"

#: The languages Depot speaks, as a person sets them (BCP 47) and their catalog's locale.
LANGUAGES = {"en": "en", "zh-CN": "zh_Hans_CN"}

#: The language of everything when nobody said otherwise.
DEFAULT_LANGUAGE = "en"


def locale_of(language: str) -> str:
    """The catalog locale of ``language`` (``zh-CN`` → ``zh_Hans_CN``, as Babel names it);
    English for unknown ones."""
    return LANGUAGES.get(language, LANGUAGES[DEFAULT_LANGUAGE])


def best_language(offered: list[tuple[str, float]]) -> str:
    """The language to use for an ``Accept-Language`` list of (tag, quality), best first:
    the first Chinese or English tag (any ``zh`` counts as ``zh-CN``), else English."""
    for tag, quality in sorted(offered, key=lambda pair: -pair[1]):
        if quality <= 0:
            continue
        primary = tag.lower().split("-")[0]
        if primary == "zh":
            return "zh-CN"
        if primary == "en":
            return "en"
    return DEFAULT_LANGUAGE


@functools.cache
def translations(language: str) -> NullTranslations:
    """The catalog of ``language`` (English: the messages as written)."""
    locale = locale_of(language)
    if locale == "en":
        return NullTranslations()
    return Translations.load(str(TRANSLATIONS), [locale])


def check_language(language: str) -> str:
    """``language`` if Depot speaks it ("" means: no setting); ``ValueError`` otherwise."""
    if language and language not in LANGUAGES:
        raise ValueError(
            N_(
                "unknown language '%(language)s': use one of %(languages)s",
                language=language,
                languages=", ".join(LANGUAGES),
            )
        )
    return language


def zone(name: str) -> tzinfo:
    """The time zone named ``name`` (IANA, e.g. ``Asia/Shanghai``); ``ValueError`` when
    there is none of that name (its message made with ``N_``, for the pages). ``""`` and
    ``UTC`` are UTC."""
    if not name or name == "UTC":
        return UTC
    if "\x00" in name or ".." in name or name.startswith("/") or len(name) > 64:
        raise ValueError(N_("unknown time zone '%(zone)s'", zone=name))
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            N_("unknown time zone '%(zone)s': use an IANA name such as Asia/Shanghai", zone=name)
        ) from None


def local_time(moment: datetime, where: tzinfo) -> datetime:
    """``moment`` (stored in UTC, naive or aware) as the clock reads in ``where``."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(where)


def shown(moment: datetime | None, where: tzinfo, *, seconds: bool = False) -> str:
    """``2026-12-03 21:05 CST``: a moment as a person reads it in their zone."""
    if moment is None:
        return ""
    local = local_time(moment, where)
    text = local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    return f"{text} {local.tzname() or ''}".rstrip()
