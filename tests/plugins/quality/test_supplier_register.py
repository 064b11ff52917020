"""The supplier register linked to purchased products, on SQLite and PostgreSQL: a supplier
lists the products naming it as their vendor; suspending it stops new check-ins of them
(403 naming the rule, audited) while the library's versions stay in use; evaluations due
stand out."""

from __future__ import annotations

from datetime import timedelta

from tests.fixtures import factories
from tests.plugins.quality.conftest import api, check_in, check_out, push, vpath
from tests.repo_server.test_plugin_extensions import sign_in_page
from tests.support import World

Q = "/api/v1/quality"


def purchased(q: World, ref: str, vendor: str) -> None:
    group, rest = ref.split("/", 1)
    product, version = rest.split("@", 1)
    q.product(group, product, q.tokens["alice"], origin="purchased", vendor=vendor)
    q.version(group, product, version, q.tokens["alice"])
    push(q, ref, "fw.bin", b"firmware of " + ref.encode())


def test_a_suspended_supplier_blocks_new_check_ins_of_its_products(q: World) -> None:
    api(q, "quinn", "POST", Q + "/suppliers", {"name": "Acme Ltd", "qualification": "ISO"}, 201)
    purchased(q, "team/router@1.0", " acme ltd ")  # named loosely by the product
    check_in(q, "team/router@1.0")
    check_out(q, "team/router@1.0")
    purchased(q, "team/switch@2.0", "Acme Ltd")
    shown = api(q, "bob", "GET", Q + "/suppliers/Acme%20Ltd")
    assert [(p["group"], p["product"]) for p in shown["products"]] == [
        ("team", "router"),
        ("team", "switch"),
    ]
    # To a person outside the group, its products do not exist.
    assert api(q, "dave", "GET", Q + "/suppliers/Acme%20Ltd")["products"] == []

    api(q, "quinn", "PATCH", Q + "/suppliers/Acme%20Ltd", {"status": "suspended"})
    factories.accept(q, "team/switch@2.0")
    refused = q.call(
        "POST", vpath("team/switch@2.0") + "/checkin", q.tokens["alice"],
        json={"release_notes": "r"},
    )  # fmt: skip
    assert refused.status_code == 403, refused.json
    assert refused.json["rule"] == "quality.supplier_suspended"
    assert "Acme Ltd" in refused.json["message"] and "suspended" in refused.json["message"]
    [audited] = [
        e
        for e in q.audit(action="checkin.request")
        if e["outcome"] != "ok" and e["target"] == "team/switch@2.0"
    ]
    assert audited["rule"] == "quality.supplier_suspended"
    # The version already in the library stays in use.
    download = q.call("GET", vpath("team/router@1.0") + "/files/fw.bin", q.tokens["alice"])
    assert download.status_code == 200
    assert (
        q.call(
            "POST",
            vpath("team/router@1.0") + "/checkout",
            q.tokens["alice"],
            json={"purpose": "a second site"},
        ).status_code
        == 201
    )
    # A check-in filed before the suspension cannot be approved either.
    api(q, "quinn", "PATCH", Q + "/suppliers/Acme%20Ltd", {"status": "active"})
    pending = api(
        q, "alice", "POST", vpath("team/switch@2.0") + "/checkin", {"release_notes": "r"}, 201
    )
    api(q, "quinn", "PATCH", Q + "/suppliers/Acme%20Ltd", {"status": "suspended"})
    approval = q.call(
        "POST", f"/api/v1/requests/{pending['id']}/approve", q.tokens["victor"], json={}
    )
    assert approval.status_code == 403 and approval.json["rule"] == "quality.supplier_suspended"
    # The supplier's page says so and lists its products.
    sign_in_page(q, "bob")
    page = q.client.get("/quality/suppliers/Acme%20Ltd").get_data(as_text=True)
    assert "Suspended: its products get no new check-in" in page and "team/switch" in page
    # Active again: the check-in goes through.
    api(q, "quinn", "PATCH", Q + "/suppliers/Acme%20Ltd", {"status": "active"})
    api(q, "victor", "POST", f"/api/v1/requests/{pending['id']}/approve", {})


def test_evaluations_due_stand_out(q: World) -> None:
    body = {"name": "Acme", "qualification": "ISO", "evaluation_months": 6}
    added = api(q, "quinn", "POST", Q + "/suppliers", body, 201)
    # Never evaluated: due from the day it entered the register.
    assert added["evaluation_due"] is True and added["evaluation_months"] == 6
    api(q, "quinn", "POST", Q + "/suppliers", {"name": "Beta", "qualification": "ISO"}, 201)
    for name in ("Acme", "Beta"):
        evaluation = {"period": "2026-H2", "score": 4}
        api(q, "quinn", "POST", Q + f"/suppliers/{name}/evaluations", evaluation, 201)
    assert api(q, "bob", "GET", Q + "/suppliers?due=true")["suppliers"] == []
    q.clock.advance(days=200)  # past Acme's 6 months, within Beta's 12
    q.sign_in("bob")
    q.sign_in("quinn")
    due = api(q, "bob", "GET", Q + "/suppliers?due=true")["suppliers"]
    assert [s["name"] for s in due] == ["Acme"]
    last = (q.clock.now() - timedelta(days=200)).date()
    assert due[0]["evaluation_due_on"] > last.isoformat()
    every = {
        s["name"]: s["evaluation_due"] for s in api(q, "bob", "GET", Q + "/suppliers")["suppliers"]
    }
    assert every == {"Acme": True, "Beta": False}
    bad = q.call("PATCH", Q + "/suppliers/Beta", q.tokens["quinn"], json={"evaluation_months": 0})
    assert bad.status_code == 400 and "evaluation_months" in bad.json["message"]
    # The register page marks it.
    sign_in_page(q, "bob")
    page = q.client.get("/quality/suppliers").get_data(as_text=True)
    assert "evaluation due" in page
