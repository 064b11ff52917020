"""The answer every rule gives: allowed or refused, with the rule and the reason."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Decision:
    """The outcome of one rule check.

    ``rule`` is a stable dotted name (kept in the audit trail, shown to the user);
    ``reason`` is a sentence for a person. ``hidden`` marks a refusal whose subject the
    caller may not even know exists: the server answers it exactly like a missing name.
    """

    allowed: bool
    rule: str
    reason: str
    hidden: bool = False

    @classmethod
    def allow(cls, rule: str, reason: str = "allowed") -> Decision:
        """An allowed decision under ``rule``."""
        return cls(True, rule, reason)

    @classmethod
    def refuse(cls, rule: str, reason: str) -> Decision:
        """A refusal the caller is told about (HTTP 403)."""
        return cls(False, rule, reason)

    @classmethod
    def hide(cls, rule: str, reason: str) -> Decision:
        """A refusal that must look like "not found" to the caller (HTTP 404)."""
        return cls(False, rule, reason, hidden=True)


def with_article(noun: str) -> str:
    """``an upload token``, ``an acceptance officer``, ``a member``: the noun with its article,
    for the sentences a refusal says to people."""
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"
