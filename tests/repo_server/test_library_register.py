"""The library register (版本信息台账, issue 12 §2): every checked-in version across groups,
with library number, product, category, origin, vendor, version, check-in date and
approvers and its state; filtered, searched, paged, exported as CSV and JSON."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

from tests.fixtures.factories import accept, api, check_in, check_out, group, version
from tests.support import World

REGISTER = "/api/v1/register"


def two_groups(lib: World) -> None:
    """team/app@1.0.0 (in-house) and ops/tool@V200R1 (purchased from Acme) in the library."""
    accept(lib, "team/app@1.0.0")
    check_in(lib, "team/app@1.0.0")
    group(lib, "ops", alice=("member", "software_manager"), carol="acceptance_officer")
    lib.product("ops", "tool", lib.tokens["alice"], origin="purchased", vendor="Acme Networks")
    version(lib, "ops/tool@V200R1", files={"fw.bin": b"firmware"}, uploader="alice",
            new_product=False)  # fmt: skip
    accept(lib, "ops/tool@V200R1")
    check_in(lib, "ops/tool@V200R1", release_notes="vendor drop")


def rows(lib: World, who: str, query: str = "") -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = api(lib, who, "GET", REGISTER + query)["entries"]
    return found


def test_the_version_manager_sees_every_group_s_versions_in_the_library(lib: World) -> None:
    two_groups(lib)
    version(lib, "team/draft@0.1.0", files={"a.bin": b"a"})  # not in the library
    entries = rows(lib, "victor")
    assert [e["ref"] for e in entries] == ["ops/tool@V200R1", "team/app@1.0.0"]
    tool = entries[0]
    assert tool["library_number"] == 1
    assert (tool["group"], tool["product"], tool["version"]) == ("ops", "tool", "V200R1")
    assert (tool["category"], tool["origin"], tool["vendor"]) == (
        "application",
        "purchased",
        "Acme Networks",
    )
    assert tool["checked_in_by"] == "victor" and tool["accepted_by"] == "carol"
    assert tool["requested_by"] == "alice" and tool["checked_in_at"]
    assert tool["state"] == "in_library" and tool["checked_out_until"] is None
    # An auditor reads the same register; a member only her groups' part of it.
    assert [e["ref"] for e in rows(lib, "ivy")] == ["ops/tool@V200R1", "team/app@1.0.0"]
    assert [e["ref"] for e in rows(lib, "bob")] == ["team/app@1.0.0"]
    assert rows(lib, "dave") == []


def test_states_filters_search_and_pages(lib: World) -> None:
    two_groups(lib)
    check_out(lib, "team/app@1.0.0")
    entries = {e["ref"]: e for e in rows(lib, "victor")}
    app = entries["team/app@1.0.0"]
    assert app["state"] == "checked_out" and app["checked_out_until"]
    assert [e["ref"] for e in rows(lib, "victor", "?state=checked_out")] == ["team/app@1.0.0"]
    assert [e["ref"] for e in rows(lib, "victor", "?origin=purchased")] == ["ops/tool@V200R1"]
    assert [e["ref"] for e in rows(lib, "victor", "?group=team")] == ["team/app@1.0.0"]
    assert [e["ref"] for e in rows(lib, "victor", "?q=acme")] == ["ops/tool@V200R1"]
    assert rows(lib, "victor", "?category=system") == []
    api(lib, "victor", "POST", "/api/v1/groups/ops/products/tool/versions/V200R1/retire",
        {"reason": "end of support"})  # fmt: skip
    assert [e["ref"] for e in rows(lib, "victor", "?state=retired")] == ["ops/tool@V200R1"]
    assert [e["ref"] for e in rows(lib, "victor", "?state=in_library")] == []
    first = api(lib, "victor", "GET", REGISTER + "?limit=1")
    assert [e["ref"] for e in first["entries"]] == ["ops/tool@V200R1"] and first["next"]
    rest = api(lib, "victor", "GET", f"{REGISTER}?limit=1&cursor={first['next']}")
    assert [e["ref"] for e in rest["entries"]] == ["team/app@1.0.0"]
    bad = lib.call("GET", REGISTER + "?state=lost", lib.tokens["victor"])
    assert bad.status_code == 400 and bad.json["field"] == "state"


def test_the_register_exports_as_csv_and_json(lib: World) -> None:
    two_groups(lib)
    answer = lib.call("GET", "/api/v1/register.csv?group=ops", lib.tokens["ivy"])
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert "attachment" in answer.headers["Content-Disposition"]
    table = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))
    assert [(r["ref"], r["library_number"], r["vendor"], r["checked_in_by"]) for r in table] == [
        ("ops/tool@V200R1", "1", "Acme Networks", "victor")
    ]
    exported = lib.call("GET", REGISTER + "/export", lib.tokens["victor"])
    assert exported.status_code == 200 and exported.mimetype == "application/json"
    assert [e["ref"] for e in exported.json["entries"]] == ["ops/tool@V200R1", "team/app@1.0.0"]
    bad = lib.call("GET", REGISTER + "/export?state=lost", lib.tokens["victor"])
    assert bad.status_code == 400
    assert lib.call("GET", REGISTER).status_code == 401


def test_the_register_in_figures_per_group_category_and_month(lib: World) -> None:
    two_groups(lib)  # both checked in this month
    start = lib.clock.now().strftime("%Y-%m")
    now = lib.clock.now()
    next_month = (now.replace(day=1) + timedelta(days=32)).replace(day=1, hour=12)
    assert next_month - now < timedelta(days=7)  # sign-in tokens last a week
    lib.clock.advance(seconds=(next_month - now).total_seconds())
    # Next month: a check-out of the app, and the tool retired.
    check_out(lib, "team/app@1.0.0")
    api(lib, "victor", "POST", "/api/v1/groups/ops/products/tool/versions/V200R1/retire",
        {"reason": "end of support"})  # fmt: skip
    later = lib.clock.now().strftime("%Y-%m")
    figures = api(lib, "victor", "GET", REGISTER + "/statistics")
    assert figures["counts"] == [
        {"group": "ops", "category": "application", "versions": 1, "in_library": 0,
         "checked_out": 0, "retired": 1, "quarantined": 0},
        {"group": "team", "category": "application", "versions": 1, "in_library": 0,
         "checked_out": 1, "retired": 0, "quarantined": 0},
    ]  # fmt: skip
    assert figures["months"] == [
        {"month": start, "checkins": 2, "checkouts": 0},
        {"month": later, "checkins": 0, "checkouts": 1},
    ]
    # The same filters as the register; a member sees her groups' figures only.
    only_ops = api(lib, "victor", "GET", REGISTER + "/statistics?group=ops")
    assert [c["group"] for c in only_ops["counts"]] == ["ops"]
    assert only_ops["months"] == [{"month": start, "checkins": 1, "checkouts": 0}]
    assert [c["group"] for c in api(lib, "bob", "GET", REGISTER + "/statistics")["counts"]] == [
        "team"
    ]
    assert api(lib, "dave", "GET", REGISTER + "/statistics") == {"counts": [], "months": []}
