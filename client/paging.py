"""Following the server's page cursors for the listing commands (``--limit N``, ``--all``).

Every listing of the API answers one page and a ``next`` cursor (``null`` on the last
page). A command shows the first page by default (the server's page size), at most N rows
with ``--limit N``, or every row with ``--all``, and says on stderr when it stopped before
the end, so that a listing is never cut short without a word.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from client.output import Output

#: The largest page the server hands out (``limit`` above it is a 400).
MAX_PAGE = 500

F = TypeVar("F", bound=Callable[..., Any])


def page_options(command: F, *, every: str = "--all") -> F:
    """The ``--limit`` and ``--all`` options of a listing command (``every`` renames
    ``--all`` where a command already uses it for something else: ``--all-pages``)."""
    command = click.option(
        every,
        "all_pages",
        is_flag=True,
        help="Every row: follow the server's pages to the end.",
    )(command)
    return click.option(
        "--limit",
        type=click.IntRange(min=1),
        default=None,
        help="At most this many rows (default: the server's first page).",
    )(command)


def page_options_all_pages(command: F) -> F:
    """:func:`page_options` with ``--all-pages`` (for commands whose ``--all`` says which
    rows: ``depot group list --all``, ``depot requests --all``)."""
    return page_options(command, every="--all-pages")


def collect(
    get: Callable[..., Any],
    key: str,
    *,
    limit: int | None,
    all_pages: bool,
    output: Output | None = None,
    **params: Any,
) -> list[Any]:
    """The rows under ``key`` of the listing ``get(**params)`` answers, page after page.

    ``get`` is a GET of the listing (``lambda **q: api.get(path, **q)``). With neither
    ``limit`` nor ``all_pages``, one page; a note on ``output`` says when there are more.
    """
    rows: list[Any] = []
    cursor: str | None = None
    while True:
        left = None if limit is None else limit - len(rows)
        size = min(left, MAX_PAGE) if left is not None else MAX_PAGE if all_pages else None
        answer = get(**params, limit=size, cursor=cursor)
        rows.extend(answer[key])
        cursor = answer.get("next")
        done = cursor is None or (limit is not None and len(rows) >= limit)
        if done or (limit is None and not all_pages):
            break
    if cursor is not None and output is not None:
        output.note(f"{len(rows)} shown, there are more: --limit N or --all shows them")
    return rows
