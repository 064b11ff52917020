"""Fixtures and helpers for the quality module's tests."""

from __future__ import annotations

import hashlib

import pytest

from tests.fixtures import factories
from tests.fixtures.factories import populate_lib
from tests.plugins.conftest import MakeWorld
from tests.support import World

# ``vpath`` and ``api`` are the shared factories' ``ref_path`` and ``api``.
vpath = factories.ref_path
api = factories.api


def push(
    w: World, ref: str, name: str, data: bytes, who: str = "bob", build_id: str = "", role: str = ""
) -> None:
    """Upload ``data`` as ``name`` to ``ref`` with build provenance ``build_id``."""
    query = f"?build_id={build_id}" if build_id else (f"?role={role}" if role else "")
    response = w.call(
        "PUT",
        f"{vpath(ref)}/files/{name}{query}",
        w.tokens[who],
        data=data,
        headers={"X-Checksum-Sha256": hashlib.sha256(data).hexdigest()},
    )
    assert response.status_code == 201, response.json


def make_version(w: World, ref: str) -> None:
    """Create the product (if new) and the draft version ``ref`` in group ``team``."""
    group, rest = ref.split("/", 1)
    product, version = rest.split("@", 1)
    products = api(w, "alice", "GET", f"/api/v1/groups/{group}/products")
    names = {p["name"] for p in products.get("products", [])}
    if product not in names:
        w.product(group, product, w.tokens["alice"])
    w.version(group, product, version, w.tokens["alice"])


def check_in(w: World, ref: str) -> None:
    """Bring draft ``ref`` (files by bob) into the library: accepted by carol, checked in
    by alice, approved by victor."""
    factories.accept(w, ref)
    factories.check_in(w, ref, release_notes="r", comment="ok")


def check_out(w: World, ref: str, who: str = "alice", *, approve: bool = True) -> int:
    """File a check-out of ``ref`` for ``who`` (approved by victor unless told); its id."""
    return factories.check_out(w, ref, who, approver="victor" if approve else None)


def populate(w: World) -> World:
    """The ``lib`` people and ``team/app@1.0.0``, plus quinn (quality manager) and a
    pipeline token ``ci`` of ``team``."""
    populate_lib(w)
    w.user("quinn", roles=("quality_manager",))
    ci = api(w, "alice", "POST", "/api/v1/tokens", {"group": "team", "scope": "upload"}, 201)
    w.tokens["ci"] = ci["token"]
    return w


@pytest.fixture
def q(make_world: MakeWorld) -> World:
    """A Depot (SQLite and PostgreSQL) with the quality module and the ``lib`` people."""
    return populate(make_world("quality"))
