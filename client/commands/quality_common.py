"""What the `depot quality` command modules share: the module's API."""

from __future__ import annotations

from typing import Any

from client.context import Context
from client.errors import InputError
from client.modules import Module
from client.paging import collect

QUALITY = Module("quality", "/api/v1/quality", "quality")
call = QUALITY.call


def number(text: str) -> str:
    """``Q-12`` from ``Q-12``, ``q-12`` or ``12``; a usage error otherwise."""
    digits = text.strip().upper().removeprefix("Q-")
    if not (digits.isascii() and digits.isdigit()) or int(digits) < 1:
        raise InputError(f"{text!r} is not an issue number like Q-12")
    return f"Q-{int(digits)}"


def listed(
    ctx: Context, path: str, key: str, limit: int | None, all_pages: bool, **params: Any
) -> list[Any]:
    """The rows under ``key`` of the module's listing ``path``, paged as the options say."""
    api = ctx.api()
    return collect(
        lambda **q: call(api, "GET", path, **q),
        key,
        limit=limit,
        all_pages=all_pages,
        output=ctx.output,
        **params,
    )
