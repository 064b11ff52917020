"""The governed lifecycle of a version (第三章 工作程序): who may move it, and where to.

A version goes ``draft`` → ``submitted`` (delivered for acceptance) → ``accepted`` or
``rejected`` → ``checked_in`` (in the library, permanent) → ``retired``. The registration
of a new product (with its first version), upgrade, acceptance, check-in and check-out are
*requests* that one person files and another decides. The server builds
:class:`VersionFacts` and :class:`RequestFacts` from its rows and asks :func:`decide_step`;
:func:`next_state` says where an allowed step leads.

The rules are kept in modules named for what they hold: ``states`` (the words and facts),
``roles``, ``creation`` (registering products, new versions, upgrades), ``steps`` (every
step and the decisions on requests), ``downloads``; this package re-exports them.
``deciders`` says which requests a person could decide at all (what narrows an inbox in
SQL before these rules weigh each request).

Four eyes everywhere: nobody decides a request they filed, nor accepts or checks in a
version they uploaded files to; the officer who accepted a version does not also check
it in; a refusal needs a comment.
"""

from policies.lifecycle.creation import (
    covers,
    decide_create_version,
    decide_registration,
    decide_upgrade_request,
)
from policies.lifecycle.states import (
    ABOUT_PRODUCT,
    DECIDED_IN,
    DECIDER,
    IN_LIBRARY,
    Block,
    BlockScope,
    Kind,
    ProductFacts,
    Registration,
    RequestFacts,
    RequestState,
    State,
    Step,
    VersionFacts,
)
from policies.lifecycle.steps import acting_for, decide_signature, decide_step, next_state

__all__ = [
    "ABOUT_PRODUCT",
    "DECIDED_IN",
    "DECIDER",
    "IN_LIBRARY",
    "Block",
    "BlockScope",
    "Kind",
    "ProductFacts",
    "Registration",
    "RequestFacts",
    "RequestState",
    "State",
    "Step",
    "VersionFacts",
    "acting_for",
    "covers",
    "decide_create_version",
    "decide_registration",
    "decide_signature",
    "decide_step",
    "decide_upgrade_request",
    "next_state",
]
