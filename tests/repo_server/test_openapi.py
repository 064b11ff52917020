"""The OpenAPI document is generated from the routes' declarations: it describes exactly the
routes the server has, is a valid OpenAPI 3.1 document, and says what each route takes and
answers (required fields, limits, headers, errors, security)."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from openapi_spec_validator import validate

from tests.support import World

IGNORED_METHODS = {"OPTIONS"}
METHODS = ("get", "put", "post", "patch", "delete", "head")


def routes(world: World) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for rule in world.app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        methods = {m for m in rule.methods or () if m not in IGNORED_METHODS}
        if "GET" in methods and rule.endpoint != "api.download_file":
            methods.discard("HEAD")  # Flask adds HEAD to every GET; documented where it matters
        found.setdefault(path, set()).update(methods)
    return found


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any], list[Any]]]:
    """``(path, method, operation, parameters)`` with path-level parameters included."""
    found = []
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                op = item[method]
                found.append(
                    (path, method, op, [*item.get("parameters", []), *op.get("parameters", [])])
                )
    return found


def check_document(world: World) -> dict[str, Any]:
    """Every check of the document that holds for the core alone and with plugins."""
    response = world.call("GET", "/api/openapi.json")
    document: dict[str, Any] = response.json
    validate(document)  # a valid OpenAPI 3.1 document
    documented = {
        path: {m.upper() for m in item if m in METHODS} for path, item in document["paths"].items()
    }
    assert documented == routes(world)
    ids = Counter(op.get("operationId") for _, _, op, _ in operations(document))
    assert None not in ids and max(ids.values()) == 1, ids
    for path, method, op, parameters in operations(document):
        where = (path, method)
        assert op["summary"] and op["responses"], where
        wanted = set(re.findall(r"{(\w+)}", path))
        assert {p["name"] for p in parameters if p["in"] == "path"} == wanted, where
        if op.get("security", document["security"]):
            assert "401" in op["responses"], where
        for status, answer in op["responses"].items():
            if status.startswith(("4", "5")):
                schema = answer["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (where, status)
    for section, name in re.findall(
        r'"\$ref": ?"#/components/(\w+)/(\w+)"', response.get_data(as_text=True)
    ):
        assert name in document["components"][section], name
    bodies = {
        op["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        for _, _, op, _ in operations(document)
        if "application/json" in op.get("requestBody", {}).get("content", {})
    }
    for name, schema in document["components"]["schemas"].items():
        if schema.get("type") == "object" and schema.get("properties") and name not in bodies:
            assert schema.get("required"), f"{name} says no field is required"
    return document


def test_the_document_is_valid_and_describes_every_route(world: World) -> None:
    check_document(world)


def test_the_document_is_built_once(world: World) -> None:
    first = world.call("GET", "/api/openapi.json").get_data()
    assert world.app.extensions["depot.openapi"] is not None
    assert world.call("GET", "/api/openapi.json").get_data() == first


def test_shapes_carry_required_fields_and_limits(world: World) -> None:
    document = world.call("GET", "/api/openapi.json").json
    schemas = document["components"]["schemas"]
    assert set(schemas["Group"]["required"]) >= {"name", "created_at", "my_roles"}
    new_group = schemas["NewGroup"]
    assert new_group["required"] == ["name"]
    assert new_group["properties"]["name"]["maxLength"] == 63
    assert new_group["properties"]["name"]["pattern"]
    assert new_group["properties"]["display_name"]["maxLength"] == 200
    create = document["paths"]["/api/v1/groups"]["post"]
    assert create["operationId"] == "create_group"
    assert {"201", "400", "401", "403", "409"} <= set(create["responses"])


def test_invalid_input_is_a_400_naming_the_field(world: World) -> None:
    root = world.user("root", roles=("admin",))
    r = world.call("POST", "/api/v1/groups", root, json={"name": 5})
    assert r.status_code == 400 and r.json["error"] == "invalid_request"
    assert r.json["field"] == "name" and "'name'" in r.json["message"]
    r = world.call("POST", "/api/v1/groups", root, json={"name": "ok", "display_name": "x" * 201})
    assert r.status_code == 400 and r.json["field"] == "display_name"
    r = world.call("GET", "/api/v1/groups?all=maybe", root)
    assert r.status_code == 400 and r.json["field"] == "all"


def test_an_anonymous_caller_gets_401_before_any_check_of_the_input(world: World) -> None:
    for method, path, body in (
        ("POST", "/api/v1/groups", {"name": 5}),
        ("PATCH", "/api/v1/users/alice", {"bogus": True}),
        ("GET", "/api/v1/audit?limit=many", None),
    ):
        r = world.call(method, path, json=body)
        assert r.status_code == 401 and r.json["error"] == "unauthorized", (method, path, r.json)


def test_a_wrong_method_answers_405_with_allow(world: World) -> None:
    r = world.call("DELETE", "/api/v1/groups")
    assert r.status_code == 405 and r.json["error"] == "method_not_allowed"
    assert set(r.headers["Allow"].split(", ")) >= {"GET", "POST"}


def test_headers_build_parameters_and_security_are_described(world: World) -> None:
    document = world.call("GET", "/api/openapi.json").json
    files = "/api/v1/groups/{group}/products/{product}/versions/{version}/files/{name}"
    download = document["paths"][files]["get"]["responses"]
    assert {"X-Checksum-Sha256", "ETag", "Repr-Digest"} <= set(download["200"]["headers"])
    assert "Content-Range" in download["206"]["headers"] and "416" in download
    upload = document["paths"][files]["put"]
    sent = {p["name"] for p in upload["parameters"]}
    assert {"X-Checksum-Sha256", "Content-Digest", "role", "build_id", "commit"} <= sent
    assert {"pipeline", "builder"} <= sent and {"409", "411", "422"} <= set(upload["responses"])
    assert document["paths"]["/api/v1/trust/keyring"]["get"]["security"] == []
    assert document["paths"]["/api/v1/auth/login"]["post"]["security"] == []
    assert document["paths"]["/api/v1/groups"]["get"]["security"] == [{"bearer": []}]
    limit = {p["name"]: p for p in document["paths"]["/api/v1/audit"]["get"]["parameters"]}
    assert limit["limit"]["schema"]["maximum"] == 500


def test_a_416_carries_its_error_body_and_the_size(world: World) -> None:
    token = world.user("alice")
    world.group("team", {"alice": ("member", "software_manager")})
    world.product("team", "app", token)
    world.version("team", "app", "1.0.0", token)
    assert world.upload("team/app@1.0.0", "a.bin", b"0123456789", token).status_code == 201
    path = "/api/v1/groups/team/products/app/versions/1.0.0/files/a.bin"
    r = world.call("GET", path, token, headers={"Range": "bytes=50-"})
    assert r.status_code == 416 and r.json["error"] == "range_not_satisfiable"
    assert r.headers["Content-Range"] == "bytes */10"


PAGED = {
    "/api/v1/groups": "groups",
    "/api/v1/groups/{group}/products": "products",
    "/api/v1/groups/{group}/products/{product}/versions": "versions",
    "/api/v1/groups/{group}/products/{product}/versions/{version}/files": "files",
    "/api/v1/groups/{group}/products/{product}/versions/{version}/requests": "requests",
    "/api/v1/groups/{group}/products/{product}/upgrades": "requests",
    "/api/v1/requests": "requests",
    "/api/v1/tokens": "tokens",
    "/api/v1/groups/{group}/tokens": "tokens",
    "/api/v1/users": "users",
    "/api/v1/audit": "events",
    "/api/v1/search": "results",
}


def test_every_listing_documents_its_pages(world: World) -> None:
    document = world.call("GET", "/api/openapi.json").json
    schemas = document["components"]["schemas"]
    for path, key in PAGED.items():
        op = document["paths"][path]["get"]
        query = {p["name"]: p for p in op.get("parameters", []) if p["in"] == "query"}
        limit = query["limit"]["schema"]
        assert (limit["minimum"], limit["maximum"], limit["default"]) == (1, 500, 50), path
        assert query["cursor"]["schema"]["maxLength"] == 2000, path
        answer = op["responses"]["200"]
        assert "Link" in answer["headers"], path
        name = answer["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        assert {"next", key} <= set(schemas[name]["required"]), path
        assert "400" in op["responses"], path
