"""Reading what a request concerns: the decider sees everything she decides on.

Four eyes only work if the checker sees what the maker made. Whoever may decide a request
about a version (a version manager for a check-in or a check-out, an acceptance officer
of the group for an acceptance) may open every file of that version — the artifacts, the
documents, the acceptance report — while the decision is open and afterwards, for the
record. Nothing reopens a version whose use was stopped: a retired or quarantined
version's files are served to nobody, reviewer or not.

The server asks :func:`decide_read` for every download; :func:`review_of` says which
request a reviewer's read was made for (kept in the audit trail).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from policies.access import Actor, GlobalRole
from policies.decisions import Decision
from policies.lifecycle import (
    DECIDER,
    Kind,
    RequestFacts,
    State,
    Step,
    VersionFacts,
    decide_step,
)

#: Request kinds that concern a version's files (an upgrade request names a number only).
REVIEWED_KINDS = frozenset({Kind.ACCEPTANCE, Kind.CHECKIN, Kind.CHECKOUT})


def review_of(actor: Actor, version: VersionFacts, requests: Sequence[RequestFacts]) -> int | None:
    """The position in ``requests`` of the first request about ``version`` that ``actor``
    may decide (in any state), or ``None``. Group tokens review nothing."""
    if actor.is_group_token:
        return None
    for index, request in enumerate(requests):
        if request.kind not in REVIEWED_KINDS:
            continue
        role = DECIDER[request.kind]
        if isinstance(role, GlobalRole):
            if role in actor.global_roles or role in actor.standing_in:
                return index
        elif role in actor.roles_in(version.group):
            return index
    return None


def decide_read(
    actor: Actor,
    version: VersionFacts,
    requests: Sequence[RequestFacts],
    *,
    now: datetime,
) -> Decision:
    """May ``actor`` download a file of ``version``, whose requests are ``requests``?

    First the ordinary rule (members, and for a version in the library the holder of an
    approved, unexpired check-out); failing that, a decider of one of its requests
    (rule ``request.review``) — unless use of the version is stopped (retired,
    quarantined). A group the actor cannot even see stays hidden.
    """
    checkouts = [r for r in requests if r.kind is Kind.CHECKOUT]
    ordinary = decide_step(actor, Step.DOWNLOAD, version, now=now, checkouts=checkouts)
    if ordinary.allowed or ordinary.hidden:
        return ordinary
    index = review_of(actor, version, requests)
    if index is None:
        return ordinary
    stop = next((b for b in version.blocks if b.stops_use), None)
    if stop is not None:
        return Decision.refuse(stop.rule, f"use of {version.ref} is stopped: {stop.reason}")
    if version.state is State.RETIRED:
        return Decision.refuse(
            "lifecycle.retired",
            f"{version.ref} is retired: its files are kept in the library but served to nobody",
        )
    kind = requests[index].kind
    return Decision.allow(
        "request.review",
        f"{actor.username} decides {kind} requests of {version.ref} and reads what they concern",
    )
