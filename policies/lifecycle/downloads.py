"""Downloads and the blocks plugins report: who is served a version's files."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from policies.access import Action, Actor, decide
from policies.decisions import Decision
from policies.lifecycle.states import (
    IN_LIBRARY,
    BlockScope,
    Kind,
    RequestFacts,
    RequestState,
    State,
    Step,
    VersionFacts,
)


def stopping(version: VersionFacts, step: Step, request: RequestFacts | None) -> Decision | None:
    """The refusal of the first block that stops ``step`` on ``version``: asking for and
    approving a check-out (a block of any scope but ``checkin``), asking for and approving a
    check-in (a ``checkin`` block); ``None`` when none does (downloads apart)."""
    if step in (Step.REQUEST_CHECKOUT, Step.REQUEST_CHECKIN):
        kind = Kind.CHECKOUT if step is Step.REQUEST_CHECKOUT else Kind.CHECKIN
    elif step is Step.APPROVE and request is not None:
        kind = request.kind
    else:
        return None
    for block in version.blocks:
        if kind is Kind.CHECKIN and block.scope is BlockScope.CHECKIN:
            return Decision.refuse(
                block.rule, f"check-in of {version.ref} is stopped: {block.reason}"
            )
        if kind is Kind.CHECKOUT and block.scope is not BlockScope.CHECKIN:
            return Decision.refuse(block.rule, f"use of {version.ref} is stopped: {block.reason}")
    return None


def blocked(version: VersionFacts) -> Decision:
    """The refusal for ``version``'s first block that stops every use."""
    first = next(b for b in version.blocks if b.stops_use)
    return Decision.refuse(first.rule, f"use of {version.ref} is stopped: {first.reason}")


def decide_download(
    actor: Actor, version: VersionFacts, checkouts: Sequence[RequestFacts], now: datetime | None
) -> Decision:
    """May ``actor`` download a file of ``version``? Members read drafts; a version in the
    library is served only under an approved, unexpired check-out of theirs, never once
    retired or blocked."""
    base = decide(actor, Action.READ, version.group)
    if not base.allowed:
        return base
    if any(block.stops_use for block in version.blocks):
        return blocked(version)
    if version.state not in IN_LIBRARY:
        return base
    if version.state is State.RETIRED:
        return Decision.refuse(
            "lifecycle.retired",
            f"{version.ref} is retired: its files are kept in the library but no longer "
            "served, not even under a check-out approved before the retirement",
        )
    if now is None:
        raise ValueError("downloads of library versions need the time")
    for checkout in checkouts:
        if (
            checkout.kind is Kind.CHECKOUT
            and checkout.state is RequestState.APPROVED
            and checkout.requester == actor.username
            and checkout.expires_at is not None
            and now < checkout.expires_at
        ):
            return Decision.allow("checkout.approved")
    return Decision.refuse(
        "checkout.required",
        f"{version.ref} is in the library: its files are served only under an approved "
        "check-out of yours that has not expired",
    )
