"""Lifetimes of API tokens: what a caller asks for against what the server allows.

Pure: the server passes the request and its settings, and turns a refusal into a 400.
"""

from __future__ import annotations

from policies.decisions import Decision


def group_token_lifetime(days: int, max_days: int) -> Decision:
    """May a group (CI) token live ``days`` days when the policy caps it at ``max_days``?

    Called by the server before it makes a group token (``POST /tokens``).
    """
    if days < 1:
        return Decision.refuse("token.lifetime", "a token must live at least 1 day")
    if days > max_days:
        return Decision.refuse(
            "token.lifetime",
            f"expiry must be between 1 and {max_days} days (the server's maximum lifetime)",
        )
    return Decision.allow("token.lifetime")
