"""Quality decisions signed personally, verifiable offline: the quality manager's confirm
and lift carry their enrolled key's signature; the server refuses a signature that does
not verify (SQLite and PostgreSQL); `depot quality verify` checks every decision online
and from an exported file, and refuses once someone with the database edits a decision."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from policies.trust.dsse import sign
from policies.trust.keys import public_text
from repo_server.auth.principal import system
from tests.client.conftest import Live
from tests.plugins.quality.conftest import api, check_in, populate
from tests.plugins.quality.test_live import js, ok, run
from tests.repo_server.test_plugin_extensions import sign_in_page
from tests.support import World

Q = "/api/v1/quality"
ISSUE = {"version": "team/app@1.0.0", "title": "Payments lost", "description": "in B-7"}


def enroll(w: World, *users: str) -> None:
    with w.depot.db.write() as session:
        w.depot.enrollment.publish(session, system(), w.enrollment_keys, enroll_users=list(users))


def test_signed_decisions_verify_until_someone_edits_the_record(
    make_live: Callable[..., Live], tmp_path: Path
) -> None:
    live = make_live("quality")
    w = populate(live.world)
    check_in(w, "team/app@1.0.0")
    api(w, "bob", "POST", Q + "/issues", {**ISSUE, "class": "serious"}, 201)
    ok(live, "quinn", "keys", "generate")
    enroll(w, "quinn")
    ok(live, "quinn", "trust", "init", live.url, "--root-fingerprint", w.depot.keys.fingerprint())

    decided = run(live, "quinn", "quality", "confirm", "Q-1", "--cause", "product",
                  "--comment", "the build is broken")  # fmt: skip
    assert decided.exit_code == 0, decided.output
    assert "signing with personal key" in decided.output
    verified = ok(live, "bob", "quality", "verify", "Q-1")
    assert "confirm by quinn" in verified and "signature verified" in verified
    # Offline: the decisions and the enrolment document in one file.
    bundle = tmp_path / "q1.json"
    ok(live, "bob", "quality", "export", "Q-1", str(bundle))
    assert js(live, "bob", "quality", "verify", "--bundle", str(bundle))["ok"] is True

    # Someone with the database rewrites the decision's words: the client refuses.
    with w.depot.db.write() as session:
        session.execute(
            sa.text("UPDATE quality_issue_events SET text = :t WHERE step = 'confirm'"),
            {"t": "cause product. harmless, keep using it"},
        )
    edited = run(live, "bob", "quality", "verify", "Q-1")
    assert edited.exit_code == 6, edited.output
    assert "differs from what quinn signed" in edited.output
    assert "the words recorded" in edited.output
    edited_bundle = tmp_path / "edited.json"
    ok(live, "bob", "quality", "export", "Q-1", str(edited_bundle))
    assert run(live, "bob", "quality", "verify", "--bundle", str(edited_bundle)).exit_code == 6
    # The file exported before the edit still verifies: it holds what was signed.
    assert run(live, "bob", "quality", "verify", "--bundle", str(bundle)).exit_code == 0
    # Dropping the signature does not help: an unsigned decision is flagged.
    with w.depot.db.write() as session:
        session.execute(sa.text("UPDATE quality_issue_events SET signature = NULL"))
    unsigned = run(live, "bob", "quality", "verify", "Q-1")
    assert unsigned.exit_code == 6 and "not signed" in unsigned.output

    # The lift is signed too.
    ok(live, "quinn", "quality", "lift", "Q-1", "--reason", "fixed in 1.0.1")
    result = run(live, "bob", "--json", "quality", "verify", "Q-1")
    assert result.exit_code == 6
    found = json.JSONDecoder().raw_decode(result.stdout)[0]["decisions"]
    assert [(d["step"], d["ok"]) for d in found] == [("confirm", False), ("lift", True)]


def test_the_server_refuses_a_decision_whose_signature_does_not_verify(q: World) -> None:
    check_in(q, "team/app@1.0.0")
    api(q, "bob", "POST", Q + "/issues", {**ISSUE, "class": "serious"}, 201)
    key = Ed25519PrivateKey.generate()
    api(q, "quinn", "POST", "/api/v1/keys", {"public": public_text(key.public_key())}, 201)
    enroll(q, "quinn")
    no_cause = {"action": "dismiss", "text": "x"}
    bad = q.call("POST", Q + "/issues/Q-1/to-sign", q.tokens["quinn"], json=no_cause)
    assert bad.status_code == 400 and bad.json["field"] == "cause"
    draft = {"action": "confirm", "cause": "product", "text": "broken\nsee the log"}
    to_sign = api(q, "quinn", "POST", Q + "/issues/Q-1/to-sign", draft)
    payload = base64.b64decode(to_sign["payload"])
    body = {"cause": "product", "comment": "broken\nsee the log"}

    stranger = sign(to_sign["payloadType"], payload, [Ed25519PrivateKey.generate()]).to_json()
    refused = q.call(
        "POST", Q + "/issues/Q-1/confirm", q.tokens["quinn"], json={**body, "signature": stranger}
    )
    assert refused.status_code == 400 and refused.json["field"] == "signature"
    assert "does not verify" in refused.json["message"]
    good = sign(to_sign["payloadType"], payload, [key]).to_json()
    other_words = {**body, "comment": "something else", "signature": good}
    mismatch = q.call("POST", Q + "/issues/Q-1/confirm", q.tokens["quinn"], json=other_words)
    assert mismatch.status_code == 400 and "does not match" in mismatch.json["message"]
    # Nothing changed: still open, nothing quarantined.
    assert api(q, "bob", "GET", Q + "/issues/Q-1")["status"] == "open"
    assert api(q, "bob", "GET", Q + "/quarantines")["quarantines"] == []

    decided = api(q, "quinn", "POST", Q + "/issues/Q-1/confirm", {**body, "signature": good})
    assert decided["status"] == "confirmed"
    [event] = [
        e for e in api(q, "bob", "GET", Q + "/issues/Q-1")["events"] if e["step"] == "confirm"
    ]
    assert event["signature"]["payload"] == to_sign["payload"]
    [audited] = q.audit(action="quality.issue.confirm")
    assert audited["details"]["signed"] is True
    # The issue page says the decision is signed.
    sign_in_page(q, "bob")
    page = q.client.get("/quality/issues/Q-1").get_data(as_text=True)
    assert (
        "signed with quinn&#39;s personal key" in page or "signed with quinn's personal key" in page
    )
