"""The OpenAPI document describes exactly the routes the server has."""

from __future__ import annotations

import re

from tests.support import World

IGNORED_METHODS = {"OPTIONS"}


def routes(world: World) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for rule in world.app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        methods = {m for m in rule.methods or () if m not in IGNORED_METHODS}
        if "GET" in methods and rule.endpoint != "api.download_file":
            methods.discard(
                "HEAD"
            )  # Flask adds HEAD to every GET; documented only where it matters
        found.setdefault(path, set()).update(methods)
    return found


def test_every_route_is_documented_and_every_documented_path_exists(world: World) -> None:
    document = world.call("GET", "/api/openapi.json").json
    assert document["openapi"].startswith("3.")
    documented = {
        path: {m.upper() for m in item if m in ("get", "put", "post", "patch", "delete", "head")}
        for path, item in document["paths"].items()
    }
    assert documented == routes(world)


def test_every_operation_has_a_summary_and_responses(world: World) -> None:
    document = world.call("GET", "/api/openapi.json").json
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            assert operation["summary"], (path, method)
            assert operation["responses"], (path, method)
    refs = re.findall(
        r'"\$ref": ?"#/components/(\w+)/(\w+)"',
        world.call("GET", "/api/openapi.json").get_data(as_text=True),
    )
    for section, name in refs:
        assert name in document["components"][section], name


def test_path_parameters_are_declared(world: World) -> None:
    document = world.call("GET", "/api/openapi.json").json
    for path, item in document["paths"].items():
        wanted = set(re.findall(r"{(\w+)}", path))
        declared = {p["name"] for p in item.get("parameters", []) if p["in"] == "path"}
        assert wanted == declared, path
