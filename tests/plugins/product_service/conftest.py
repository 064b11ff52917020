"""A Depot with the product-service module: ``team/app@1.0.0`` checked in on Saturday
2026-11-28 at 09:00 UTC (the test clock's start); alice (software manager), bob (member),
carol (acceptance officer) in ``team``; victor (version manager); dave in ``other`` with
``other/tool@2.0`` (a draft); tom and ann, technicians with an account and no group."""

from __future__ import annotations

from typing import Any

import pytest

from tests.plugins.conftest import MakeWorld
from tests.repo_server.test_lifecycle import check_in, submit_and_accept
from tests.support import World

#: Tuesday 2026-12-01 is a holiday in these tests.
HOLIDAYS = ["2026-12-01"]


def build(world: World) -> World:
    for name in ("alice", "bob", "carol", "dave", "tom", "ann"):  # tom, ann: technicians
        world.user(name)
    world.user("victor", roles=("version_manager",))
    world.group(
        "team",
        {"alice": ("member", "software_manager"), "bob": "member", "carol": "acceptance_officer"},
    )
    world.group("other", {"dave": ("member", "software_manager")})
    world.product("team", "app", world.tokens["alice"])
    world.version("team", "app", "1.0.0", world.tokens["alice"])
    assert (
        world.upload("team/app@1.0.0", "app.tar.gz", b"build", world.tokens["bob"]).status_code
        == 201
    )
    submit_and_accept(world)
    check_in(world)
    world.product("other", "tool", world.tokens["dave"])
    world.version("other", "tool", "2.0.0", world.tokens["dave"])
    return world


@pytest.fixture
def svc(make_world: MakeWorld) -> World:
    return build(make_world("product_service", product_service={"holidays": HOLIDAYS}))


def ticket_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "group": "team",
        "product": "app",
        "version": "1.0.0",
        "kind": "complaint",
        "channel": "phone",
        "customer": "Bank of Example, Shanghai branch",
        "contact": "Li Wei",
        "contact_phone": "+86 21 5555 0100",
        "description": "The nightly batch stops at step 4.",
    }
    body.update(overrides)
    return body
