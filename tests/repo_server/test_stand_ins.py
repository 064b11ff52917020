"""Stand-ins: a version manager names someone to decide in her place for a period.

During the period the stand-in decides what the version manager decides, recorded as
"sara for victor"; four eyes hold for both of them; outside the period (before it, after
it, once revoked) she is refused with ``stand_in.period``. The clock is the test's.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from repo_server.clock import FrozenClock, iso
from tests.fixtures.factories import accept, api, people, ref_path
from tests.support import World

REF = "team/app@1.0.0"


@pytest.fixture
def desk(lib: World) -> World:
    """``lib`` plus sara, a member of ``team`` who uploaded nothing, vera, a second version
    manager, and root, an admin."""
    people(lib, "sara")
    people(lib, "vera", roles=("version_manager",))
    people(lib, "root", roles=("admin",))
    lib.depot.groups.add_member(_system(), "team", "sara", "member")
    lib.sign_in("sara")  # her token carries her new membership
    return lib


def _system() -> Any:
    from repo_server.auth.principal import system

    return system()


def appoint(
    w: World, who: str, clock: FrozenClock, *, status: int = 201, **body: Any
) -> dict[str, Any]:
    body.setdefault("stand_in", "sara")
    body.setdefault("ends_at", iso(clock.now() + timedelta(days=7)))
    answer: dict[str, Any] = api(w, who, "POST", "/api/v1/stand-ins", body, status)
    return answer


def file_checkin(w: World) -> int:
    accept(w, REF)
    answer = api(w, "alice", "POST", ref_path(REF) + "/checkin", {"release_notes": "GA"}, 201)
    return int(answer["id"])


def refused(w: World, who: str, request_id: int) -> dict[str, Any]:
    response = w.call(
        "POST", f"/api/v1/requests/{request_id}/approve", w.tokens[who], json={"comment": "ok"}
    )
    assert response.status_code == 403, response.json
    assert response.json is not None
    return response.json


def test_the_stand_in_decides_in_her_place_recorded_as_such(
    desk: World, clock: FrozenClock
) -> None:
    w = desk
    number = file_checkin(w)
    named = appoint(w, "victor", clock, reason="annual leave")
    assert (named["stands_for"], named["stand_in"], named["active"]) == ("victor", "sara", True)
    assert api(w, "sara", "GET", "/api/v1/auth/whoami")["stands_in_for"] == {
        "version_manager": "victor"
    }
    inbox = api(w, "sara", "GET", "/api/v1/requests?view=inbox")["requests"]
    assert [r["id"] for r in inbox] == [number]
    detail = api(w, "sara", "GET", f"/api/v1/requests/{number}")
    assert detail["you_may_approve"] is True
    # She reads what she decides, audited as a review.
    files = ref_path(REF) + "/files/app.tar.gz"
    assert w.call("GET", files, w.tokens["sara"]).status_code == 200

    decided = api(w, "sara", "POST", f"/api/v1/requests/{number}/approve", {"comment": "ok"})
    assert (decided["state"], decided["decided_by"], decided["decided_for"]) == (
        "approved",
        "sara",
        "victor",
    )
    assert decided["decided_role"] == "version_manager"
    record = w.audit(action="checkin.approve")[-1]
    assert (record["actor"], record["role"], record["details"]["for"]) == (
        "sara",
        "version_manager",
        "victor",
    )
    assert [e["action"] for e in w.audit(action="stand_in.appoint")] == ["stand_in.appoint"]
    # She is no version manager: she neither retires versions nor creates groups.
    retire = w.call("POST", ref_path(REF) + "/retire", w.tokens["sara"], json={"reason": "x"})
    assert retire.status_code == 403 and retire.json["rule"] == "role.version_manager"


def test_outside_the_period_the_stand_in_is_refused_by_rule(
    desk: World, clock: FrozenClock
) -> None:
    w = desk
    number = file_checkin(w)
    later = clock.now() + timedelta(days=1)
    appoint(w, "victor", clock, starts_at=iso(later), ends_at=iso(later + timedelta(days=2)))
    before = refused(w, "sara", number)
    assert before["error"] == "forbidden" and before["rule"] == "stand_in.period"
    assert "victor" in before["message"] and "not now" in before["message"]
    assert w.audit(action="checkin.approve")[-1]["outcome"] == "refused"

    clock.advance(days=1, minutes=1)
    w.sign_in("sara")
    assert api(w, "sara", "GET", f"/api/v1/requests/{number}")["you_may_approve"] is True
    clock.advance(days=2)
    after = refused(w, "sara", number)
    assert after["rule"] == "stand_in.period"
    assert api(w, "sara", "GET", f"/api/v1/requests/{number}")["you_may_approve"] is False


def test_a_revoked_appointment_ends_at_once(desk: World, clock: FrozenClock) -> None:
    w = desk
    number = file_checkin(w)
    named = appoint(w, "victor", clock)
    assert (
        api(w, "sara", "POST", f"/api/v1/stand-ins/{named['id']}/revoke", None, 403)["rule"]
        == "stand_in.appointer"
    )
    revoked = api(w, "victor", "POST", f"/api/v1/stand-ins/{named['id']}/revoke")
    assert revoked["revoked_by"] == "victor" and revoked["active"] is False
    assert refused(w, "sara", number)["rule"] == "stand_in.period"
    again = api(w, "victor", "POST", f"/api/v1/stand-ins/{named['id']}/revoke", None, 403)
    assert again["rule"] == "stand_in.period"
    assert api(w, "victor", "POST", "/api/v1/stand-ins/999/revoke", None, 404)


def test_four_eyes_hold_for_the_stand_in_and_for_whom_she_stands(
    desk: World, clock: FrozenClock
) -> None:
    w = desk
    # carol accepted the version: as victor's stand-in she cannot also check it in.
    number = file_checkin(w)
    appoint(w, "victor", clock, stand_in="carol")
    assert refused(w, "carol", number)["rule"] == "four_eyes.acceptance"
    # alice filed it: as a stand-in she cannot decide her own request either.
    appoint(w, "victor", clock, stand_in="alice")
    assert refused(w, "alice", number)["rule"] == "four_eyes.requester"


def test_nobody_decides_in_her_place_what_she_could_not(desk: World, clock: FrozenClock) -> None:
    w = desk
    # victor is in team too and uploads a file to the next version: he could not check it
    # in, so neither can sara for him; vera, the other version manager, can.
    w.depot.groups.add_member(_system(), "team", "victor", "member")
    w.sign_in("victor")
    w.version("team", "app", "1.1.0", w.tokens["alice"])
    ref = "team/app@1.1.0"
    assert w.upload(ref, "app.tar.gz", b"v2", w.tokens["victor"]).status_code == 201
    accept(w, ref)
    number = api(w, "alice", "POST", ref_path(ref) + "/checkin", {"release_notes": "2"}, 201)["id"]
    appoint(w, "victor", clock)
    answer = refused(w, "sara", number)
    assert answer["rule"] == "four_eyes.stand_in"
    assert "victor" in answer["message"] and "uploaded" in answer["message"]
    assert api(w, "vera", "POST", f"/api/v1/requests/{number}/approve", {})["decided_for"] is None


def test_who_may_name_a_stand_in_and_for_how_long(desk: World, clock: FrozenClock) -> None:
    w = desk
    week = iso(clock.now() + timedelta(days=7))
    assert appoint(w, "sara", clock, stands_for="victor", status=403)["rule"] == (
        "stand_in.appointer"
    )
    assert appoint(w, "victor", clock, stands_for="vera", status=403)["rule"] == (
        "stand_in.appointer"
    )
    assert appoint(w, "root", clock, stands_for="vera")["stands_for"] == "vera"
    assert appoint(w, "alice", clock, status=403)["rule"] == "stand_in.holder"
    assert appoint(w, "victor", clock, stand_in="victor", status=403)["rule"] == (
        "stand_in.same_person"
    )
    too_long = iso(clock.now() + timedelta(days=91))
    assert appoint(w, "victor", clock, ends_at=too_long, status=403)["rule"] == "stand_in.period"
    past = iso(clock.now() - timedelta(hours=1))
    assert appoint(w, "victor", clock, ends_at=past, status=403)["rule"] == "stand_in.period"
    nobody = w.call(
        "POST",
        "/api/v1/stand-ins",
        w.tokens["victor"],
        json={"stand_in": "nobody", "ends_at": week},
    )
    assert nobody.status_code == 404 and "no active person" in nobody.json["message"]
    for bad in (
        {"stand_in": "sara", "ends_at": "2026-12-10T00:00:00"},  # no time zone
        {"stand_in": "sara", "ends_at": week, "role": "auditor"},
        {"stand_in": "sara"},
    ):
        response = w.call("POST", "/api/v1/stand-ins", w.tokens["victor"], json=bad)
        assert response.status_code == 400, (bad, response.json)
    refusals = [e for e in w.audit(action="stand_in.appoint") if e["outcome"] == "refused"]
    assert {e["rule"] for e in refusals} >= {"stand_in.appointer", "stand_in.period"}
    # The people named see their appointments; a version manager sees them all.
    mine = api(w, "sara", "GET", "/api/v1/stand-ins")["stand_ins"]
    assert [(s["stands_for"], s["stand_in"]) for s in mine] == [("vera", "sara")]
    assert api(w, "dave", "GET", "/api/v1/stand-ins")["stand_ins"] == []
    assert len(api(w, "victor", "GET", "/api/v1/stand-ins")["stand_ins"]) == 1
