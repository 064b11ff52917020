"""With both business modules enabled, the server lists them and its OpenAPI document,
generated from the routes' declarations, describes exactly the routes it has, theirs
included (the core's own test runs with no plugin)."""

from __future__ import annotations

from tests.plugins.conftest import MakeWorld
from tests.repo_server.test_openapi import check_document


def test_the_modules_are_listed_and_every_route_is_documented(make_world: MakeWorld) -> None:
    world = make_world("quality", "product_service")
    assert world.call("GET", "/api/v1/plugins").json == {"plugins": ["product_service", "quality"]}
    document = check_document(world)
    issues = document["paths"]["/api/v1/quality/issues"]
    assert issues["post"]["operationId"] == "quality_api.report"
    new_issue = document["components"]["schemas"]["QualityNewIssue"]
    assert set(new_issue["required"]) == {"version", "title", "description", "class"}
    assert new_issue["properties"]["title"]["maxLength"] == 200


def test_a_plugin_route_checks_its_body_after_authentication(make_world: MakeWorld) -> None:
    world = make_world("quality")
    anonymous = world.call("POST", "/api/v1/quality/issues", json={"title": 5})
    assert anonymous.status_code == 401
    token = world.user("alice")
    r = world.call("POST", "/api/v1/quality/issues", token, json={"version": "a/b@1", "title": 5})
    assert r.status_code == 400 and r.json["field"] == "title"
