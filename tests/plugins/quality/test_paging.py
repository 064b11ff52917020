"""The quality module's smaller listings page like its issues (docs/api.md, "Listings are
paged"): quarantines, stop-use notices, versions past their end of support, suppliers.
Each one read ``limit=2`` at a time by following its ``Link`` header gives every row
exactly once, also when rows are added between two pages, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.client.conftest import Live
from tests.fixtures.paging import once_each, read_all
from tests.plugins.quality.conftest import (
    api,
    check_in,
    check_out,
    make_version,
    populate,
    push,
)
from tests.support import World

Q = "/api/v1/quality"


def batch_in_use(q: World, n: int) -> str:
    """``team/app-n@1.0.0``, checked in with build batch ``B-n`` and checked out by alice;
    its ref."""
    ref = f"team/app-{n}@1.0.0"
    make_version(q, ref)
    push(q, ref, f"app-{n}.bin", f"build {n}".encode(), build_id=f"B-{n}")
    check_in(q, ref)
    check_out(q, ref)
    return ref


def quarantine(q: World, ref: str) -> None:
    """A serious issue against ``ref``, confirmed: its batch is quarantined, and alice,
    who took it out, gets a stop-use notice."""
    issue = api(
        q, "bob", "POST", Q + "/issues",
        {"version": ref, "title": "bad batch", "description": "crash", "class": "serious"}, 201,
    )  # fmt: skip
    api(q, "quinn", "POST", Q + f"/issues/{issue['number']}/confirm", {"comment": "bad"})


def test_quarantines_and_notices_page_newest_first(q: World) -> None:
    refs = [batch_in_use(q, n) for n in range(6)]
    for ref in refs[:5]:
        quarantine(q, ref)

    quarantines = read_all(q, "bob", Q + "/quarantines", "quarantines")
    once_each(quarantines, lambda x: x["ref"], set(refs[:5]))
    assert [x["ref"] for x in quarantines] == refs[4::-1]

    lifted = read_all(
        q, "bob", Q + "/quarantines?all=true", "quarantines", lambda: quarantine(q, refs[5])
    )
    once_each(lifted, lambda x: x["ref"], set(refs[:5]))

    notices = read_all(q, "alice", Q + "/notices", "notices")
    once_each(notices, lambda n: n["issue"], {f"Q-{n}" for n in range(1, 7)})
    assert [n["issue"] for n in notices] == [f"Q-{n}" for n in range(6, 0, -1)]


def test_versions_past_their_end_of_support_page_oldest_end_first(q: World) -> None:
    refs = ["team/app@1.0.0"]
    for n in range(1, 7):
        refs.append(f"team/app@1.{n}.0")
        make_version(q, refs[-1])

    def ended(n: int) -> None:
        body = {"end_of_support": f"2020-01-0{n + 1}"}
        api(q, "quinn", "PUT", Q + "/archive/" + refs[n].replace("@", "/"), body)

    for n in range(5):
        ended(n)
    versions = read_all(q, "bob", Q + "/archive", "versions", lambda: ended(6))
    once_each(versions, lambda v: v["ref"], set(refs[:5]))
    assert [v["end_of_support"] for v in versions] == sorted(v["end_of_support"] for v in versions)


def test_suppliers_page_by_name(q: World) -> None:
    def add(name: str) -> None:
        api(q, "quinn", "POST", Q + "/suppliers", {"name": name, "qualification": "ISO"}, 201)

    for name in ("Bolt", "Cog", "Dyne", "Emit", "Flux"):
        add(name)
    suppliers = read_all(q, "quinn", Q + "/suppliers", "suppliers", lambda: add("Zeta"))
    once_each(suppliers, lambda s: s["name"], {"Bolt", "Cog", "Dyne", "Emit", "Flux", "Zeta"})
    assert [s["name"] for s in suppliers] == sorted(s["name"] for s in suppliers)


def test_the_quality_commands_follow_the_cursors(make_live: Callable[..., Live]) -> None:
    live = make_live("quality")
    q = populate(live.world)
    for name in ("Bolt", "Cog", "Dyne"):
        api(q, "quinn", "POST", Q + "/suppliers", {"name": name, "qualification": "ISO"}, 201)
    refs = [batch_in_use(q, n) for n in range(3)]
    for n, ref in enumerate(refs):
        quarantine(q, ref)
        body = {"end_of_support": f"2020-01-0{n + 1}"}
        api(q, "quinn", "PUT", Q + "/archive/" + ref.replace("@", "/"), body)

    def rows(who: str, *args: str) -> Any:
        env = {"DEPOT_URL": live.url, "DEPOT_TOKEN": q.tokens[who]}
        return live.json("quality", *args, env=env)

    assert [s["name"] for s in rows("quinn", "supplier", "list", "--limit", "2")] == ["Bolt", "Cog"]
    assert len(rows("quinn", "supplier", "list", "--all")) == 3
    assert len(rows("bob", "quarantines", "--limit", "2")) == 2
    assert len(rows("bob", "quarantines", "--all", "--all-pages")) == 3
    assert [n["issue"] for n in rows("alice", "notices", "--limit", "2")] == ["Q-3", "Q-2"]
    ended = rows("bob", "archive", "--limit", "2")
    assert [a["end_of_support"] for a in ended] == ["2020-01-01", "2020-01-02"]
