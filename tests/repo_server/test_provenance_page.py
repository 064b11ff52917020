"""The version page says whether the build is proven: "stated, not proven" without a
signed attestation, "signed" with the attestation's signer, builder and run."""

from __future__ import annotations

import hashlib

from tests.fixtures.provenance import new_signer, public_text, sign, statement
from tests.repo_server.test_plugin_extensions import sign_in_page
from tests.support import World

VERSION = "/api/v1/groups/team/products/app/versions/1.0.0"


def test_the_version_page_shows_the_build_provenance(team: World) -> None:
    team.upload("team/app@1.0.0", "app.bin", b"app", team.tokens["bob"])
    sign_in_page(team, "bob")
    page = team.client.get("/groups/team/app/1.0.0").get_data(as_text=True)
    assert "<strong>Stated, not proven</strong>" in page

    ci = new_signer()
    added = team.call(
        "POST",
        "/api/v1/groups/team/provenance-keys",
        team.tokens["alice"],
        json={"name": "gitlab-ci", "public": public_text(ci)},
    )
    assert added.status_code == 201, added.json
    envelope = sign(statement({"app.bin": hashlib.sha256(b"app").hexdigest()}), ci)
    attached = team.call(
        "POST", VERSION + "/provenance", team.tokens["bob"], json={"envelope": envelope}
    )
    assert attached.status_code == 201, attached.json
    page = team.client.get("/groups/team/app/1.0.0").get_data(as_text=True)
    assert "<strong>Signed</strong>" in page
    assert f"sha256:{attached.json['payload_sha256']}</code> signed by gitlab-ci" in page
    assert "builder <code>https://gitlab.bank.example/runners/17</code>" in page
    # A member who is no software manager may not register keys; a second key is refused
    # only when it is the same.
    again = team.call(
        "POST",
        "/api/v1/groups/team/provenance-keys",
        team.tokens["alice"],
        json={"name": "again", "public": public_text(ci)},
    )
    assert again.status_code == 409
    bob = team.call(
        "POST",
        "/api/v1/groups/team/provenance-keys",
        team.tokens["bob"],
        json={"name": "bob", "public": public_text(new_signer())},
    )
    assert bob.status_code == 403
    removed = team.call(
        "DELETE", f"/api/v1/groups/team/provenance-keys/{added.json['keyid']}", team.tokens["alice"]
    )
    assert removed.status_code == 200
    assert (
        team.call("GET", "/api/v1/groups/team/provenance-keys", team.tokens["bob"]).json["keys"]
        == []
    )


def test_a_version_carries_a_bounded_number_of_attestations(team: World) -> None:
    """A version's provenance is one record a client verifies whole: the 65th attestation
    is refused (409, nothing stored), the same one again still changes nothing."""
    from policies.trust.provenance import MAX_ATTESTATIONS

    team.upload("team/app@1.0.0", "app.bin", b"app", team.tokens["bob"])
    ci = new_signer()
    added = team.call(
        "POST",
        "/api/v1/groups/team/provenance-keys",
        team.tokens["alice"],
        json={"name": "gitlab-ci", "public": public_text(ci)},
    )
    assert added.status_code == 201, added.json
    subjects = {"app.bin": hashlib.sha256(b"app").hexdigest()}
    envelopes = [
        sign(statement(subjects, invocation_id=f"https://ci.example/jobs/{n}"), ci)
        for n in range(MAX_ATTESTATIONS + 1)
    ]
    for envelope in envelopes[:MAX_ATTESTATIONS]:
        attached = team.call(
            "POST", VERSION + "/provenance", team.tokens["bob"], json={"envelope": envelope}
        )
        assert attached.status_code == 201, attached.json
    refused = team.call(
        "POST", VERSION + "/provenance", team.tokens["bob"], json={"envelope": envelopes[-1]}
    )
    assert refused.status_code == 409
    assert f"already carries {MAX_ATTESTATIONS} attestations" in refused.json["message"]
    again = team.call(
        "POST", VERSION + "/provenance", team.tokens["bob"], json={"envelope": envelopes[0]}
    )
    assert again.status_code in (200, 201), again.json
    listed = team.call("GET", VERSION + "/provenance", team.tokens["bob"]).json
    assert len(listed["attestations"]) == MAX_ATTESTATIONS
