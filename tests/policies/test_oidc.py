"""The claim rules of an OIDC trust and the token's times."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from policies.oidc import check_rules, claims_match, token_times

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
T = int(NOW.timestamp())


@pytest.mark.parametrize(
    ("claims", "allowed", "reason"),
    [
        ({"project_path": "pay/core", "ref": "refs/heads/main"}, True, "allowed"),
        ({"project_path": "pay/core", "ref": "refs/heads/release/2"}, True, "allowed"),
        ({"project_path": "pay/core2", "ref": "refs/heads/main"}, False, "'project_path' is"),
        ({"ref": "refs/heads/main"}, False, "no claim 'project_path'"),
        ({"project_path": True, "ref": "refs/heads/main"}, False, "no claim"),
        ({"project_path": ["pay/core"], "ref": "refs/heads/main"}, False, "no claim"),
        ({"project_path": "pay/core", "ref": "refs/tags/x"}, False, "'ref' is"),
    ],
)
def test_claims_match(claims: dict[str, object], allowed: bool, reason: str) -> None:
    rules = {"project_path": "pay/core", "ref": "refs/heads/*"}
    decision = claims_match(rules, claims)
    rules_main = {"project_path": "pay/core", "ref": "refs/heads/main"}
    if claims.get("ref") == "refs/heads/release/2":
        assert not claims_match(rules_main, claims).allowed
    assert decision.allowed is allowed and reason in decision.reason


def test_numbers_are_compared_as_text() -> None:
    assert claims_match({"project_id": "42"}, {"project_id": 42}).allowed


@pytest.mark.parametrize(
    ("claims", "rule"),
    [
        ({"exp": T + 60}, "oidc.times"),
        ({"exp": T + 60, "nbf": T - 10}, "oidc.times"),
        ({"exp": T + 60, "nbf": T + 20}, "oidc.times"),  # within the leeway
        ({}, "oidc.exp"),
        ({"exp": True}, "oidc.exp"),
        ({"exp": T - 31}, "oidc.exp"),
        ({"exp": T + 60, "nbf": T + 31}, "oidc.nbf"),
        ({"exp": T + 60, "nbf": "soon"}, "oidc.nbf"),
    ],
)
def test_token_times(claims: dict[str, object], rule: str) -> None:
    decision = token_times(claims, NOW)
    assert decision.rule == rule and decision.allowed is (rule == "oidc.times")


@pytest.mark.parametrize(
    ("rules", "allowed"),
    [
        ({"project_path": "pay/core"}, True),
        ({}, False),
        ({"project_path": "*"}, False),
        ({"project_path": ""}, False),
        ({"": "x"}, False),
        ({"x" * 101: "x"}, False),
    ],
)
def test_check_rules(rules: dict[str, str], allowed: bool) -> None:
    assert check_rules(rules).allowed is allowed
