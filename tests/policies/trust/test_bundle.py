"""The bundle file: written and read back exactly; its shape is checked before anything else."""

from __future__ import annotations

import json
from typing import Any

import pytest

from policies.trust.bundle import Bundle
from policies.trust.errors import TrustError
from tests.policies.trust.factory import World

W = World()
GOOD = W.bundle().to_json()


def test_round_trip_through_a_file() -> None:
    bundle = W.bundle()
    text = json.dumps(bundle.to_json())
    assert Bundle.from_json(json.loads(text)) == bundle
    index, size, proof, record = bundle.inclusion_parts()
    assert (index, size, proof, record) == (W.index, len(W.leaves), W.proof, W.records[W.index])
    without = W.bundle(enrollment=None, enrollment_proof=())
    assert Bundle.from_json(json.loads(json.dumps(without.to_json()))) == without


def changed(**changes: Any) -> dict[str, Any]:
    obj = {**GOOD}
    for name, value in changes.items():
        if value is ...:
            del obj[name]
        else:
            obj[name] = value
    return obj


INC = GOOD["inclusion"]


@pytest.mark.parametrize(
    ("obj", "check", "match"),
    [
        ([], "bundle", "not a Depot bundle"),
        (changed(_type="depot.manifest"), "bundle", "not a Depot bundle"),
        (changed(spec_version="2"), "bundle", "spec_version '2'"),
        (changed(status=...), "bundle", "lacks status"),
        (changed(extra=1), "bundle", "has unknown fields extra"),
        (changed(status=..., extra=1), "bundle", "lacks status and has unknown fields extra"),
        (changed(keyrings={}), "bundle", "keyrings must be a list"),
        (changed(statements=None), "bundle", "statements must be a list"),
        (changed(manifest={"payload": "x"}), "envelope", "lacks"),
        (changed(checkpoint={"payload": "x"}), "bundle", "checkpoint must be a signed note"),
        (changed(inclusion=[]), "bundle", "exactly index, size, proof and record"),
        (changed(inclusion={**INC, "extra": 1}), "bundle", "exactly index"),
        (changed(inclusion={**INC, "index": "6"}), "bundle", "index must be a whole number"),
        (changed(inclusion={**INC, "size": True}), "bundle", "size must be a whole number"),
        (changed(inclusion={**INC, "size": -1}), "bundle", "size must be a whole number"),
        (changed(inclusion={**INC, "proof": "ab"}), "bundle", "32-byte hex hashes"),
        (changed(inclusion={**INC, "proof": ["AB" * 32]}), "bundle", "32-byte hex hashes"),
        (changed(inclusion={**INC, "record": "not base64!"}), "bundle", "record is not valid"),
        (changed(enrollment_proof="ab"), "bundle", "enrollment_proof must be a list"),
        (changed(enrollment_proof=["AB" * 32]), "bundle", "enrollment proof must be a list of"),
        (changed(enrollment={"payload": "x"}), "envelope", "lacks"),
    ],
)
def test_from_json_is_strict(obj: Any, check: str, match: str) -> None:
    with pytest.raises(TrustError, match=match) as info:
        Bundle.from_json(obj)
    assert info.value.check == check
