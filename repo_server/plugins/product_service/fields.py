"""Reading what people send to the service module: ticket numbers, text, choices, dates
and scores, each refused with a 400 naming its field."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from repo_server.plugin_api import MAX_INTEGER, N_, InvalidRequest, NotFound

NUMBER = re.compile(r"(?i)^s-?(\d{1,12})$|^(\d{1,12})$")
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE = re.compile(r"^\+?[0-9][0-9 ()./-]{2,40}$")


def ticket_number(text: str) -> int:
    """The id in ``S-12`` (or ``12``); a 404 for anything else."""
    found = NUMBER.match(text.strip())
    number = int(found.group(1) or found.group(2)) if found else 0
    if not 0 < number <= MAX_INTEGER:  # beyond the database's integer: no such ticket
        raise NotFound(
            N_("ticket %(ticket)r not found (ticket numbers look like S-12)", ticket=text)
        )
    return number


# -- reading what people sent -------------------------------------------------------------


def text_field(
    fields: Mapping[str, Any], name: str, *, limit: int = 200, required: bool = True
) -> str:
    """``fields[name]`` as trimmed text: a 400 naming the field when missing, not text or
    too long."""
    value = fields.get(name)
    if value is None or value == "":
        if required:
            raise InvalidRequest(N_("missing field '%(field)s'", field=name), field=name)
        return ""
    if not isinstance(value, str):
        raise InvalidRequest(N_("field '%(field)s' must be text", field=name), field=name)
    value = value.strip()
    if required and not value:
        raise InvalidRequest(N_("field '%(field)s' must not be blank", field=name), field=name)
    if len(value) > limit:
        raise InvalidRequest(
            N_("field '%(field)s' is longer than %(limit)d characters", field=name, limit=limit),
            field=name,
        )
    return value


def choice(fields: Mapping[str, Any], name: str, allowed: tuple[str, ...]) -> str:
    value = text_field(fields, name, limit=32)
    if value not in allowed:
        raise InvalidRequest(
            N_(
                "field '%(field)s' must be one of %(allowed)s, not %(value)r",
                field=name,
                allowed=", ".join(allowed),
                value=value,
            ),
            field=name,
        )
    return value


def date_field(fields: Mapping[str, Any], name: str) -> date | None:
    value = text_field(fields, name, limit=10, required=False)
    if not value:
        return None
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidRequest(
            N_(
                "field '%(field)s' must be a date such as 2026-11-01, not %(value)r",
                field=name,
                value=value,
            ),
            field=name,
        ) from None


def score_field(fields: Mapping[str, Any]) -> int:
    value = fields.get("score")
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())  # from a page's form
    if value is None or value == "":
        raise InvalidRequest(N_("missing field '%(field)s'", field="score"), field="score")
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
        raise InvalidRequest(N_("field 'score' must be a whole number from 1 to 5"), field="score")
    return value
