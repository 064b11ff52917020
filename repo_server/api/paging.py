"""Paged listings at the HTTP edge: ``limit`` and ``cursor`` in, ``next`` and ``Link`` out.

Declared once here, for the core's routes and (through the plugin API) the plugins':

- :class:`PageQuery`, the base of every listing's query model (``limit`` with its default
  and maximum: above it is a 400 naming ``limit``; ``cursor``, opaque);
- :class:`Paged`, the base of every listing's answer (``next``: the cursor of the next
  page, ``null`` on the last);
- :func:`paged`, the listing's :class:`Reply`, documenting the RFC 8288 ``Link`` header;
- :func:`page_request` and :func:`answer`, which a handler calls around its service.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from flask import current_app, request
from pydantic import BaseModel, Field, ValidationError

from repo_server.api.contract import Header, Reply, invalid
from repo_server.api.schemas.common import Out, Query
from repo_server.paging import DEFAULT_LIMIT, MAX_LIMIT, Cursors, Page, PageRequest

LINK = Header(
    'RFC 8288: `<the same listing with the next cursor>; rel="next"`, absent on the last page'
)


class PageQuery(Query):
    """A page of a listing: at most ``limit`` rows, after ``cursor`` (the ``next`` of the
    page before; absent for the first page)."""

    limit: Annotated[
        int,
        Field(
            ge=1,
            le=MAX_LIMIT,
            description=f"rows per page (default {DEFAULT_LIMIT}, at most {MAX_LIMIT})",
        ),
    ] = DEFAULT_LIMIT
    cursor: Annotated[
        str,
        Field(
            max_length=2000,
            description="the `next` of the previous page, as it came (opaque, signed); "
            "absent or empty: the first page",
        ),
    ] = ""


class Paged(Out):
    """A page of a listing; ``next`` continues it (``null``: this is the last page)."""

    next: str | None = Field(description="cursor of the next page; null on the last page")


def paged(model: type[BaseModel], description: str = "one page") -> Reply:
    """The successful answer of a listing: ``model`` (a :class:`Paged`) and its ``Link``."""
    return Reply(model, description, headers={"Link": LINK})


def requested_page() -> PageRequest:
    """The page a web page's query string asks for (a 400 if ``limit`` or ``cursor`` is bad)."""
    try:
        query = PageQuery.model_validate(request.args.to_dict())
    except ValidationError as error:
        raise invalid(error) from None
    return page_request(query)


def page_request(query: PageQuery) -> PageRequest:
    """What the service is asked for, with the server's cursor signer."""
    return PageRequest(query.limit, query.cursor or None, cursors())


def cursors() -> Cursors:
    """The cursor signer of the running app (its secret key)."""
    return Cursors(str(current_app.config["SECRET_KEY"]))


#: What a listing's handler returns: the body, 200, and the ``Link`` header.
Answer = tuple[dict[str, Any], int, dict[str, str]]


def answer(body: dict[str, Any], page: Page[Any]) -> Answer:
    """``body`` with the page's ``next``, and the ``Link`` header to it (if any)."""
    headers = {}
    if page.next is not None:
        headers["Link"] = f'<{next_url(page.next)}>; rel="next"'
    return {**body, "next": page.next}, 200, headers


def next_url(cursor: str) -> str:
    """This request's path and query with ``cursor`` replaced (relative: proxy-safe); the
    pages' "next" and "previous" links too."""
    args = [(k, v) for k, v in request.args.items(multi=True) if k != "cursor"]
    return f"{request.path}?{urlencode([*args, ('cursor', cursor)])}"
