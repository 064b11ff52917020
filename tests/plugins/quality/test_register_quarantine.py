"""The library register says when a confirmed serious quality issue quarantines a version
(issue 12 §2: state in library / checked out / retired / quarantined)."""

from __future__ import annotations

from tests.plugins.quality.conftest import api, check_in, push
from tests.support import World


def test_a_quarantined_version_is_quarantined_in_the_register(q: World) -> None:
    push(q, "team/app@1.0.0", "app.bin", b"app build", build_id="B-7")
    check_in(q, "team/app@1.0.0")
    [entry] = api(q, "victor", "GET", "/api/v1/register")["entries"]
    assert entry["state"] == "in_library"
    issue = {"version": "team/app@1.0.0", "title": "Crash", "description": "core dump",
             "class": "serious"}  # fmt: skip
    api(q, "bob", "POST", "/api/v1/quality/issues", issue, 201)
    api(q, "quinn", "POST", "/api/v1/quality/issues/Q-1/confirm", {"comment": "bad batch"})
    [entry] = api(q, "ivy", "GET", "/api/v1/register")["entries"]
    assert entry["state"] == "quarantined"
    found = api(q, "victor", "GET", "/api/v1/register?state=quarantined")["entries"]
    assert [e["ref"] for e in found] == ["team/app@1.0.0"]
    assert api(q, "victor", "GET", "/api/v1/register?state=in_library")["entries"] == []
