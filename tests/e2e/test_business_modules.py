"""The business modules on the real server (`depot-server run`, gunicorn with two worker
processes), enabled by DEPOT_PLUGINS, on folder+SQLite and on S3+PostgreSQL: a complaint
registered and answered, a serious quality issue stopping a whole build batch across
worker processes at once (a pending check-out, a pull, the signed status), its lift,
and an audit trail that replays clean."""

from __future__ import annotations

import base64
import json
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from client.config import load_config
from tests.e2e.conftest import Server, serve
from tests.e2e.test_integrity import payments_team, subprocess_admin


@pytest.fixture(params=["folder+sqlite", "s3+postgresql"])
def modules(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    yield from serve(request, tmp_path, {"DEPOT_PLUGINS": "quality,product_service"})


def status_of(server: Server, env: dict[str, str], ref: str) -> str:
    """The state in the signed status document of ``ref``, as a client fetches it."""
    token = load_config(Path(env["DEPOT_CONFIG_DIR"]), server=server.url, environ={}).token
    group, rest = ref.split("/")
    product, version = rest.split("@")
    url = f"{server.url}/api/v1/groups/{group}/products/{product}/versions/{version}/status"
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        envelope = json.loads(response.read())
    return str(json.loads(base64.b64decode(envelope["payload"]))["state"])


def test_a_complaint_and_a_batch_quarantine_on_the_real_server(
    modules: Server, tmp_path: Path
) -> None:
    server = modules
    alice, carol, victor, quinn = payments_team(server, tmp_path, ("quinn", "quality_manager"))
    report = tmp_path / "report.txt"
    report.write_text("all tests pass\n")
    checkouts: dict[str, int] = {}
    for product in ("core", "gateway"):
        ref = f"payments/{product}@1.0.0"
        server.create_product(f"payments/{product}", "--category", "application",
            "--origin", "in_house", env=alice,
        )  # fmt: skip
        build = tmp_path / f"{product}.tar.gz"
        build.write_bytes(product.encode() * 100_000)
        server.depot("push", ref, str(build), "--create", env={**alice, "DEPOT_BUILD_ID": "B-7"})
        server.depot("submit", ref, "--to", "carol", env=alice)
        server.depot("accept", ref, "--report", str(report), env=carol)
        checkin = server.depot_json("checkin", "request", ref, "--notes", "GA", env=alice)
        server.depot("approve", str(checkin["id"]), env=victor)
        checkout = server.depot_json("checkout", "request", ref, "--purpose", "deploy", env=alice)
        checkouts[product] = int(checkout["id"])
    server.depot("approve", str(checkouts["core"]), env=victor)  # gateway's stays pending

    # After-sales: alice, the software manager, makes herself the group's service clerk;
    # a complaint registered and answered, through the real server.
    server.depot("service", "grant", "payments", "alice", "--role", "clerk", env=alice)
    ticket = server.depot_json(
        "service", "open", "payments/core@1.0.0", "--kind", "complaint", "--channel", "phone",
        "--customer", "Example Branch", "--contact", "Li Wei", "--phone", "+86 21 5555 0100",
        "--description", "the nightly batch stops at step 4", env=alice,
    )  # fmt: skip
    assert ticket["number"] == "S-1" and ticket["charge"] == "free"
    server.depot("service", "respond", "S-1", "--note", "called back", env=alice)
    shown = server.depot_json("service", "show", "S-1", env=alice)
    assert shown["status"] == "responded" and not shown["overdue"]

    # alice pins the root key her administrator gave her: her pulls are verified.
    server.depot("trust", "init", server.url, "--root-fingerprint", server.fingerprint, env=alice)

    # A serious issue, confirmed by the quality manager: the whole batch stops.
    server.depot(
        "quality", "report", "payments/core@1.0.0", "--serious", "--title", "crash on start",
        "--description", "core 1.0.0 crashes on start on every node", env=alice,
    )  # fmt: skip
    refused = server.depot(
        "quality", "confirm", "Q-1", "--cause", "product", env=alice, check=False
    )
    assert refused.returncode != 0 and "quality manager" in refused.stderr
    server.depot(
        "quality", "confirm", "Q-1", "--cause", "product", "--comment", "bad build", env=quinn
    )
    quarantined = server.depot_json("quality", "quarantines", env=quinn)
    assert sorted(q["ref"] for q in quarantined) == [
        "payments/core@1.0.0",
        "payments/gateway@1.0.0",
    ]
    # Every worker process knows at once: ask several times (gunicorn spreads requests).
    for _ in range(4):
        approve = server.depot("approve", str(checkouts["gateway"]), env=victor, check=False)
        assert approve.returncode != 0 and "quality.serious_issue" in approve.stderr
        pulled = server.depot(
            "pull", "payments/core@1.0.0", "-o", str(tmp_path / "out"), env=alice, check=False
        )
        assert pulled.returncode != 0 and "serious quality issue Q-1" in pulled.stderr
        assert status_of(server, alice, "payments/gateway@1.0.0") == "quarantined"

    # Lifted with a reason: use resumes.
    server.depot("quality", "lift", "Q-1", "--reason", "rebuilt and retested", env=quinn)
    server.depot("approve", str(checkouts["gateway"]), env=victor)
    server.depot("pull", "payments/core@1.0.0", "-o", str(tmp_path / "out"), env=alice)
    assert (tmp_path / "out" / "core.tar.gz").read_bytes() == b"core" * 100_000
    assert status_of(server, alice, "payments/core@1.0.0") == "checked_in"

    code, text = subprocess_admin(server, "audit", "verify")
    assert code == 0 and "the log and every signature verify" in text
    code, listing = subprocess_admin(
        server, "--json", "audit", "list", "--action", "version.quarantine"
    )
    assert sorted(r["target"] for r in json.loads(listing)) == [
        "payments/core@1.0.0",
        "payments/gateway@1.0.0",
    ]


def _call(url: str, token: str, method: str, path: str, body: object = None) -> tuple[int, dict]:  # type: ignore[type-arg]
    """``method path`` on the server at ``url`` with a bearer token: the status and JSON."""
    import urllib.error

    data = json.dumps(body).encode() if body is not None else None
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    request = urllib.request.Request(url + path, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw.startswith(b"{") else {}
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def test_a_quarantine_outlives_the_module_and_a_start_without_it_is_refused(
    modules: Server, tmp_path: Path
) -> None:
    """Restarting without the quality module (DEPOT_PLUGINS= empty) is refused while its
    quarantines are active; told explicitly (DEPOT_ALLOW_MISSING_PLUGINS=quality) the
    server starts, audits it, and still refuses the quarantined batch."""
    from tests.e2e.conftest import BIN, start_server, stop_server

    server = modules
    alice, carol, victor, quinn = payments_team(server, tmp_path, ("quinn", "quality_manager"))
    ref = "payments/core@1.0.0"
    report = tmp_path / "report.txt"
    report.write_text("all tests pass\n")
    server.create_product(
        "payments/core", "--category", "application", "--origin", "in_house", env=alice,
    )  # fmt: skip
    build = tmp_path / "core.tar.gz"
    build.write_bytes(b"core" * 10_000)
    server.depot("push", ref, str(build), "--create", env={**alice, "DEPOT_BUILD_ID": "B-7"})
    server.depot("submit", ref, "--to", "carol", env=alice)
    server.depot("accept", ref, "--report", str(report), env=carol)
    checkin = server.depot_json("checkin", "request", ref, "--notes", "GA", env=alice)
    server.depot("approve", str(checkin["id"]), env=victor)
    server.depot(
        "quality", "report", ref, "--serious", "--title", "crash", "--description", "on start",
        env=alice,
    )  # fmt: skip
    server.depot("quality", "confirm", "Q-1", "--cause", "product", env=quinn)
    token = load_config(Path(alice["DEPOT_CONFIG_DIR"]), server=server.url, environ={}).token
    stop_server(server)

    # The compose file that forgot the module: refused, with what to do.
    bare = {**server.env, "DEPOT_PLUGINS": ""}
    refused = subprocess.run(
        [str(BIN / "depot-server"), "run"], env=bare, capture_output=True, text=True, timeout=120
    )
    assert refused.returncode != 0, refused.stdout
    said = refused.stdout + refused.stderr
    assert "refusing to start" in said and "quality" in said
    assert "DEPOT_ALLOW_MISSING_PLUGINS=quality" in said

    # Told explicitly: it starts, and the batch stays stopped without the module.
    keep = {k: v for k, v in server.env.items() if k in ("DEPOT_DATABASE_URL", "DEPOT_STORAGE_URL")}
    allowed = start_server(
        tmp_path, {**keep, "DEPOT_PLUGINS": "", "DEPOT_ALLOW_MISSING_PLUGINS": "quality"}
    )
    try:
        path = "/api/v1/groups/payments/products/core/versions/1.0.0"
        code, body = _call(allowed.url, token, "GET", path + "/files/core.tar.gz")
        assert code == 403 and body["rule"] == "quality.serious_issue" and "Q-1" in body["message"]
        code, body = _call(allowed.url, token, "POST", path + "/checkout", {"purpose": "deploy"})
        assert code == 403 and body["rule"] == "quality.serious_issue"
        code, envelope = _call(allowed.url, token, "GET", path + "/status")
        assert code == 200
        assert json.loads(base64.b64decode(envelope["payload"]))["state"] == "quarantined"
        code, listing = subprocess_admin(
            allowed, "--json", "audit", "list", "--action", "server.start"
        )
        starts = json.loads(listing)
        assert [(r["outcome"], r["rule"]) for r in starts] == [
            ("refused", "quarantine.module_missing"),
            ("ok", "quarantine.module_missing"),
        ]
        assert starts[1]["details"]["missing"] == ["quality"]
    finally:
        stop_server(allowed)
