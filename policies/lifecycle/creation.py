"""New versions: the first versions of a new product, and upgrade requests for the next ones."""

from __future__ import annotations

from collections.abc import Sequence

import semver

from policies.access import Action, Actor, GroupRole, decide
from policies.decisions import Decision
from policies.lifecycle.roles import need_role
from policies.lifecycle.states import ProductFacts, Registration
from policies.versions import Origin, compare_in_house


def newer_than_library(version: str, origin: Origin, library: Sequence[str]) -> Decision | None:
    if origin is not Origin.IN_HOUSE:
        return None
    newest = max(library, key=lambda v: semver.Version.parse(v), default=None)
    if newest is not None and compare_in_house(version, newest) <= 0:
        return Decision.refuse(
            "version.order",
            f"version {version} is not greater than {newest}, already in the library",
        )
    return None


def covers(target: str, version: str, origin: Origin) -> bool:
    """Whether an upgrade approved for ``target`` allows creating ``version``.

    For in-house software the approval covers the target and its pre-releases and
    builds (``2.5.0-rc.1``, ``2.5.0+build.7``); for purchased software, the exact string.
    """
    if origin is not Origin.IN_HOUSE:
        return target == version
    want, got = semver.Version.parse(target), semver.Version.parse(version)
    return (want.major, want.minor, want.patch) == (got.major, got.minor, got.patch)


def decide_create_version(actor: Actor, product: ProductFacts, version: str) -> Decision:
    """May ``actor`` create ``version`` of ``product``?

    A product with versions in the library only takes a new version under an approved
    upgrade request; the first versions of a new product need only its registration.
    """
    base = decide(actor, Action.CREATE_VERSION, product.group)
    if not base.allowed:
        return base
    if product.registration is not Registration.REGISTERED:
        return Decision.refuse(
            "product.registration",
            f"{product.group}/{product.product} is not registered yet: its registration "
            f"is {product.registration}, and a version manager approves it first",
        )
    if not product.library_versions:
        return Decision.allow(
            "upgrade.first_version", "the product has no version in the library yet"
        )
    refused = newer_than_library(version, product.origin, product.library_versions)
    if refused:
        return refused
    if any(covers(target, version, product.origin) for target in product.approved_upgrades):
        return Decision.allow("upgrade.approved", "an approved upgrade request covers it")
    return Decision.refuse(
        "upgrade.required",
        f"{product.group}/{product.product} is in the library: a new version needs an "
        "approved upgrade request for it",
    )


def decide_upgrade_request(actor: Actor, product: ProductFacts, target: str) -> Decision:
    """May ``actor`` file an upgrade request for ``product`` to ``target``?"""
    base = decide(actor, Action.BROWSE, product.group)
    if not base.allowed:
        return base
    refused = need_role(actor, GroupRole.SOFTWARE_MANAGER, product.group, "request an upgrade")
    if refused:
        return refused
    refused = newer_than_library(target, product.origin, product.library_versions)
    return refused or Decision.allow("upgrade.request")


def decide_registration(actor: Actor, group: str, *, reviewed: bool) -> Decision:
    """May ``actor`` register a new product (and its first version) in ``group``?

    Any person of the group may; unless the group waives it (``reviewed`` false), the
    registration is a request a version manager approves (rule ``register.review``),
    and the product takes no version and no upload before that.
    """
    base = decide(actor, Action.REGISTER_PRODUCT, group)
    if not base.allowed:
        return base
    if reviewed:
        return Decision.allow(
            "register.review", "a version manager approves the registration of a new product"
        )
    return Decision.allow("register.waived", f"{group} registers its products without review")
