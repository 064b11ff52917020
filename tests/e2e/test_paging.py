"""Every listing pages, on the real server (`depot-server run`) with both business modules,
on folder+SQLite and on S3+PostgreSQL: each one read a page at a time by following its
``Link: <...>; rel="next"`` header gives every row exactly once, also when rows are added
between two pages; ``next`` is null on the last page; a bad ``limit`` or a garbled, forged
or borrowed cursor is a 400 that names the field, and a hidden group stays a 404 whatever
the cursor. The `depot` command follows the cursors (``--limit N``, ``--all``)."""

from __future__ import annotations

import hashlib
import json
import re
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.e2e.conftest import Server, serve
from tests.e2e.test_integrity import PASSWORD, payments_team

LIMIT = 2
LINK = re.compile(r'^<(/api/v1/[^>]+)>; rel="next"$')


@pytest.fixture(scope="module", params=["folder+sqlite", "s3+postgresql"])
def modules(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("paging")
    yield from serve(request, tmp, {"DEPOT_PLUGINS": "quality,product_service"})


class Http:
    """The JSON API as one person calls it (their token from ``POST /auth/login``)."""

    def __init__(self, server: Server, username: str, password: str) -> None:
        self.server = server
        self.token = ""
        login = self.call(
            "POST", "/api/v1/auth/login", {"username": username, "password": password}
        )
        self.token = login[2]["token"]

    def call(
        self, method: str, path: str, body: Any = None, *, raw: bytes | None = None
    ) -> tuple[int, dict[str, str], Any]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if raw is not None:
            headers["X-Checksum-Sha256"] = hashlib.sha256(raw).hexdigest()
        request = urllib.request.Request(
            self.server.url + path, data=data, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return response.status, dict(response.headers), json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), json.loads(error.read())

    def ok(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        status, _, answer = self.call(method, path, body, **kwargs)
        assert status in (200, 201), (method, path, status, answer)
        return answer


@pytest.fixture(scope="module")
def people(modules: Server, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """payments with alice, carol, victor (version manager) and ivy (auditor), five of
    everything in it, and each one's HTTP client and terminal."""
    tmp = tmp_path_factory.mktemp("people")
    alice_env, _, _, ivy_env = payments_team(modules, tmp, ("ivy", "auditor"))
    admin = Http(modules, "admin", modules.admin_password)
    alice = Http(modules, "alice", PASSWORD)
    victor = Http(modules, "victor", PASSWORD)
    products = "/api/v1/groups/payments/products"
    for n in range(5):
        body = {"name": f"app-{n}", "category": "application", "origin": "in_house"}
        filed = alice.ok("POST", products, body)["registration_request"]
        victor.ok("POST", f"/api/v1/requests/{filed}/approve", {"comment": "registered"})
    # alice, the software manager of payments, makes herself its service clerk.
    alice.ok("POST", "/api/v1/service/roles/payments", {"username": "alice", "role": "clerk"})
    for n in range(5):
        admin.ok("POST", "/api/v1/groups", {"name": f"team-{n}"})
        admin.ok("POST", "/api/v1/users", {"username": f"user-{n}", "password": PASSWORD * 2})
        alice.ok("POST", f"{products}/app-0/versions", {"version": f"1.{n}.0"})
        alice.ok(
            "PUT", f"{products}/app-0/versions/1.0.0/files/build-{n}.tar.gz", raw=f"b{n}".encode()
        )
        alice.ok("POST", "/api/v1/tokens", {"group": "payments", "scope": "read", "name": f"t{n}"})
        alice.ok(
            "POST", f"{products}/app-1/upgrades", {"target_version": f"2.{n}.0", "reason": "next"}
        )
        alice.ok("POST", "/api/v1/service/tickets", ticket(n))
        technician = {"username": f"user-{n}", "role": "technician"}
        alice.ok("POST", "/api/v1/service/roles/payments", technician)
        alice.ok("POST", "/api/v1/quality/issues", issue(n))
    return {
        "admin": admin,
        "alice": alice,
        "carol": Http(modules, "carol", PASSWORD),
        "victor": victor,
        "ivy": Http(modules, "ivy", PASSWORD),
        "alice_env": alice_env,
        "ivy_env": ivy_env,
    }


def ticket(n: int) -> dict[str, str]:
    return {
        "group": "payments", "product": "app-0", "version": "1.0.0", "kind": "service",
        "channel": "phone", "customer": f"Branch {n}", "contact": "Li Wei",
        "contact_phone": "+86 21 5555 0100", "description": "the nightly batch stops",
        "delivered_on": "2026-11-01",
    }  # fmt: skip


def issue(n: int) -> dict[str, str]:
    return {
        "version": "payments/app-0@1.0.0", "title": f"crash {n}", "description": "on start",
        "class": "general",
    }  # fmt: skip


def read_all(
    http: Http, path: str, key: str, between: Callable[[], None] | None = None
) -> list[Any]:
    """Every row of ``path``, ``LIMIT`` at a time, by following the ``Link`` headers;
    ``between`` runs once, after the first page."""
    url = path + ("&" if "?" in path else "?") + f"limit={LIMIT}"
    rows: list[Any] = []
    pages = 0
    while True:
        status, headers, body = http.call("GET", url)
        assert status == 200, (url, body)
        assert len(body[key]) <= LIMIT
        rows.extend(body[key])
        pages += 1
        if body["next"] is None:
            assert "Link" not in headers
            break
        found = LINK.match(headers["Link"])
        assert found, headers["Link"]
        url = found.group(1)
        assert f"cursor={body['next']}" in url and f"limit={LIMIT}" in url
        if between is not None and pages == 1:
            between()
    assert pages > 1, f"{path} fits one page: the test proves nothing"
    return rows


def once_each(rows: list[Any], ident: Callable[[Any], Any], expected: set[Any]) -> None:
    seen = [ident(row) for row in rows]
    assert len(seen) == len(set(seen)), f"a row came twice: {seen}"
    assert expected <= set(seen), f"missing: {expected - set(seen)}"


def test_every_listing_pages_every_row_exactly_once(people: dict[str, Any]) -> None:
    admin, alice, victor, ivy = people["admin"], people["alice"], people["victor"], people["ivy"]
    products = "/api/v1/groups/payments/products"
    names = {f"team-{n}" for n in range(5)} | {"payments"}
    groups = read_all(
        admin, "/api/v1/groups?all=true", "groups",
        lambda: admin.ok("POST", "/api/v1/groups", {"name": "team-new"}),
    )  # fmt: skip
    once_each(groups, lambda g: g["name"], names)
    assert [g["name"] for g in groups] == sorted(g["name"] for g in groups)

    new = {"name": "app-0a", "category": "system", "origin": "in_house"}
    found = read_all(alice, products, "products", lambda: alice.ok("POST", products, new))
    once_each(found, lambda p: p["name"], {f"app-{n}" for n in range(5)})

    versions = read_all(
        alice, f"{products}/app-0/versions", "versions",
        lambda: alice.ok("POST", f"{products}/app-0/versions", {"version": "1.10.0"}),
    )  # fmt: skip
    once_each(versions, lambda v: v["version"], {f"1.{n}.0" for n in range(5)})
    listed = [v["version"] for v in versions]
    assert listed[:5] == ["1.4.0", "1.3.0", "1.2.0", "1.1.0", "1.0.0"] or "1.10.0" in listed

    files = read_all(
        alice, f"{products}/app-0/versions/1.0.0/files", "files",
        lambda: alice.ok("PUT", f"{products}/app-0/versions/1.0.0/files/a-new.txt", raw=b"new"),
    )  # fmt: skip
    once_each(files, lambda f: f["name"], {f"build-{n}.tar.gz" for n in range(5)})

    users = read_all(
        admin, "/api/v1/users", "users",
        lambda: admin.ok("POST", "/api/v1/users", {"username": "aaron", "password": PASSWORD * 2}),
    )  # fmt: skip
    once_each(users, lambda u: u["username"], {f"user-{n}" for n in range(5)} | {"alice"})

    token_body = {"group": "payments", "scope": "read", "name": "between"}
    made = {t["name"] for t in read_all(alice, "/api/v1/tokens", "tokens")}
    assert {f"t{n}" for n in range(5)} <= made
    for path in ("/api/v1/tokens", "/api/v1/groups/payments/tokens"):
        tokens = read_all(
            alice, path, "tokens", lambda: alice.ok("POST", "/api/v1/tokens", token_body)
        )
        once_each(tokens, lambda t: t["id"], set())
        ids = [t["id"] for t in tokens]
        assert len(ids) >= 5

    upgrades = {f"2.{n}.0" for n in range(5)}
    more = iter(range(3, 10))

    def another_upgrade() -> None:
        body = {"target_version": f"{next(more)}.0.0", "reason": "between pages"}
        alice.ok("POST", f"{products}/app-2/upgrades", body)

    for http, path in (
        (alice, "/api/v1/requests?view=mine"),
        (victor, "/api/v1/requests?view=inbox"),
        (victor, "/api/v1/requests?view=all&kind=upgrade"),
        (alice, f"{products}/app-1/upgrades"),
    ):
        rows = read_all(http, path, "requests", another_upgrade)
        once_each(rows, lambda r: r["id"], set())
        assert upgrades <= {r["version"] for r in rows if r["product"] == "app-1"}, path

    events = read_all(
        ivy, "/api/v1/audit?group=payments", "events", lambda: alice.ok("GET", products)
    )
    once_each(events, lambda e: e["id"], set())
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)
    assert sum(e["action"] == "file.upload" for e in events) >= 5

    tickets = read_all(
        alice, "/api/v1/service/tickets", "tickets",
        lambda: alice.ok("POST", "/api/v1/service/tickets", ticket(9)),
    )  # fmt: skip
    once_each(tickets, lambda t: t["number"], {f"S-{n}" for n in range(1, 6)})

    customers = read_all(
        alice, "/api/v1/service/customers/payments", "customers",
        lambda: alice.ok("POST", "/api/v1/service/customers/payments", {"name": "Between"}),
    )  # fmt: skip
    once_each(customers, lambda c: c["number"], {f"C-{n}" for n in range(1, 6)})

    more_roles = iter(range(5))
    roles = read_all(
        alice, "/api/v1/service/roles/payments", "roles",
        lambda: alice.ok(
            "POST",
            "/api/v1/service/roles/payments",
            {"username": f"user-{next(more_roles)}", "role": "supervisor"},
        ),
    )  # fmt: skip
    technicians = {(f"user-{n}", "technician") for n in range(5)}
    once_each(roles, lambda r: (r["username"], r["role"]), {("alice", "clerk")} | technicians)

    issues = read_all(
        alice, "/api/v1/quality/issues", "issues",
        lambda: alice.ok("POST", "/api/v1/quality/issues", issue(9)),
    )  # fmt: skip
    once_each(issues, lambda i: i["number"], {f"Q-{n}" for n in range(1, 6)})

    hits = read_all(alice, "/api/v1/search?q=app-", "results")
    once_each(
        hits, lambda h: (h["kind"], h["group"], h["product"]), {("product", "payments", "app-3")}
    )


def test_one_version_is_one_version(people: dict[str, Any]) -> None:
    body = people["alice"].ok("GET", "/api/v1/groups/payments/products/app-0/versions?limit=1")
    assert len(body["versions"]) == 1 and body["next"]


@pytest.fixture(scope="module")
def many(people: dict[str, Any]) -> int:
    """201 more products in payments (``many-000`` …), for the listings past 200 rows."""
    for n in range(201):
        body = {"name": f"many-{n:03}", "category": "system", "origin": "in_house"}
        people["alice"].ok("POST", "/api/v1/groups/payments/products", body)
    return 201


def test_search_goes_past_two_hundred(people: dict[str, Any], many: int) -> None:
    alice = people["alice"]
    first = alice.ok("GET", "/api/v1/search?q=many-&limit=500")
    assert len(first["results"]) == 201 and first["next"] is None
    page = alice.ok("GET", "/api/v1/search?q=many-&limit=200")
    assert len(page["results"]) == 200 and page["next"]
    rest = alice.ok("GET", f"/api/v1/search?q=many-&limit=200&cursor={page['next']}")
    assert len(rest["results"]) == 1 and rest["next"] is None


def test_bad_limits_and_cursors_are_400_and_hidden_groups_stay_404(
    people: dict[str, Any],
) -> None:
    alice, carol, admin = people["alice"], people["carol"], people["admin"]
    products = "/api/v1/groups/payments/products"
    for limit in ("0", "501", "-3", "many"):
        status, _, body = alice.call("GET", f"{products}?limit={limit}")
        assert status == 400 and body["field"] == "limit", body
    good = alice.ok("GET", f"{products}?limit=1")["next"]
    forged = good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB")
    borrowed = admin.ok("GET", "/api/v1/groups?all=true&limit=1")["next"]
    for cursor in ("garbage", forged, borrowed, "x" * 2001):
        status, _, body = alice.call("GET", f"{products}?limit=1&cursor={cursor}")
        assert status == 400 and body["field"] == "cursor", (cursor, body)
        assert body["error"] == "invalid_request"
    # A cursor of one listing does not open another (same shape, other product).
    versions = alice.ok("GET", f"{products}/app-0/versions?limit=1")["next"]
    status, _, body = alice.call("GET", f"{products}/app-1/versions?limit=1&cursor={versions}")
    assert status == 400 and body["field"] == "cursor"
    # carol is no member of team-0: with any cursor, it is a group that does not exist.
    hidden = carol.call("GET", f"/api/v1/groups/team-0/products?limit=1&cursor={good}")
    missing = carol.call("GET", f"/api/v1/groups/no-such/products?limit=1&cursor={good}")
    assert hidden[0] == missing[0] == 404
    assert hidden[2]["message"].replace("team-0", "X") == missing[2]["message"].replace(
        "no-such", "X"
    )


def test_the_cli_follows_the_cursors(modules: Server, people: dict[str, Any], many: int) -> None:
    alice, ivy = people["alice_env"], people["ivy_env"]
    assert len(modules.depot_json("ls", "payments", "--limit", "3", env=alice)) == 3
    every = modules.depot_json("ls", "payments", "--all", env=alice)
    assert len(every) > 200 and len({p["name"] for p in every}) == len(every)
    first = modules.depot("ls", "payments", env=alice)
    assert "there are more: --limit N or --all" in first.stderr
    assert len(modules.depot_json("audit", "--limit", "7", env=ivy)) == 7
    trail = modules.depot_json("audit", "--all", env=ivy)
    assert len(trail) > 200 and [e["id"] for e in trail] == sorted({e["id"] for e in trail})
    files = modules.depot_json("ls", "payments/app-0@1.0.0", "--limit", "2", env=alice)
    assert len(files["files"]) == 2
    assert len(modules.depot_json("requests", "--mine", "--limit", "4", env=alice)) == 4
    # Every ticket the API's pages hold (other tests of this server may have added some).
    tickets = {t["number"] for t in read_all(people["alice"], "/api/v1/service/tickets", "tickets")}
    listed = modules.depot_json("service", "list", "--all", env=alice)
    assert {t["number"] for t in listed} == tickets and len(listed) == len(tickets) >= 5
    assert len(modules.depot_json("quality", "issues", "--limit", "2", env=alice)) == 2
