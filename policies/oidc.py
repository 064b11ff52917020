"""OIDC federation for CI: does a pipeline's verified ID token satisfy a group's trust?

Pure: the server verifies the signature, issuer and audience, then passes the claims, the
trust's claim rules and the time here. A rule is ``claim → pattern``; a pattern matches
the claim's string value exactly, or with ``*`` standing for any run of characters
(``refs/heads/release/*``). Every rule must hold; a missing claim never matches.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta

from policies.decisions import Decision

#: Clock difference tolerated between the issuer and the server.
LEEWAY = timedelta(seconds=30)


def _pattern(text: str) -> re.Pattern[str]:
    return re.compile(
        "".join(".*" if part == "*" else re.escape(part) for part in re.split(r"(\*)", text))
    )


def claims_match(rules: Mapping[str, str], claims: Mapping[str, object]) -> Decision:
    """Do ``claims`` satisfy every rule of a trust? (The refusal names the first claim.)"""
    for name in sorted(rules):
        value = claims.get(name)
        if not isinstance(value, str | int | bool) or isinstance(value, bool):
            return Decision.refuse("oidc.claims", f"the token has no claim {name!r}")
        if not _pattern(rules[name]).fullmatch(str(value)):
            return Decision.refuse(
                "oidc.claims", f"claim {name!r} is {str(value)[:200]!r}, not {rules[name]!r}"
            )
    return Decision.allow("oidc.claims")


def token_times(claims: Mapping[str, object], now: datetime) -> Decision:
    """Is the token within its ``nbf``..``exp`` (``exp`` required), with :data:`LEEWAY`?"""
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or isinstance(exp, bool):
        return Decision.refuse("oidc.exp", "the token has no expiry (exp)")
    stamp = now.timestamp()
    if stamp - LEEWAY.total_seconds() >= exp:
        return Decision.refuse("oidc.exp", "the token has expired")
    nbf = claims.get("nbf")
    if nbf is not None:
        if not isinstance(nbf, int | float) or isinstance(nbf, bool):
            return Decision.refuse("oidc.nbf", "the token's nbf is not a number")
        if stamp + LEEWAY.total_seconds() < nbf:
            return Decision.refuse("oidc.nbf", "the token is not valid yet (nbf)")
    return Decision.allow("oidc.times")


def check_rules(rules: Mapping[str, str]) -> Decision:
    """May a trust be set up with these claim rules? At least one rule (a trust of every
    pipeline of an issuer is refused), names and patterns of sane sizes, no bare ``*``."""
    if not rules:
        return Decision.refuse(
            "oidc.rules", "name at least one claim (e.g. project_path) the pipelines must have"
        )
    for name, pattern in rules.items():
        if not name or len(name) > 100 or not pattern or len(pattern) > 500:
            return Decision.refuse("oidc.rules", f"claim rule {name[:100]!r} is empty or too long")
        if pattern.strip("*") == "":
            return Decision.refuse("oidc.rules", f"claim rule {name!r} would match anything")
    return Decision.allow("oidc.rules")
