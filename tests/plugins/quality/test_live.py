"""THE scenario over real HTTP: a serious issue confirmed against one version stops its
whole build batch at once (a download in flight is cut, a pending check-out cannot be
approved, downloads and `depot pull` are refused, the signed status says quarantined),
an unrelated version goes on, and lifting restores everything. And the `depot quality`
commands."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import urllib3
from click.testing import Result

from policies.trust.documents import Status
from policies.trust.dsse import Envelope
from tests.client.conftest import Live
from tests.fixtures.factories import accept
from tests.plugins.quality.conftest import check_in, check_out, make_version, populate, push, vpath

BIG = 32 * 1024 * 1024 + 12345


def run(live: Live, who: str, *args: str) -> Result:
    """`depot ARGS` as ``who`` (their token), against the live server."""
    return live.depot(*args, env={"DEPOT_URL": live.url, "DEPOT_TOKEN": live.world.tokens[who]})


def ok(live: Live, who: str, *args: str) -> str:
    result = run(live, who, *args)
    assert result.exit_code == 0, result.output
    return result.stdout


def js(live: Live, who: str, *args: str) -> Any:
    return json.loads(ok(live, who, "--json", *args))


class Http:
    """Real HTTP calls to the live server as one person."""

    def __init__(self, live: Live) -> None:
        self.live = live
        self.pool = urllib3.PoolManager(retries=False)

    def __call__(
        self, who: str, method: str, path: str, body: Any = None
    ) -> urllib3.BaseHTTPResponse:
        headers = {"Authorization": f"Bearer {self.live.world.tokens[who]}"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        return self.pool.request(
            method,
            self.live.url + path,
            body=json.dumps(body).encode() if body is not None else None,
            headers=headers,
        )

    def status(self, who: str, ref: str) -> Status:
        answer = self(who, "GET", vpath(ref) + "/status")
        assert answer.status == 200, answer.data
        return Status.from_payload(Envelope.from_json(answer.json()).payload)


def scene(make_live: Callable[..., Live]) -> Live:
    live = make_live("quality", settings={"download_recheck_seconds": 0})
    w = populate(live.world)
    big = bytes(range(256)) * (BIG // 256) + b"x" * (BIG % 256)
    push(w, "team/app@1.0.0", "app.bin", big, build_id="B-7")
    make_version(w, "team/lib@2.0.0")
    push(w, "team/lib@2.0.0", "lib.bin", b"the lib", build_id="B-7")
    make_version(w, "team/tool@3.0.0")
    push(w, "team/tool@3.0.0", "tool.bin", b"the tool", build_id="B-8")
    for ref in ("team/app@1.0.0", "team/lib@2.0.0", "team/tool@3.0.0"):
        check_in(w, ref)
    return live


def test_a_confirmed_serious_issue_stops_the_whole_batch_at_once(
    make_live: Callable[..., Live], tmp_path: Path
) -> None:
    live = scene(make_live)
    w, http = live.world, Http(live)
    check_out(w, "team/app@1.0.0")
    check_out(w, "team/tool@3.0.0")
    pending = check_out(w, "team/lib@2.0.0", approve=False)
    assert http.status("alice", "team/app@1.0.0").state == "checked_in"
    ok(live, "alice", "trust", "init", live.url, "--root-fingerprint", w.depot.keys.fingerprint())
    # A large download is in flight: the first chunk has arrived.
    flight = http.pool.request(
        "GET",
        live.url + vpath("team/app@1.0.0") + "/files/app.bin",
        headers={"Authorization": f"Bearer {w.tokens['alice']}"},
        preload_content=False,
    )
    assert flight.status == 200
    received = len(flight.read(1 << 20))
    assert received > 0

    reported = js(
        live,
        "bob",
        "quality",
        "report",
        "team/app@1.0.0",
        "--title",
        "Payments lost",
        "--description",
        "batch B-7 drops payments",
        "--serious",
    )
    assert reported["number"] == "Q-1"
    out = ok(live, "quinn", "quality", "confirm", "Q-1", "--cause", "product", "--comment", "bad")
    assert "Q-1 confirmed (cause product): 2 version(s) quarantined" in out

    # The download in flight is cut: its body ends short.
    try:
        while chunk := flight.read(1 << 20):
            received += len(chunk)
    except urllib3.exceptions.HTTPError:
        pass
    flight.release_conn()
    assert received < BIG
    # The pending check-out cannot be approved; a new download is refused.
    approve = http("victor", "POST", f"/api/v1/requests/{pending}/approve", {})
    assert approve.status == 403 and approve.json()["rule"] == "quality.serious_issue"
    download = http("alice", "GET", vpath("team/app@1.0.0") + "/files/app.bin")
    assert download.status == 403 and "Q-1" in download.json()["message"]
    pulled = run(live, "alice", "pull", "team/app@1.0.0", "-o", str(tmp_path / "pull"))
    assert pulled.exit_code != 0 and "Q-1" in pulled.output, pulled.output
    assert not (tmp_path / "pull" / "app.bin").exists()
    for ref in ("team/app@1.0.0", "team/lib@2.0.0"):
        status = http.status("alice", ref)
        assert status.state == "quarantined" and "Q-1" in status.reason
    # Another build batch goes on.
    assert http.status("alice", "team/tool@3.0.0").state == "checked_in"
    tool = http("alice", "GET", vpath("team/tool@3.0.0") + "/files/tool.bin")
    assert tool.status == 200 and tool.data == b"the tool"
    listed = ok(live, "bob", "quality", "quarantines")
    assert "team/app@1.0.0" in listed and "team/lib@2.0.0" in listed and "B-7" in listed

    # Lifting restores everything.
    refused = run(live, "alice", "quality", "lift", "Q-1", "--reason", "mine")
    assert refused.exit_code == 7 and "only a quality manager" in refused.output
    out = ok(live, "quinn", "quality", "lift", "Q-1", "--reason", "rebuilt as B-9, retested")
    assert "released: team/app@1.0.0, team/lib@2.0.0" in out
    assert http("victor", "POST", f"/api/v1/requests/{pending}/approve", {}).status == 200
    again = http("alice", "GET", vpath("team/app@1.0.0") + "/files/app.bin")
    assert again.status == 200 and len(again.data) == BIG
    assert http.status("alice", "team/lib@2.0.0").state == "checked_in"
    audit = w.audit()
    for action in ("version.quarantine", "version.release"):
        assert sorted(e["target"] for e in audit if e["action"] == action) == [
            "team/app@1.0.0",
            "team/lib@2.0.0",
        ]
    shown = ok(live, "bob", "quality", "show", "Q-1")
    assert "quinn confirm: cause product. bad" in shown and "quinn lift: rebuilt" in shown

    # The recall list: who took the batch out, on the terminal and exported.
    recall = js(live, "quinn", "quality", "recall", "Q-1", "--all")
    taken = {(e["kind"], e["person"], e["ref"], e["file"]) for e in recall}
    assert ("checkout", "alice", "team/app@1.0.0", None) in taken
    assert ("download", "alice", "team/app@1.0.0", "app.bin") in taken
    assert ("checkout", "alice", "team/lib@2.0.0", None) in taken  # the pending one
    table = ok(live, "victor", "quality", "recall", "Q-1", "--all")
    assert "alice" in table and "app.bin" in table and "127.0.0.1" in table
    saved = tmp_path / "recall.csv"
    ok(live, "ivy", "quality", "recall", "Q-1", "--csv", str(saved))
    assert saved.read_text().startswith("kind,ref,file,person,at,address,checkout")
    exported = tmp_path / "recall.json"
    ok(live, "ivy", "quality", "recall", "Q-1", "--export-json", str(exported))
    assert json.loads(exported.read_text())["entries"] == recall
    refused = run(live, "bob", "quality", "recall", "Q-1")
    assert refused.exit_code == 7 and "recall list" in refused.output
    # alice took the batch out: her stop-use notice, on the terminal.
    notices = ok(live, "alice", "quality", "notices")
    assert "Stop-use notice" in notices and "team/app@1.0.0" in notices
    assert "No stop-use notice" in ok(live, "bob", "quality", "notices")


def test_past_its_end_of_support_a_version_is_withdrawn_everywhere(
    make_live: Callable[..., Live], tmp_path: Path
) -> None:
    live = make_live("quality")
    w = populate(live.world)
    push(w, "team/app@1.0.0", "app.bin", b"app", build_id="B-1")
    check_in(w, "team/app@1.0.0")
    check_out(w, "team/app@1.0.0")
    ok(live, "alice", "trust", "init", live.url, "--root-fingerprint", w.depot.keys.fingerprint())
    pulled = run(live, "alice", "pull", "team/app@1.0.0", "-o", str(tmp_path / "before"))
    assert pulled.exit_code == 0, pulled.output
    today = w.clock.now().date().isoformat()
    shown = ok(live, "quinn", "quality", "archive", "team/app@1.0.0", "--end-of-support", today)
    assert "build batch:    B-1" in shown and f"{today} (past: withdrawn" in shown
    refused = run(live, "bob", "checkout", "request", "team/app@1.0.0", "--purpose", "x")
    assert refused.exit_code == 7 and f"support of this version ended on {today}" in refused.output
    # The check-out approved before downloads no more: curl on the route, and depot pull.
    http = Http(live)
    download = http("alice", "GET", vpath("team/app@1.0.0") + "/files/app.bin")
    assert download.status == 403 and download.json()["rule"] == "quality.end_of_support"
    pulled = run(live, "alice", "pull", "team/app@1.0.0", "-o", str(tmp_path / "after"))
    assert pulled.exit_code != 0 and f"ended on {today}" in pulled.output, pulled.output
    assert not (tmp_path / "after" / "app.bin").exists()
    assert js(live, "bob", "quality", "archive")[0]["ref"] == "team/app@1.0.0"
    # One retirement request waits for the version manager; retiring closes it.
    waiting = ok(live, "victor", "quality", "retirements")
    assert "team/app@1.0.0" in waiting and today in waiting and "open" in waiting
    ok(live, "victor", "retire", "team/app@1.0.0", "--reason", "end of support")
    assert "No retirement request is waiting." in ok(live, "victor", "quality", "retirements")
    assert js(live, "victor", "quality", "retirements", "--all")[0]["state"] == "retired"
    # A whole product's end of support, by the CLI.
    product = ok(live, "quinn", "quality", "archive", "team/app", "--end-of-support", today)
    assert f"{today} (past: every version withdrawn)" in product
    bad = run(live, "quinn", "quality", "archive", "team/app@1.0.0", "--end-of-support", "soon")
    assert bad.exit_code == 8 and "end_of_support" in bad.output


def test_the_quality_commands(make_live: Callable[..., Live]) -> None:
    live = make_live("quality")
    populate(live.world)
    out = ok(
        live,
        "quinn",
        "quality",
        "supplier",
        "add",
        "Acme Ltd",
        "--qualification",
        "ISO 9001",
        "--qualified-until",
        "2030-01-01",
        "--contact",
        "li@acme",
    )
    assert out.strip() == "supplier Acme Ltd added"
    ok(
        live,
        "quinn",
        "quality",
        "supplier",
        "evaluate",
        "Acme Ltd",
        "--period",
        "2026-H1",
        "--score",
        "4",
    )
    bad = run(
        live,
        "quinn",
        "quality",
        "supplier",
        "evaluate",
        "Acme Ltd",
        "--period",
        "2026-H2",
        "--score",
        "6",
    )
    assert bad.exit_code == 8 and "score" in bad.output
    member = run(live, "bob", "quality", "supplier", "add", "X", "--qualification", "none")
    assert member.exit_code == 7
    assert "2026-H1: 4/5" in ok(live, "bob", "quality", "supplier", "list")
    ok(
        live,
        "bob",
        "quality",
        "report",
        "team/app@1.0.0",
        "--title",
        "Typo in manual",
        "--description",
        "page 3",
        "--general",
        "--supplier",
        "Acme Ltd",
    )
    unknown = run(
        live,
        "bob",
        "quality",
        "report",
        "team/app@1.0.0",
        "--title",
        "t",
        "--description",
        "d",
        "--general",
        "--supplier",
        "Nobody",
    )
    assert unknown.exit_code == 8 and "no supplier 'Nobody'" in unknown.output
    assert (
        run(
            live, "bob", "quality", "report", "team/app@1.0.0", "--title", "t", "--description", "d"
        ).exit_code
        == 2
    )
    listed = js(live, "bob", "quality", "issues", "--open", "--version", "team/app@1.0.0")
    assert [(i["number"], i["class"], i["supplier"]) for i in listed] == [
        ("Q-1", "general", "Acme Ltd")
    ]
    table = ok(live, "bob", "quality", "issues")
    assert "Q-1" in table and "Typo in manual" in table
    assert "Q-1" in ok(live, "bob", "quality", "supplier", "show", "Acme Ltd")
    ok(live, "quinn", "quality", "handle", "Q-1", "--note", "vendor informed")
    assert (
        ok(live, "alice", "quality", "close", "Q-1", "--resolution", "fixed").strip()
        == "Q-1 closed"
    )
    assert js(live, "bob", "quality", "issues", "--open") == []
    assert js(live, "bob", "quality", "trends")[-1]["general"] == 1
    missing = run(live, "dave", "quality", "show", "Q-1")
    assert missing.exit_code == 4
    assert run(live, "bob", "quality", "show", "twelve").exit_code == 2


def test_a_server_without_the_module_says_so(make_live: Callable[..., Live]) -> None:
    live = make_live()
    live.world.user("bob")
    result = run(live, "bob", "quality", "issues")
    assert result.exit_code == 4
    assert "the quality module is not enabled on this server" in result.output


def test_a_suspended_supplier_through_the_cli(make_live: Callable[..., Live]) -> None:
    live = make_live("quality")
    w = populate(live.world)
    ok(live, "quinn", "quality", "supplier", "add", "Acme", "--qualification", "ISO 9001",
       "--evaluation-months", "6")  # fmt: skip
    w.product("team", "router", w.tokens["alice"], origin="purchased", vendor="Acme")
    w.version("team", "router", "1.0", w.tokens["alice"])
    push(w, "team/router@1.0", "fw.bin", b"firmware")
    accept(w, "team/router@1.0")
    shown = ok(live, "bob", "quality", "supplier", "show", "Acme")
    assert "team/router (application)" in shown and "every 6 months" in shown
    due = ok(live, "bob", "quality", "supplier", "list", "--due")
    assert "Acme" in due and "due since" in due
    ok(live, "quinn", "quality", "supplier", "update", "Acme", "--status", "suspended")
    refused = run(live, "alice", "checkin", "request", "team/router@1.0", "--notes", "GA")
    assert refused.exit_code == 7, refused.output
    assert "supplier Acme of this purchased product is suspended" in refused.output
    ok(live, "quinn", "quality", "supplier", "evaluate", "Acme", "--period", "2026-H2",
       "--score", "3")  # fmt: skip
    assert "No supplier's evaluation is due." in ok(
        live, "bob", "quality", "supplier", "list", "--due"
    )
