"""OIDC federation for CI (issue 13 §3): a group's software manager trusts an issuer,
audience and claims; a pipeline exchanges its ID token for an upload token of minutes.
Against an issuer started by the tests (discovery document and JWKS over HTTP)."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.fixtures.oidc import Issuer, oidc_issuer
from tests.support import World

RULES = {"project_path": "payments/core", "ref": "main"}


@pytest.fixture
def issuer(team: World) -> Iterator[Issuer]:
    # The test issuer speaks plain HTTP on 127.0.0.1, which only oidc_allow_http permits.
    oidc = team.app.extensions["depot"].oidc
    oidc.settings = dataclasses.replace(oidc.settings, oidc_allow_http=True)
    oidc.jwks.allow_http = True
    with oidc_issuer() as running:
        yield running


def trust(team: World, source: Issuer, who: str = "alice", **body: Any) -> Any:
    return team.call(
        "POST",
        "/api/v1/groups/team/oidc-trusts",
        team.tokens[who],
        json={"issuer": source.url, "audience": "depot", "claims": RULES, **body},
    )


def exchange(team: World, token: str) -> Any:
    return team.call("POST", "/api/v1/oidc/exchange", None, json={"token": token})


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forged(issuer: Issuer, team: World, alg: str, secret: bytes | None) -> str:
    """A token with header ``alg`` signed by HMAC over ``secret`` (or unsigned)."""
    good = issuer.token(team.clock.now())
    body = good.split(".")[1]
    head = b64(json.dumps({"alg": alg, "kid": issuer.kid, "typ": "JWT"}).encode())
    signing_input = f"{head}.{body}".encode()
    signature = b64(hmac.new(secret, signing_input, hashlib.sha256).digest()) if secret else ""
    return f"{head}.{body}.{signature}"


def test_a_valid_token_buys_an_upload_token_of_minutes(team: World, issuer: Issuer) -> None:
    r = trust(team, issuer)
    assert r.status_code == 201, r.json
    assert r.json["claims"] == RULES and r.json["created_by"] == "alice"
    r = exchange(team, issuer.token(team.clock.now()))
    assert r.status_code == 201, r.json
    assert r.json["group"] == "team" and r.json["scope"] == "upload"
    assert r.json["kind"] == "group"
    minutes = team.app.extensions[
        "depot"
    ].oidc.settings.oidc_token_minutes  # the default: 15 minutes
    assert r.json["expires_at"] > r.json["created_at"]
    ci = r.json["token"]
    assert team.upload("team/app@1.0.0", "build.tar", b"from the pipeline", ci).status_code == 201
    record = team.audit(action="oidc.exchange")[-1]
    assert record["outcome"] == "ok" and record["group"] == "team"
    assert record["details"]["claims"]["project_path"] == "payments/core"
    assert record["details"]["claims"]["ref"] == "main"
    team.clock.advance(seconds=minutes * 60)
    assert team.call("GET", "/api/v1/groups/team", ci).status_code == 401
    # The JWKS was fetched once and is cached.
    assert (
        team.call("GET", "/api/v1/groups/team/oidc-trusts", team.tokens["root"]).json["trusts"][0][
            "issuer"
        ]
        == issuer.url
    )
    assert len(issuer.jwks_fetches) == 1


def refused(team: World, token: str, rule: str, words: str) -> None:
    r = exchange(team, token)
    assert r.status_code == 401, r.json
    assert words in r.json["message"], r.json
    record = team.audit(action="oidc.exchange")[-1]
    assert record["outcome"] == "refused" and record["rule"] == rule, record


def test_bad_tokens_are_refused_and_audited(team: World, issuer: Issuer) -> None:
    assert trust(team, issuer).status_code == 201
    now = team.clock.now()
    refused(team, issuer.token(now, lifetime=-60), "oidc.exp", "expired")
    refused(team, issuer.token(now, nbf=int(now.timestamp()) + 600), "oidc.nbf", "not valid yet")
    refused(team, issuer.token(now, aud="someone-else"), "oidc.audience", "audience")
    refused(team, issuer.token(now, iss="https://evil.example"), "oidc.issuer", "no group trusts")
    refused(team, forged(issuer, team, "none", None), "oidc.alg", "'none' is not accepted")
    public_pem = issuer.key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    refused(team, forged(issuer, team, "HS256", public_pem), "oidc.alg", "'HS256'")
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    refused(team, issuer.token(now, key=stranger, kid="key-2"), "oidc.kid", "not in the issuer")
    refused(team, issuer.token(now, key=stranger), "oidc.signature", "does not verify")
    refused(team, issuer.token(now, ref="feature/x"), "oidc.claims", "claim 'ref'")
    refused(team, issuer.token(now, project_path="payments/other"), "oidc.claims", "project_path")
    refused(team, "not.a.jwt", "oidc.token", "not a JWT")
    # Nothing was issued.
    listed = team.call("GET", "/api/v1/groups/team/tokens", team.tokens["alice"]).json["tokens"]
    assert listed == []


def test_a_replayed_token_is_refused(team: World, issuer: Issuer) -> None:
    assert trust(team, issuer).status_code == 201
    token = issuer.token(team.clock.now())
    assert exchange(team, token).status_code == 201
    refused(team, token, "oidc.replay", "exchanged before")


def test_an_unknown_kid_fetches_the_jwks_again_within_a_bound(team: World, issuer: Issuer) -> None:
    assert trust(team, issuer).status_code == 201
    assert exchange(team, issuer.token(team.clock.now())).status_code == 201
    # The issuer rotates its key: the new kid is fetched once, not at every request.
    issuer.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    issuer.kid = "key-2"
    team.clock.advance(seconds=31)
    assert exchange(team, issuer.token(team.clock.now())).status_code == 201
    assert len(issuer.jwks_fetches) == 2
    # A kid it does not have: within the bound, the JWKS just fetched answers.
    for _ in range(3):
        r = exchange(team, issuer.token(team.clock.now(), kid="key-3"))
        assert r.status_code == 401 and "not in the issuer's JWKS" in r.json["message"]
    assert len(issuer.jwks_fetches) == 2
    team.clock.advance(seconds=31)
    assert exchange(team, issuer.token(team.clock.now(), kid="key-3")).status_code == 401
    assert len(issuer.jwks_fetches) == 3


def test_only_the_software_manager_sets_up_a_trust(team: World, issuer: Issuer) -> None:
    r = trust(team, issuer, who="bob")
    assert r.status_code == 403 and r.json["rule"] == "token.software_manager"
    assert trust(team, issuer, who="dave").status_code == 404
    for body, field in (
        ({"claims": {}}, "claims"),
        ({"claims": {"project_path": "*"}}, "claims"),
        ({"issuer": "ftp://x.example"}, "issuer"),
    ):
        r = trust(team, issuer, **body)
        assert r.status_code == 400 and r.json.get("field") == field, r.json
    made = trust(team, issuer).json
    r = team.call("GET", "/api/v1/groups/team/oidc-trusts", team.tokens["bob"])
    assert r.status_code == 403
    r = team.call("DELETE", f"/api/v1/groups/team/oidc-trusts/{made['id']}", team.tokens["root"])
    assert r.status_code == 200
    assert team.audit(action="oidc.trust.remove")[-1]["actor"] == "root"
    for bad in ("99999", "x", "9" * 30):
        path = f"/api/v1/groups/team/oidc-trusts/{bad}"
        assert team.call("DELETE", path, team.tokens["alice"]).status_code == 404
    refused(team, issuer.token(team.clock.now()), "oidc.issuer", "no group trusts")
