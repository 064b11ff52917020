"""The keyring: its shape, its payload, pinning version 1 and following rotations (TUF 5.3)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest

from policies.trust.canonical import canonical_bytes
from policies.trust.dsse import KEYRING, MANIFEST, Envelope, sign
from policies.trust.errors import TrustError
from policies.trust.keyring import (
    Keyring,
    Role,
    root_fingerprint,
    trust_first_keyring,
    update_keyring,
    walk_keyrings,
)
from tests.policies.trust.factory import NOW, REPO, key, kid, make_keyring, sign_keyring

ROOTS = [key(1), key(2), key(3)]
ONLINE = {"release": key(10), "status": key(11), "log": key(12)}
ONLINE2 = {"release": key(13), "status": key(14), "log": key(15)}
K1 = make_keyring(1, ROOTS, 2, ONLINE)
ENV1 = sign_keyring(K1, ROOTS[:2])
FP = root_fingerprint(ENV1)


def raises(check: str, match: str, fn, *args, **kwargs) -> TrustError:  # type: ignore[no-untyped-def]
    with pytest.raises(TrustError, match=match) as info:
        fn(*args, **kwargs)
    assert info.value.check == check, info.value
    return info.value


def test_payload_round_trip_and_role_keys() -> None:
    payload = K1.to_payload()
    obj = json.loads(payload)
    assert obj["_type"] == "depot.keyring" and obj["version"] == 1
    assert obj["keys"][kid(ROOTS[0])]["public"].startswith("ed25519:")
    assert obj["roles"]["root"] == {"keyids": [kid(k) for k in ROOTS], "threshold": 2}
    assert Keyring.from_payload(payload) == K1
    keys, threshold = K1.role_keys("release")
    assert keys == {kid(ONLINE["release"]): ONLINE["release"].public_key()} and threshold == 1
    raises("keyring", "no role 'policy'", K1.role_keys, "policy")


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"repository": ""}, "names its repository"),
        ({"version": 0}, "start at 1"),
        ({"version": "2"}, "must be an integer"),
        ({"version": True}, "must be an integer"),
        ({"roles": {**K1.roles, "policy": Role((), 1)}}, "has the roles root, release"),
        ({"roles": {k: v for k, v in K1.roles.items() if k != "log"}}, "has the roles root"),
        ({"roles": {**K1.roles, "enrollment": K1.roles["release"]}}, "online key is also"),
        ({"keys": {**K1.keys, kid(key(99)): key(99).public_key()}}, "holds no role"),
        ({"roles": {**K1.roles, "root": Role((kid(key(1)),) * 2, 1)}}, "lists a key twice"),
        ({"roles": {**K1.roles, "log": Role((kid(key(99)),), 1)}}, "does not hold"),
        ({"roles": {**K1.roles, "root": Role(K1.roles["root"].keyids, 4)}}, "must be 1 to 3"),
        ({"roles": {**K1.roles, "root": Role(K1.roles["root"].keyids, 0)}}, "must be 1 to 3"),
        ({"roles": {**K1.roles, "root": Role(K1.roles["root"].keyids, "2")}}, "integer"),
        ({"keys": {**K1.keys, kid(key(1)): key(2).public_key()}}, "not its own"),
        ({"keys": {**K1.keys, "x": "ed25519:AAAA"}}, "not an Ed25519 public key"),
    ],
)
def test_a_keyring_is_checked_when_built(changes: dict[str, object], match: str) -> None:
    raises("keyring", match, replace, K1, **changes)


def test_expiry_must_be_an_aware_time() -> None:
    raises("time", "no time zone", replace, K1, expires=NOW.replace(tzinfo=None))


def edited(**changes: object) -> bytes:
    obj = json.loads(K1.to_payload())
    obj.update(changes)
    return canonical_bytes(obj)


KID1 = kid(ROOTS[0])


@pytest.mark.parametrize(
    ("payload", "match", "check"),
    [
        (edited(_type="depot.status"), "not a depot.keyring", "keyring"),
        (edited(spec_version="2"), "spec_version '2'", "keyring"),
        (edited(extra=1), "unknown fields extra", "keyring"),
        (canonical_bytes({"_type": "depot.keyring"}), "lacks", "keyring"),
        (edited(keys=[]), "keys must be a JSON object", "keyring"),
        (edited(keys={KID1: {"scheme": "ecdsa", "public": "x"}}), "only ed25519", "keyring"),
        (edited(keys={KID1: {"scheme": "ed25519", "public": "x"}}), "not an Ed25519", "key"),
        (edited(roles={"root": []}), "role root must be a JSON object", "keyring"),
        (edited(roles={"root": {"keyids": "a", "threshold": 1}}), "list of strings", "keyring"),
        (edited(expires="tomorrow"), "not a UTC time", "time"),
        (edited(repository=5), "names its repository", "keyring"),
        (b'{"version": 1}', "canonical form", "canonical"),
    ],
)
def test_from_payload_is_strict(payload: bytes, match: str, check: str) -> None:
    raises(check, match, Keyring.from_payload, payload)


def test_trust_first_keyring_by_fingerprint() -> None:
    assert trust_first_keyring(ENV1, FP, NOW) == K1
    assert trust_first_keyring(ENV1, " " + FP.upper() + "\n", NOW, final=True) == K1
    raises("fingerprint", "not the pinned", trust_first_keyring, ENV1, "0" * 64, NOW)
    raises("fingerprint", "not the pinned", trust_first_keyring, ENV1, "é", NOW)


def test_first_keyring_must_be_version_1_self_signed_and_of_the_right_type() -> None:
    k2 = make_keyring(2, ROOTS, 2, ONLINE)
    env2 = sign_keyring(k2, ROOTS)
    raises(
        "keyring_version",
        "version 2, not 1",
        trust_first_keyring,
        env2,
        root_fingerprint(env2),
        NOW,
    )
    one_root = sign_keyring(K1, ROOTS[:1])
    raises(
        "threshold",
        "needs 2 valid signatures by root keys, found 1",
        trust_first_keyring,
        one_root,
        FP,
        NOW,
    )
    wrong_type = sign(MANIFEST, ENV1.payload, ROOTS)
    raises("payload_type", "expected a document of type", trust_first_keyring, wrong_type, FP, NOW)


def test_an_old_first_keyring_is_an_anchor_but_not_a_final_keyring() -> None:
    old = make_keyring(1, ROOTS, 2, ONLINE, expires=NOW)
    env = sign_keyring(old, ROOTS)
    assert trust_first_keyring(env, root_fingerprint(env), NOW) == old
    error = raises(
        "expired", "expired at 2026-11-28T10:00:00Z", trust_first_keyring, env,
        root_fingerprint(env), NOW, final=True,
    )  # fmt: skip
    assert f"keyring version 1 of {REPO}" in str(error)


def rotation(
    version: int = 2,
    signers: list | None = None,  # type: ignore[type-arg]
    roots: list | None = None,  # type: ignore[type-arg]
    threshold: int = 2,
    **kw: object,
) -> Envelope:
    new = make_keyring(version, roots or ROOTS, threshold, ONLINE2, **kw)  # type: ignore[arg-type]
    return sign_keyring(new, signers if signers is not None else ROOTS[:2])


def test_rotation_to_the_next_version() -> None:
    k2 = update_keyring(K1, rotation(), NOW, final=True)
    assert k2.version == 2 and k2.role_keys("release")[0] == {
        kid(ONLINE2["release"]): ONLINE2["release"].public_key()
    }


def test_rotation_to_new_roots_needs_both_thresholds() -> None:
    new_roots = [key(4), key(5), key(6), key(7), key(8)]
    both = rotation(roots=new_roots, threshold=3, signers=[*ROOTS[:2], *new_roots[:3]])
    assert update_keyring(K1, both, NOW, final=True).roles["root"].threshold == 3
    only_old = rotation(roots=new_roots, threshold=3, signers=[*ROOTS, *new_roots[:2]])
    raises(
        "threshold", "needs 3 valid signatures by keyring 2 root keys, found 2",
        update_keyring, K1, only_old, NOW, final=True,
    )  # fmt: skip
    only_new = rotation(roots=new_roots, threshold=3, signers=[ROOTS[0], *new_roots])
    raises(
        "threshold", "needs 2 valid signatures by keyring 1 root keys, found 1",
        update_keyring, K1, only_new, NOW, final=True,
    )  # fmt: skip


def test_rotation_must_be_exactly_the_next_version_of_the_same_repository() -> None:
    raises("keyring_version", "expected keyring version 2 after 1, got version 3",
           update_keyring, K1, rotation(3), NOW, final=True)  # fmt: skip
    same = sign_keyring(replace(K1, expires=NOW + timedelta(days=400)), ROOTS)
    raises("keyring_version", "got version 1", update_keyring, K1, same, NOW, final=True)
    raises("subject", "is for https://evil.example", update_keyring, K1,
           rotation(repository="https://evil.example"), NOW, final=True)  # fmt: skip


def test_expiry_is_checked_on_the_final_keyring_only() -> None:
    expired = rotation(expires=NOW)
    assert update_keyring(K1, expired, NOW, final=False).version == 2
    raises("expired", "keyring version 2 .* expired at 2026-11-28T10:00:00Z",
           update_keyring, K1, expired, NOW, final=True)  # fmt: skip


def chain(n: int, *, expired_at: int | None = None) -> list[Envelope]:
    envs = []
    for version in range(2, n + 2):
        expires = NOW - timedelta(days=1) if version == expired_at else NOW + timedelta(days=9)
        k = make_keyring(version, ROOTS, 2, ONLINE2, expires=expires)
        envs.append(sign_keyring(k, ROOTS[:2]))
    return envs


def test_walk_keyrings() -> None:
    assert walk_keyrings(K1, chain(3), NOW).version == 4
    assert walk_keyrings(K1, chain(3, expired_at=3), NOW).version == 4
    raises("expired", "version 4", walk_keyrings, K1, chain(3, expired_at=4), NOW)
    assert walk_keyrings(K1, [], NOW) is K1
    old = replace(K1, expires=NOW)
    raises("expired", "version 1", walk_keyrings, old, [], NOW)
    raises("keyring_version", "33 keyring versions to follow; at most 32",
           walk_keyrings, K1, chain(33), NOW)  # fmt: skip
    assert walk_keyrings(K1, chain(3), NOW, max_hops=3).version == 4
    raises("keyring_version", "at most 2", walk_keyrings, K1, chain(3), NOW, max_hops=2)
    skipping = chain(3)
    del skipping[1]
    raises("keyring_version", "expected keyring version 3 after 2, got version 4",
           walk_keyrings, K1, skipping, NOW)  # fmt: skip


def test_keyring_envelope_type_is_enforced_on_rotation() -> None:
    env = rotation()
    swapped = Envelope(MANIFEST, env.payload, env.signatures)
    raises(
        "payload_type", KEYRING.replace("+", "\\+"), update_keyring, K1, swapped, NOW, final=True
    )
