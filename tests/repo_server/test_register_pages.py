"""The registers' pages and a product waiting for its registration, as a browser gets them."""

from __future__ import annotations

import csv
import io

from tests.fixtures.factories import api
from tests.repo_server.test_items_register import in_library_with_media
from tests.repo_server.test_plugin_extensions import sign_in_page
from tests.support import World


def test_the_register_and_the_items_pages(lib: World) -> None:
    in_library_with_media(lib)
    api(lib, "victor", "POST", "/api/v1/items/PI-1/lend", {"holder": "bob", "due": "2026-11-29"})
    lib.clock.advance(days=3)
    sign_in_page(lib, "ivy")
    page = lib.client.get("/register?origin=in_house").get_data(as_text=True)
    assert "team/app@1.0.0" in page and "checked in by victor" in page
    assert "accepted by carol" in page and "across all groups" in page
    # The register in figures: per group and category, and the month's check-in.
    assert '<td>team</td><td>application</td><td class="num">1</td>' in page
    assert 'id="months"' in page
    assert "No versions in the library that match" in lib.client.get(
        "/register?origin=purchased"
    ).get_data(as_text=True)
    exported = lib.client.get("/register.csv?group=team")
    assert exported.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    assert [r["ref"] for r in rows] == ["team/app@1.0.0"]
    items = lib.client.get("/items?overdue=1").get_data(as_text=True)
    assert 'class="overdue"' in items and "lent to bob" in items and "overdue" in items
    item = lib.client.get("/items/PI-1").get_data(as_text=True)
    assert "cabinet A" in item and "lent" in item and "check-in request #" in item
    assert lib.client.get("/register?state=lost").status_code == 400


def test_a_product_page_says_its_registration_waits(lib: World) -> None:
    body = {"name": "ledger", "category": "system", "origin": "in_house"}
    filed = api(lib, "alice", "POST", "/api/v1/groups/team/products", body, 201)
    sign_in_page(lib, "alice")
    page = lib.client.get("/groups/team/ledger").get_data(as_text=True)
    assert "Registration pending" in page
    assert f"request #{filed['registration_request']}" in page
    sign_in_page(lib, "victor")
    request = lib.client.get(f"/requests/{filed['registration_request']}").get_data(as_text=True)
    assert "The product to register" in request and "Approve" in request
