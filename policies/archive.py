"""Physical items (实物归档): install media, licence dongles, printed manuals kept with a version.

The version manager archives the electronic and the physical items of every version
(article 5): she adds an item to the register, moves it, names its custodian, lends it
out (借出) until a date and takes it back (归还). Everyone who sees the version's group sees
its items; only she changes them. The server builds :class:`ItemFacts` and asks
:func:`decide_item`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from policies.access import Action, Actor, GlobalRole, decide
from policies.decisions import Decision
from policies.lifecycle.roles import need_role
from policies.lifecycle.states import State


class ItemStep(StrEnum):
    """What can happen to a physical item."""

    ADD = "add"
    MOVE = "move"
    CUSTODIAN = "custodian"
    LEND = "lend"
    RETURN = "return"


class ItemStatus(StrEnum):
    """Where an item is."""

    IN_ARCHIVE = "in_archive"
    ON_LOAN = "on_loan"


#: Version states whose items the register takes: accepted (archived with its check-in),
#: and in the library.
ARCHIVED_STATES = frozenset({State.ACCEPTED, State.CHECKED_IN, State.RETIRED})


@dataclass(frozen=True)
class ItemFacts:
    """What the rules need to know about an item (or, to add one, its version)."""

    group: str
    version_state: State
    status: ItemStatus = ItemStatus.IN_ARCHIVE
    #: While on loan: when it is due back.
    due_at: datetime | None = None


def decide_item(
    actor: Actor, step: ItemStep, item: ItemFacts, *, now: datetime, due: datetime | None = None
) -> Decision:
    """May ``actor`` take ``step`` on ``item`` now (lending it until ``due``)?"""
    base = decide(actor, Action.BROWSE, item.group)
    if not base.allowed:
        return base
    refused = need_role(actor, GlobalRole.VERSION_MANAGER, item.group, "change physical items")
    if refused:
        return refused
    if step is ItemStep.ADD:
        if item.version_state not in ARCHIVED_STATES:
            return Decision.refuse(
                "lifecycle.state",
                f"the version is {item.version_state}: physical items are archived with an "
                "accepted version or one in the library",
            )
        return Decision.allow("item.add")
    if step is ItemStep.LEND:
        if item.status is ItemStatus.ON_LOAN:
            return Decision.refuse("item.on_loan", "the item is on loan: take it back first")
        if due is None or due <= now:
            return Decision.refuse("item.due", "a loan needs a due date after today")
        return Decision.allow("item.lend")
    if step is ItemStep.RETURN:
        if item.status is not ItemStatus.ON_LOAN:
            return Decision.refuse("item.in_archive", "the item is in the archive, not on loan")
        return Decision.allow("item.return")
    return Decision.allow(f"item.{step}")


def overdue(status: ItemStatus, due_at: datetime | None, now: datetime) -> bool:
    """Whether an item on loan is past its due date (the register makes it stand out)."""
    return status is ItemStatus.ON_LOAN and due_at is not None and due_at < now
