"""A Depot with the product-service module: ``team/app@1.0.0`` checked in on Saturday
2026-11-28 at 09:00 UTC (the test clock's start); alice (software manager), bob (member),
carol (acceptance officer) in ``team``; victor (version manager); dave in ``other`` with
``other/tool@2.0`` (a draft); tom and ann, technicians with an account and no group.

Service roles (granted by each group's software manager, no membership needed): bob is
the clerk of ``team``, tom and ann its technicians, sue its supervisor (no group); dave
the clerk of ``other``; kim has an account and no role yet; audrey is an auditor."""

from __future__ import annotations

from typing import Any

import pytest

from tests.plugins.conftest import MakeWorld
from tests.repo_server.test_lifecycle import check_in, submit_and_accept
from tests.support import World

#: Tuesday 2026-12-01 is a holiday in these tests.
HOLIDAYS = ["2026-12-01"]


def build(world: World) -> World:
    for name in ("alice", "bob", "carol", "dave", "tom", "ann", "sue", "kim"):
        world.user(name)
    world.user("victor", roles=("version_manager",))
    world.user("audrey", roles=("auditor",))
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
    for manager, group, who, role in STAFF:
        grant(world, manager, group, who, role)
    return world


#: (granted by, group, person, service role)
STAFF = (
    ("alice", "team", "bob", "clerk"),
    ("alice", "team", "tom", "technician"),
    ("alice", "team", "ann", "technician"),
    ("alice", "team", "sue", "supervisor"),
    ("dave", "other", "dave", "clerk"),
)


def grant(world: World, manager: str, group: str, who: str, role: str, status: int = 201) -> Any:
    """``manager`` gives ``who`` the service ``role`` in ``group`` (the API's answer)."""
    response = world.call(
        "POST",
        f"/api/v1/service/roles/{group}",
        world.tokens[manager],
        json={"username": who, "role": role},
    )
    assert response.status_code == status, response.get_data(as_text=True)
    return response.json


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
