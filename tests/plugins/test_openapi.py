"""With both business modules enabled, the server lists them and its OpenAPI document
describes exactly the routes it has, theirs included (the core's own test runs with no
plugin)."""

from __future__ import annotations

import re

from tests.plugins.conftest import MakeWorld
from tests.repo_server.test_openapi import routes


def test_the_modules_are_listed_and_every_route_is_documented(make_world: MakeWorld) -> None:
    world = make_world("quality", "product_service")
    assert world.call("GET", "/api/v1/plugins").json == {"plugins": ["product_service", "quality"]}
    response = world.call("GET", "/api/openapi.json")
    document = response.json
    documented = {
        path: {m.upper() for m in item if m in ("get", "put", "post", "patch", "delete", "head")}
        for path, item in document["paths"].items()
    }
    assert documented == routes(world)
    for path, item in document["paths"].items():
        wanted = set(re.findall(r"{(\w+)}", path))
        declared = {p["name"] for p in item.get("parameters", []) if p["in"] == "path"}
        assert wanted == declared, path
        for method, operation in item.items():
            if method != "parameters":
                assert operation["summary"] and operation["responses"], (path, method)
    for section, name in re.findall(
        r'"\$ref": ?"#/components/(\w+)/(\w+)"', response.get_data(as_text=True)
    ):
        assert name in document["components"][section], name
