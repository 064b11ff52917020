"""Quality decisions signed personally: `depot quality confirm` and `lift` sign the decision
with your personal key when you have one (`depot keys generate`, enrolled by the enrolment
officers); `depot quality verify` checks every decision of an issue against the enrolled
keys, online or offline from a file written by `depot quality export`."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from rich.markup import escape

from client.api import Api
from client.commands.quality_common import call, number
from client.context import Context, pass_context
from client.errors import ClientError, Exit, InputError
from client.trust import TrustStore, trust_failure
from policies.trust.canonical import parse_utc
from policies.trust.dsse import Envelope, sign
from policies.trust.enrollment import Enrollment, verify_enrollment
from policies.trust.errors import TrustError
from policies.trust.keys import keyid_of
from policies.trust.quality_decisions import (
    DecisionRecord,
    check_record,
    enrolled_keys_of,
    verify_decision,
)

DECISIONS = ("confirm", "dismiss", "lift")
BUNDLE = "depot.quality_decisions"


def signed(
    ctx: Context, api: Api, issue: str, action: str, cause: str | None, text: str
) -> dict[str, Any] | None:
    """The decision's envelope signed with the personal key, or ``None`` without a key."""
    from client.commands.trust import load_personal_key

    key = load_personal_key(ctx, api.server)
    if key is None:
        return None
    body = {"action": action, "cause": cause, "text": text}
    to_sign = call(api, "POST", f"/issues/{issue}/to-sign", body)
    ctx.output.note(f"signing with personal key {keyid_of(key.public_key())[:16]}…")
    payload = base64.b64decode(to_sign["payload"])
    return sign(to_sign["payloadType"], payload, [key]).to_json()


def _enrollment(store: TrustStore, envelope: Envelope, now: datetime, online: bool) -> Enrollment:
    try:
        version, seen = store.trusted_enrollment()
        return verify_enrollment(
            store.keyring(),
            envelope,
            now=now,
            trusted_version=version if online else None,
            trusted_payload_sha256=seen if online else None,
            check_expiry=online,
        )
    except TrustError as error:
        raise trust_failure(error, "the enrolment document does not verify") from None


def check_issue(
    issue: dict[str, Any], enrollment: Enrollment, repository: str
) -> list[dict[str, Any]]:
    """Each decision of ``issue`` (its record as the server shows it) checked against the
    enrolled keys: ``ok``, or what is wrong (unsigned, a signature or record that does not
    verify)."""
    results = []
    for event in issue["events"]:
        if event["step"] not in DECISIONS:
            continue
        entry = {"step": event["step"], "actor": event["actor"], "at": event["at"]}
        if event.get("signature") is None:
            results.append({**entry, "ok": False, "problem": "not signed"})
            continue
        record = DecisionRecord(
            issue=issue["number"],
            ref=issue["ref"],
            action=event["step"],
            actor=event["actor"],
            at=parse_utc(event["at"]),
            words=event["text"],
            issue_cause=issue["cause"],
            decided_by=issue["decided_by"],
        )
        try:
            envelope = Envelope.from_json(event["signature"])
            keys = enrolled_keys_of(enrollment, event["actor"])
            decision = verify_decision(envelope, keys, event["actor"])
            check_record(decision, record, repository)
        except TrustError as error:
            results.append({**entry, "ok": False, "problem": str(error)})
            continue
        results.append({**entry, "ok": True, "problem": None})
    return results


@click.command("verify")
@click.argument("issue", required=False)
@click.option("--bundle", "bundle", type=click.Path(dir_okay=False, path_type=Path),
              help="Verify offline, from a file written by `depot quality export`.")  # fmt: skip
@pass_context
def verify(ctx: Context, issue: str | None, bundle: Path | None) -> None:
    """Check that each decision on an issue was signed by its decider's enrolled key.

    Online (ISSUE) or offline (--bundle FILE) against the keyring pinned with
    `depot trust init`. Exits 6 when a decision is not signed, or its signature or
    record does not verify (someone changed the record after it was signed).
    """
    now = datetime.now(UTC)
    if bundle is not None:
        try:
            found = json.loads(bundle.read_bytes())
        except (OSError, json.JSONDecodeError, UnicodeDecodeError) as error:
            raise InputError(f"cannot read {bundle}: {error}") from None
        if not isinstance(found, dict) or found.get("_type") != BUNDLE:
            raise InputError(f"cannot read {bundle}: not a quality decisions file")
        try:
            store = TrustStore.for_server(found["server"])
            envelope = Envelope.from_json(found["enrollment"])
            info = found["issue"]
        except (KeyError, TypeError, AttributeError, TrustError) as error:
            raise InputError(f"cannot read {bundle}: {error}") from None
        enrollment = _enrollment(store, envelope, now, online=False)
    else:
        if issue is None:
            raise InputError("name an issue (Q-17) or give --bundle FILE")
        api = ctx.api()
        store = TrustStore.for_server(api.server)
        store.refresh_keyring(api, now)
        info = call(api, "GET", f"/issues/{number(issue)}")
        envelope = Envelope.from_json(api.get("/api/v1/trust/enrollment"))
        enrollment = _enrollment(store, envelope, now, online=True)
        store.remember_enrollment(enrollment, envelope)
    results = check_issue(info, enrollment, store.keyring().repository)
    lines = [
        f"{r['step']} by {escape(r['actor'])} at {r['at']}: "
        + ("[green]signature verified[/]" if r["ok"] else f"[red]{escape(r['problem'])}[/]")
        for r in results
    ]
    bad = [r for r in results if not r["ok"]]
    answer = {"issue": info["number"], "decisions": results, "ok": not bad}
    if bad:
        ctx.output.emit(answer, text="\n".join(lines))
        raise ClientError(
            f"{len(bad)} decision(s) of {info['number']} do not verify", Exit.INTEGRITY
        )
    text = "\n".join(lines) or f"{info['number']} has no decision yet"
    ctx.output.emit(answer, text=text)


@click.command("export")
@click.argument("issue")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@pass_context
def export(ctx: Context, issue: str, file: Path) -> None:
    """Write an issue's decisions and the enrolment document to FILE, for
    `depot quality verify --bundle FILE` without the server."""
    api = ctx.api()
    found = {
        "_type": BUNDLE,
        "server": api.server,
        "issue": call(api, "GET", f"/issues/{number(issue)}"),
        "enrollment": api.get("/api/v1/trust/enrollment"),
    }
    file.write_text(json.dumps(found, indent=1, sort_keys=True))
    ctx.output.emit({"file": str(file)}, text=f"wrote {file}")
