"""A new product and its first version are a request the version manager approves
(issue 12 §1): until she does, the product takes no version and no upload; four eyes;
audited; a group setting waives the review."""

from __future__ import annotations

from typing import Any

from repo_server.auth.principal import system
from tests.fixtures.factories import api
from tests.support import World

PRODUCTS = "/api/v1/groups/team/products"
NEW = {"name": "ledger", "category": "system", "origin": "in_house", "version": "1.0.0"}


def file_registration(lib: World, who: str = "alice", **changes: Any) -> dict[str, Any]:
    answer: dict[str, Any] = api(lib, who, "POST", PRODUCTS, {**NEW, **changes}, 201)
    return answer


def test_a_new_product_waits_for_the_version_manager_and_takes_nothing_before(
    lib: World,
) -> None:
    product = file_registration(lib)
    assert product["registration"] == "pending" and product["version_count"] == 0
    number = product["registration_request"]
    # Nothing goes in before the approval: no version, so no upload either.
    refused = lib.call(
        "POST", PRODUCTS + "/ledger/versions", lib.tokens["alice"], json={"version": "1.0.0"}
    )
    assert refused.status_code == 403, refused.json
    assert refused.json["rule"] == "product.registration"
    assert "not registered yet" in refused.json["message"]
    upload = lib.upload("team/ledger@1.0.0", "a.bin", b"x", lib.tokens["bob"])
    assert upload.status_code == 404
    # The version manager's inbox shows it; the request page says what she decides.
    inbox = api(lib, "victor", "GET", "/api/v1/requests")["requests"]
    assert [(r["id"], r["kind"], r["title"]) for r in inbox] == [
        (number, "register", "registration of team/ledger@1.0.0")
    ]
    detail = api(lib, "victor", "GET", f"/api/v1/requests/{number}")
    assert detail["you_may_approve"] and detail["details"]["category"] == "system"
    # Four eyes: alice filed it and holds no approval power; victor approves.
    mine = lib.call("POST", f"/api/v1/requests/{number}/approve", lib.tokens["alice"], json={})
    assert mine.status_code == 403 and mine.json["rule"] == "role.version_manager"
    api(lib, "victor", "POST", f"/api/v1/requests/{number}/approve", {"comment": "ok"})
    after = api(lib, "bob", "GET", PRODUCTS + "/ledger")
    assert after["registration"] == "registered" and after["version_count"] == 1
    version = api(lib, "bob", "GET", PRODUCTS + "/ledger/versions/1.0.0")
    assert version["state"] == "draft" and version["created_by"] == "alice"
    assert lib.upload("team/ledger@1.0.0", "a.bin", b"x", lib.tokens["bob"]).status_code == 201
    actions = [(e["action"], e["actor"], e["outcome"]) for e in lib.audit(group="team")]
    assert ("product.register", "alice", "ok") in actions
    assert ("register.approve", "victor", "ok") in actions
    assert ("register.approve", "alice", "refused") in actions


def test_a_version_manager_does_not_approve_what_she_filed(lib: World) -> None:
    lib.depot.groups.add_member(system(), "team", "victor", "member")
    number = file_registration(lib, "victor")["registration_request"]
    own = lib.call("POST", f"/api/v1/requests/{number}/approve", lib.tokens["victor"], json={})
    assert own.status_code == 403 and own.json["rule"] == "four_eyes.requester"
    assert api(lib, "alice", "GET", PRODUCTS + "/ledger")["registration"] == "pending"


def test_a_refused_registration_may_be_filed_again(lib: World) -> None:
    number = file_registration(lib)["registration_request"]
    no_comment = lib.call(
        "POST", f"/api/v1/requests/{number}/refuse", lib.tokens["victor"], json={}
    )
    assert no_comment.status_code == 403 and no_comment.json["rule"] == "decision.comment"
    api(lib, "victor", "POST", f"/api/v1/requests/{number}/refuse", {"comment": "a system?"})
    product = api(lib, "alice", "GET", PRODUCTS + "/ledger")
    assert product["registration"] == "refused" and product["version_count"] == 0
    again = file_registration(lib, category="application")
    assert again["registration"] == "pending" and again["registration_request"] > number
    pending = lib.call("POST", PRODUCTS, lib.tokens["alice"], json=NEW)
    assert pending.status_code == 409


def test_a_group_may_waive_the_review(lib: World) -> None:
    waive = lib.call(
        "PATCH", "/api/v1/groups/team", lib.tokens["alice"], json={"review_new_products": False}
    )
    assert waive.status_code == 403 and waive.json["rule"] == "groups.version_manager"
    group = api(lib, "victor", "PATCH", "/api/v1/groups/team", {"review_new_products": False})
    assert group["review_new_products"] is False
    product = file_registration(lib, "bob")
    assert product["registration"] == "registered" and product["registration_request"] is None
    assert api(lib, "bob", "GET", PRODUCTS + "/ledger/versions/1.0.0")["state"] == "draft"


def test_bad_registrations_change_nothing(lib: World) -> None:
    bad = lib.call("POST", PRODUCTS, lib.tokens["alice"], json={**NEW, "version": "one"})
    assert bad.status_code == 400
    ci = api(lib, "alice", "POST", "/api/v1/tokens", {"group": "team", "scope": "upload"}, 201)
    ci = ci["token"]
    token = lib.call("POST", PRODUCTS, ci, json=NEW)
    assert token.status_code == 403 and token.json["rule"] == "token.scope"
    outsider = lib.call("POST", PRODUCTS, lib.tokens["dave"], json=NEW)
    assert outsider.status_code == 404
    keeper = lib.call("POST", PRODUCTS, lib.tokens["ivy"], json=NEW)
    assert keeper.status_code == 403 and keeper.json["rule"] == "group.member"
    names = [p["name"] for p in api(lib, "alice", "GET", PRODUCTS)["products"]]
    assert names == ["app"]
