"""Registering products and creating versions."""

from __future__ import annotations

import pytest

from tests.support import World


def test_register_products(team: World) -> None:
    alice = team.tokens["alice"]
    r = team.call(
        "POST",
        "/api/v1/groups/team/products",
        alice,
        json={
            "name": "switch-os",
            "category": "device_network",
            "origin": "purchased",
            "vendor": "Huawei",
            "description": "Firmware of the core switches",
        },
    )
    assert r.status_code == 201
    assert (
        r.json["ref"] == "team/switch-os"
        and r.json["vendor"] == "Huawei"
        and r.json["version_count"] == 0
    )
    products = team.call("GET", "/api/v1/groups/team/products", team.tokens["bob"]).json["products"]
    assert [(p["name"], p["version_count"]) for p in products] == [("app", 1), ("switch-os", 0)]
    assert team.audit(action="product.register")[-1]["details"]["vendor"] == "Huawei"


@pytest.mark.parametrize(
    "body,field",
    [
        ({"name": "../x", "category": "system", "origin": "in_house"}, "name"),
        ({"name": "x", "category": "game", "origin": "in_house"}, "category"),
        ({"name": "x", "category": "system", "origin": "stolen"}, "origin"),
        ({"name": "x", "category": "system", "origin": "purchased"}, "vendor"),
        ({"name": "x", "category": "system", "origin": "in_house", "vendor": "Acme"}, "vendor"),
        ({"name": "x", "category": "system"}, "origin"),
    ],
)
def test_product_registration_is_checked(team: World, body: dict[str, str], field: str) -> None:
    r = team.call("POST", "/api/v1/groups/team/products", team.tokens["alice"], json=body)
    assert r.status_code == 400 and r.json["field"] == field


def test_product_names_are_unique_in_a_group(team: World) -> None:
    body = {"name": "app", "category": "application", "origin": "in_house"}
    assert (
        team.call("POST", "/api/v1/groups/team/products", team.tokens["bob"], json=body).status_code
        == 409
    )
    assert (
        team.call(
            "POST", "/api/v1/groups/other/products", team.tokens["dave"], json=body
        ).status_code
        == 201
    )


def test_versions_newest_first_by_semver(team: World) -> None:
    for version in ("1.10.0", "1.2.0", "2.0.0-rc.1", "2.0.0", "1.9.9"):
        team.version("team", "app", version, team.tokens["bob"])
    listed = team.call("GET", "/api/v1/groups/team/products/app/versions", team.tokens["bob"]).json[
        "versions"
    ]
    assert [v["version"] for v in listed] == [
        "2.0.0",
        "2.0.0-rc.1",
        "1.10.0",
        "1.9.9",
        "1.2.0",
        "1.0.0",
    ]
    assert {v["state"] for v in listed} == {"draft"}


@pytest.mark.parametrize(
    "version", ["v1.0.0", "1.0", "1.0.0.0", "01.0.0", "latest", "1.0.0/../2", "", "1" * 70]
)
def test_in_house_versions_are_semantic_versions(team: World, version: str) -> None:
    r = team.call(
        "POST",
        "/api/v1/groups/team/products/app/versions",
        team.tokens["bob"],
        json={"version": version},
    )
    assert r.status_code == 400 and r.json["field"] == "version", version


def test_vendor_versions_are_kept_verbatim(team: World) -> None:
    team.product("team", "router-fw", team.tokens["alice"], origin="purchased", vendor="Cisco")
    for version in ("V200R019C10SPC800", "12.2(55)SE", "7.0.3.I7.9", "2019-R2"):
        r = team.call(
            "POST",
            "/api/v1/groups/team/products/router-fw/versions",
            team.tokens["bob"],
            json={"version": version},
        )
        assert r.status_code == 201 and r.json["version"] == version
    for bad in ("../../x", "a b", "x\ny", ".hidden", "a/b"):
        r = team.call(
            "POST",
            "/api/v1/groups/team/products/router-fw/versions",
            team.tokens["bob"],
            json={"version": bad},
        )
        assert r.status_code == 400, bad
    r = team.call(
        "GET", "/api/v1/groups/team/products/router-fw/versions/12.2(55)SE", team.tokens["bob"]
    )
    assert r.status_code == 200 and r.json["ref"] == "team/router-fw@12.2(55)SE"


def test_a_version_number_is_used_once(team: World) -> None:
    r = team.call(
        "POST",
        "/api/v1/groups/team/products/app/versions",
        team.tokens["bob"],
        json={"version": "1.0.0"},
    )
    assert r.status_code == 409


def test_missing_things_are_404(team: World) -> None:
    bob = team.tokens["bob"]
    r = team.call("GET", "/api/v1/groups/team/products/nope", bob)
    assert r.status_code == 404 and r.json["message"] == "product team/nope not found"
    r = team.call("GET", "/api/v1/groups/team/products/app/versions/9.9.9", bob)
    assert r.json["message"] == "version team/app@9.9.9 not found"
    r = team.call(
        "POST", "/api/v1/groups/team/products/nope/versions", bob, json={"version": "1.0.0"}
    )
    assert r.status_code == 404


def test_json_bodies_are_checked(team: World) -> None:
    bob = team.tokens["bob"]
    path = "/api/v1/groups/team/products/app/versions"
    r = team.call(
        "POST", path, bob, data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400 and "not valid JSON" in r.json["message"]
    r = team.call(
        "POST", path, bob, data=b'["1.0.0"]', headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400 and r.json["message"] == "request body must be a JSON object"
    r = team.call(
        "POST",
        path,
        bob,
        data=b'{"version": "3.0.0", "version": "4.0.0"}',
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 400 and "duplicate key" in r.json["message"]
    big = b'{"version": "3.0.0", "description": "' + b"x" * (1 << 20) + b'"}'
    r = team.call("POST", path, bob, data=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.json["error"] == "too_large"
    versions = team.call("GET", path, bob).json["versions"]
    assert [v["version"] for v in versions] == ["1.0.0"]


def test_unknown_routes_and_methods(team: World) -> None:
    r = team.call("GET", "/api/v1/nothing-here", team.tokens["bob"])
    assert r.status_code == 404 and r.json["error"] == "not_found"
    r = team.call("DELETE", "/api/v1/groups/team/products/app/versions/1.0.0", team.tokens["bob"])
    assert r.status_code == 405 and r.json["error"] == "method_not_allowed"
