"""What a plugin adds besides hooks: API routes and pages mounted by the host, top-bar
links, panels on the version page, and the core's facts through its PluginContext; and a
block that cuts a download in flight.

The plugins here are test plugins defined in this file; the business modules have their
own tests under tests/plugins.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Blueprint, render_template_string
from markupsafe import Markup

from repo_server.app import create_app
from repo_server.artifacts.transfers import DownloadStopped
from repo_server.clock import FrozenClock
from repo_server.core import build_depot
from repo_server.plugin_api import (
    ApiBlueprint,
    Block,
    Body,
    Caller,
    NavLink,
    Panel,
    PluginContext,
    PluginRoutes,
    Reply,
    VersionRef,
    hookimpl,
)
from tests.fixtures.factories import populate_lib
from tests.repo_server.test_lifecycle import V, call, check_in, submit_and_accept
from tests.support import PASSWORD, World, init_keys, make_settings


class NewNote(Body):
    """A note on a version."""

    text: str


class Notes:
    """Notes on versions: an API route, a page, a top-bar link and a version panel."""

    def __init__(self, context: PluginContext) -> None:
        self.context = context
        self.notes: dict[str, list[str]] = {}
        self.stopped: dict[str, str] = {}

    @hookimpl
    def depot_routes(self) -> PluginRoutes:
        api = ApiBlueprint("notes_api", __name__, url_prefix="/notes")
        pages = Blueprint("notes_pages", __name__, url_prefix="/notes")

        @api.operation("POST", "/<group>/<product>/<version>", body=NewNote, replies={201: Reply()})
        def add(group: str, product: str, version: str, body: NewNote) -> Any:
            """Add a note to a version."""
            caller = self.context.caller()
            facts = self.context.version(caller, group, product, version)
            text = body.text
            with self.context.write() as session:
                self.context.record(
                    session, caller, "notes.add", target=str(facts.ref), details={"text": text}
                )
            self.notes.setdefault(str(facts.ref), []).append(text)
            return {"version": facts.to_json(), "notes": self.notes[str(facts.ref)]}, 201

        @api.operation("GET", "/batch/<build_id>", replies={200: Reply()})
        def batch(build_id: str) -> Any:
            """The versions of a build."""
            self.context.caller()
            found = self.context.versions_of_build([build_id])
            return {"versions": [str(v.ref) for v in found]}

        @pages.get("/")
        def index() -> str:
            caller = self.context.caller()
            return render_template_string(
                '{% extends "base.html" %}{% block content %}'
                "<h1>Notes for {{ who }}</h1>{% endblock %}",
                who=caller.username,
            )

        return PluginRoutes(api=api, pages=pages, nav=[NavLink("Notes", "notes_pages.index")])

    @hookimpl
    def depot_version_panels(self, version: VersionRef, caller: Caller) -> list[Panel]:
        if str(version) == "team/app@9.9.9":
            raise RuntimeError("the notes store is down")
        items = Markup("").join(
            Markup("<li>{}</li>").format(n) for n in self.notes.get(str(version), [])
        )
        return [Panel("Notes", Markup("<ul>{}</ul><p>for {}</p>").format(items, caller.username))]

    @hookimpl
    def depot_version_blocks(self, version: VersionRef) -> list[Block]:
        reason = self.stopped.get(str(version))
        return [Block("quality.serious_issue", reason)] if reason else []


@pytest.fixture
def noted(tmp_path: Path, database_url: str, clock: FrozenClock) -> Iterator[tuple[World, Notes]]:
    """The ``lib`` world of the server tests with the Notes plugin registered before the
    app is built (as the host does for an enabled plugin)."""
    settings = make_settings(tmp_path, database_url, download_recheck_seconds=0)
    depot = build_depot(settings, clock=clock)
    depot.plugins.register(Notes, "notes")
    world = World(create_app(settings, depot=depot), clock)
    init_keys(world, depot, clock)
    try:
        yield populate_lib(world), depot.plugins.manager.get_plugin("notes")
    finally:
        depot.close()


def sign_in_page(world: World, username: str) -> None:
    form = world.client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form)
    assert token, form
    response = world.client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)},
    )
    assert response.status_code == 302, response.get_data(as_text=True)


def test_a_plugin_route_answers_with_the_core_caller_facts_and_errors(
    noted: tuple[World, Notes],
) -> None:
    lib, _ = noted
    path = "/api/v1/notes/team/app/1.0.0"
    added = lib.call("POST", path, lib.tokens["bob"], json={"text": "works on RHEL 9"})
    assert added.status_code == 201, added.json
    version = added.json["version"]
    assert (version["ref"], version["state"], version["origin"]) == (
        "team/app@1.0.0",
        "draft",
        "in_house",
    )
    assert version["built_at"] is not None and version["checked_in_at"] is None
    [record] = lib.audit(action="notes.add")
    assert (record["actor"], record["rule"], record["target"]) == (
        "bob",
        "plugin.notes",
        "team/app@1.0.0",
    )
    # The core's answers: no credentials, a group the caller cannot see, bad input.
    anonymous = lib.call("POST", path, json={"text": "x"})
    assert anonymous.status_code == 401 and anonymous.json["error"] == "unauthorized"
    hidden = lib.call("POST", path, lib.tokens["dave"], json={"text": "x"})
    missing = lib.call(
        "POST", "/api/v1/notes/nope/app/1.0.0", lib.tokens["dave"], json={"text": "x"}
    )
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json["message"] == "group 'team' not found"
    bad = lib.call("POST", path, lib.tokens["bob"], json={"text": 7})
    assert bad.status_code == 400 and bad.json["field"] == "text"
    assert len(lib.audit(action="notes.add")) == 1


def test_a_build_batch_is_found_across_groups(noted: tuple[World, Notes]) -> None:
    lib, _ = noted
    lib.group("ops", {"dave": ("member", "software_manager")})
    lib.product("ops", "agent", lib.tokens["dave"])
    lib.version("ops", "agent", "3.1.0", lib.tokens["dave"])
    lib.version("team", "app", "1.1.0", lib.tokens["alice"])
    for ref, who, build in (
        ("ops/agent@3.1.0", "dave", "B-7"),
        ("team/app@1.1.0", "bob", "B-7"),
        ("team/app@1.0.0", "bob", "B-8"),
    ):
        group, rest = ref.split("/")
        product, version = rest.split("@")
        path = f"/api/v1/groups/{group}/products/{product}/versions/{version}/files/x.bin"
        response = lib.call(
            "PUT",
            f"{path}?build_id={build}",
            lib.tokens[who],
            data=b"x",
            headers={"X-Checksum-Sha256": __import__("hashlib").sha256(b"x").hexdigest()},
        )
        assert response.status_code == 201, response.json
    found = call(lib, "victor", "GET", "/api/v1/notes/batch/B-7")["versions"]
    assert found == ["ops/agent@3.1.0", "team/app@1.1.0"]


def test_pages_need_a_session_and_show_the_nav_link_and_the_version_panels(
    noted: tuple[World, Notes],
) -> None:
    lib, notes = noted
    away = lib.client.get("/notes/")
    assert away.status_code == 302 and "/login?next=/notes/" in away.headers["Location"]
    sign_in_page(lib, "bob")
    page = lib.client.get("/notes/").get_data(as_text=True)
    assert "<h1>Notes for bob</h1>" in page and 'href="/notes/"' in page
    notes.notes["team/app@1.0.0"] = ["<script>alert(1)</script>"]
    version_page = lib.client.get("/groups/team/app/1.0.0").get_data(as_text=True)
    assert 'aria-label="Notes"' in version_page and "for bob" in version_page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in version_page  # escaped
    # A plugin that fails on its panel: the page is shown, the box says so, it is audited.
    lib.version("team", "app", "9.9.9", lib.tokens["alice"])
    failing = lib.client.get("/groups/team/app/9.9.9")
    assert failing.status_code == 200
    assert "The notes module could not show its part." in failing.get_data(as_text=True)
    [failure] = lib.audit(action="plugin.error")
    assert "the notes store is down" in failure["reason"]


def test_a_quarantine_cuts_a_download_in_flight(noted: tuple[World, Notes]) -> None:
    lib, notes = noted
    big = bytes(range(256)) * (3 * 4096 + 17)  # three 1 MiB chunks and a little more
    assert lib.upload("team/app@1.0.0", "big.bin", big, lib.tokens["bob"]).status_code == 201
    submit_and_accept(lib)
    check_in(lib)
    call(lib, "alice", "POST", V + "/checkout", {"purpose": "deploy"}, 201)
    [pending] = call(lib, "victor", "GET", "/api/v1/requests?state=pending")["requests"]
    call(lib, "victor", "POST", f"/api/v1/requests/{pending['id']}/approve", {})
    response = lib.client.get(
        V + "/files/big.bin",
        headers={"Authorization": f"Bearer {lib.tokens['alice']}"},
        buffered=False,
    )
    assert response.status_code == 200
    chunks = iter(response.response)
    first = next(chunks)
    assert first == big[: len(first)]
    notes.stopped["team/app@1.0.0"] = "serious quality issue Q-4 confirmed"
    with pytest.raises(DownloadStopped, match="Q-4"):
        for _ in chunks:
            pass
    response.close()
    [cut] = [e for e in lib.audit(action="file.download") if e["outcome"] == "interrupted"]
    assert cut["actor"] == "alice" and cut["rule"] == "quality.serious_issue"
    assert cut["target"] == "team/app@1.0.0/big.bin"
    again = lib.call("GET", V + "/files/big.bin", lib.tokens["alice"])
    assert again.status_code == 403 and "Q-4" in again.json["message"]
