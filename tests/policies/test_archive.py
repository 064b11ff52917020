"""The rules of the physical items register: only the version manager changes items."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from policies.access import Actor, GlobalRole, GroupRole
from policies.archive import ItemFacts, ItemStatus, ItemStep, decide_item, overdue
from policies.lifecycle import State

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
VM = Actor("vic", global_roles=frozenset({GlobalRole.VERSION_MANAGER}))
AUDITOR = Actor("ivy", global_roles=frozenset({GlobalRole.AUDITOR}))
SM = Actor("sam", group_roles={"team": frozenset({GroupRole.SOFTWARE_MANAGER})})
OUTSIDER = Actor("otto", group_roles={"other": frozenset({GroupRole.MEMBER})})
ITEM = ItemFacts("team", State.CHECKED_IN)
LENT = replace(ITEM, status=ItemStatus.ON_LOAN, due_at=NOW + timedelta(days=3))


def rule(actor: Actor, step: ItemStep, item: ItemFacts, **kwargs: object) -> tuple[bool, str]:
    decision = decide_item(actor, step, item, now=NOW, **kwargs)  # type: ignore[arg-type]
    return decision.allowed, decision.rule


def test_only_the_version_manager_changes_items() -> None:
    assert rule(VM, ItemStep.ADD, ITEM) == (True, "item.add")
    assert rule(VM, ItemStep.MOVE, ITEM) == (True, "item.move")
    assert rule(VM, ItemStep.CUSTODIAN, LENT) == (True, "item.custodian")
    assert rule(SM, ItemStep.MOVE, ITEM) == (False, "role.version_manager")
    assert rule(AUDITOR, ItemStep.MOVE, ITEM) == (False, "role.version_manager")
    assert rule(OUTSIDER, ItemStep.MOVE, ITEM) == (False, "group.visibility")


def test_items_go_with_accepted_versions_or_those_in_the_library() -> None:
    assert rule(VM, ItemStep.ADD, replace(ITEM, version_state=State.ACCEPTED))[0]
    assert rule(VM, ItemStep.ADD, replace(ITEM, version_state=State.DRAFT)) == (
        False,
        "lifecycle.state",
    )


def test_loans_and_returns() -> None:
    assert rule(VM, ItemStep.LEND, ITEM, due=NOW + timedelta(days=1)) == (True, "item.lend")
    assert rule(VM, ItemStep.LEND, ITEM, due=NOW) == (False, "item.due")
    assert rule(VM, ItemStep.LEND, ITEM) == (False, "item.due")
    assert rule(VM, ItemStep.LEND, LENT, due=NOW + timedelta(days=1)) == (False, "item.on_loan")
    assert rule(VM, ItemStep.RETURN, LENT) == (True, "item.return")
    assert rule(VM, ItemStep.RETURN, ITEM) == (False, "item.in_archive")


def test_an_item_past_its_date_is_overdue() -> None:
    assert not overdue(ItemStatus.ON_LOAN, NOW + timedelta(days=1), NOW)
    assert overdue(ItemStatus.ON_LOAN, NOW - timedelta(seconds=1), NOW)
    assert not overdue(ItemStatus.IN_ARCHIVE, NOW - timedelta(days=1), NOW)
    assert not overdue(ItemStatus.ON_LOAN, None, NOW)
