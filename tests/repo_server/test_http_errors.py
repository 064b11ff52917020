"""One mapping of errors to HTTP (``repo_server/http_errors.py``), for the API and the pages.

A test plugin's API route and page raise the same errors — a rule's ``PolicyError``, a
``DepotError`` with its rule, a blob store that is down, a bug — and each answers with the
same status: JSON ``{"error", "message", ...}`` on the API, the error page on a page.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest
from flask import Blueprint

from policies.errors import PolicyError
from repo_server.app import create_app
from repo_server.clock import FrozenClock
from repo_server.core import build_depot
from repo_server.plugin_api import Forbidden, PluginContext, PluginRoutes, hookimpl
from storage import StorageUnavailable
from tests.repo_server.test_plugin_extensions import sign_in_page
from tests.support import World, make_settings

FAILURES = {
    "rule": (400, "invalid_request", "version 'x' is not a version"),
    "refused": (403, "forbidden", "not while the audit runs"),
    "store": (503, "unavailable", "the blob store is unavailable; try again later"),
    "bug": (500, "internal_error", "internal server error; the incident is logged"),
}


def fail(kind: str) -> NoReturn:
    if kind == "rule":
        raise PolicyError("version", "version 'x' is not a version")
    if kind == "refused":
        raise Forbidden("not while the audit runs", rule="audit.freeze")
    if kind == "store":
        raise StorageUnavailable("connection refused")
    raise RuntimeError("a bug")


class Failing:
    """An API route and a page that raise the error their URL names."""

    def __init__(self, context: PluginContext) -> None:
        self.context = context

    @hookimpl
    def depot_routes(self) -> PluginRoutes:
        api = Blueprint("failing_api", __name__, url_prefix="/failing")
        pages = Blueprint("failing_pages", __name__, url_prefix="/failing")

        @api.get("/<kind>")
        def api_fail(kind: str) -> NoReturn:
            fail(kind)

        @pages.get("/<kind>")
        def page_fail(kind: str) -> NoReturn:
            fail(kind)

        return PluginRoutes(api=api, pages=pages)


@pytest.fixture
def failing(tmp_path: Path, database_url: str, clock: FrozenClock) -> Iterator[World]:
    settings = make_settings(tmp_path, database_url)
    depot = build_depot(settings, clock=clock)
    depot.plugins.register(Failing, "failing")
    world = World(create_app(settings, depot=depot), clock)
    world.user("bob")
    try:
        yield world
    finally:
        depot.close()


def test_an_error_answers_json_on_the_api_and_the_error_page_on_a_page(failing: World) -> None:
    sign_in_page(failing, "bob")
    for kind, (status, code, message) in FAILURES.items():
        api = failing.call("GET", f"/api/v1/failing/{kind}", failing.tokens["bob"])
        assert api.status_code == status, (kind, api.get_data(as_text=True))
        assert api.json is not None and (api.json["error"], api.json["message"]) == (code, message)
        page = failing.client.get(f"/failing/{kind}")
        text = page.get_data(as_text=True)
        assert page.status_code == status, (kind, text)
        assert page.mimetype == "text/html", (kind, text)
        assert message.replace("'", "&#39;") in text and "Back to the start" in text
    refused = failing.call("GET", "/api/v1/failing/refused", failing.tokens["bob"]).json
    assert refused is not None and refused["rule"] == "audit.freeze"
    assert "Rule: audit.freeze" in failing.client.get("/failing/refused").get_data(as_text=True)
    assert failing.call("GET", "/api/v1/failing/rule").json["field"] == "version"  # type: ignore[index]


def test_the_core_pages_and_api_share_the_mapping(failing: World) -> None:
    sign_in_page(failing, "bob")
    page = failing.client.get("/requests/4242")
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert "Not found" in page.get_data(as_text=True)
    api = failing.call("GET", "/api/v1/requests/4242", failing.tokens["bob"])
    assert api.status_code == 404 and api.json is not None and api.json["error"] == "not_found"
    nowhere = failing.client.get("/no/such/page")
    assert nowhere.status_code == 404 and nowhere.json is not None  # no blueprint: JSON
