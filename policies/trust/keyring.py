"""The keyring: which keys hold which role, versioned and signed by the root keys.

A client pins the fingerprint of keyring version 1 (:func:`root_fingerprint`), trusts it
with :func:`trust_first_keyring`, and follows rotations one version at a time with
:func:`update_keyring` / :func:`walk_keyrings` (TUF §5.3.4–5.3.5): version N+1 must be
signed by a threshold of N's root keys *and* a threshold of its own.

Two roles are offline (their private keys never live on the server): ``root`` signs
keyrings, ``enrollment`` signs the enrolment document that binds people to their
personal keys (:mod:`policies.trust.enrollment`). The online roles are the server's.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from policies.trust.canonical import (
    canonical_bytes,
    parse_canonical,
    parse_utc,
    sha256_hex,
    utc_text,
)
from policies.trust.dsse import KEYRING, Envelope, verify
from policies.trust.errors import TrustError
from policies.trust.keys import SCHEME, keyid_of, public_from_text, public_text

#: The roles every keyring names: offline roots, and the server's three online keys.
ROLES = ("root", "release", "status", "log")
#: A role a keyring may name: the offline authority that enrols personal keys. A keyring
#: without it cannot vouch for any personal key (a keyring made before the role existed).
OPTIONAL_ROLES = ("enrollment",)
#: The roles whose private keys are kept offline, by people, never by the server.
OFFLINE_ROLES = ("root", "enrollment")
#: How many keyring versions a client follows in one go.
MAX_HOPS = 32


def _fail(message: str) -> TrustError:
    return TrustError("keyring", message)


@dataclass(frozen=True)
class Role:
    """The keys of one role and how many of them must sign."""

    keyids: tuple[str, ...]
    threshold: int


@dataclass(frozen=True)
class Keyring:
    """One version of the keyring (checked when built, whether by the server or a parser).

    ``keys`` maps key id → key and must hold every key a role names, under its true key
    id; every role of :data:`ROLES` is present (and :data:`OPTIONAL_ROLES` may be), each
    with distinct key ids and a threshold from 1 to their number. Every key is named by
    at least one role, and an online key is never also a root or enrolment key.
    """

    repository: str
    version: int
    expires: datetime
    keys: Mapping[str, Ed25519PublicKey]
    roles: Mapping[str, Role]

    def __post_init__(self) -> None:
        if not isinstance(self.repository, str) or not self.repository:
            raise _fail("a keyring names its repository")
        if isinstance(self.version, bool) or not isinstance(self.version, int):
            raise _fail("the keyring version must be an integer")
        if self.version < 1:
            raise _fail(f"keyring versions start at 1, not {self.version}")
        utc_text(self.expires)
        for keyid, key in self.keys.items():
            if not isinstance(key, Ed25519PublicKey):
                raise _fail(f"key {keyid} is not an Ed25519 public key")
            if keyid_of(key) != keyid:
                raise _fail(f"key {keyid} is listed under an id that is not its own")
        if not set(ROLES) <= set(self.roles) <= {*ROLES, *OPTIONAL_ROLES}:
            raise _fail(
                f"a keyring has the roles {', '.join(ROLES)} (and may have "
                f"{', '.join(OPTIONAL_ROLES)}); this one has "
                f"{', '.join(sorted(self.roles)) or 'none'}"
            )
        for name, role in self.roles.items():
            if len(set(role.keyids)) != len(role.keyids):
                raise _fail(f"role {name} lists a key twice")
            for keyid in role.keyids:
                if keyid not in self.keys:
                    raise _fail(f"role {name} names key {keyid}, which the keyring does not hold")
            if isinstance(role.threshold, bool) or not isinstance(role.threshold, int):
                raise _fail(f"the threshold of role {name} must be an integer")
            if not 1 <= role.threshold <= len(role.keyids):
                raise _fail(
                    f"role {name} has {len(role.keyids)} keys and a threshold of "
                    f"{role.threshold}; it must be 1 to {len(role.keyids)}"
                )
        offline = {
            k for name in OFFLINE_ROLES if name in self.roles for k in self.roles[name].keyids
        }
        online = {k for name in ROLES if name not in OFFLINE_ROLES for k in self.roles[name].keyids}
        if offline & online:
            raise _fail("an online key is also listed under an offline role")
        unused = set(self.keys) - offline - online
        if unused:
            raise _fail(f"key {sorted(unused)[0]} is listed but holds no role")

    def has_role(self, role: str) -> bool:
        """Whether this keyring names ``role`` (an optional role may be absent)."""
        return role in self.roles

    def role_keys(self, role: str) -> tuple[dict[str, Ed25519PublicKey], int]:
        """The keys of ``role`` (key id → key) and its threshold, ready for ``dsse.verify``."""
        if role not in self.roles:
            raise _fail(f"the keyring has no role {role!r}")
        spec = self.roles[role]
        return {k: self.keys[k] for k in spec.keyids}, spec.threshold

    def to_payload(self) -> bytes:
        """The canonical JSON payload that the root keys sign."""
        return canonical_bytes(
            {
                "_type": "depot.keyring",
                "spec_version": "1",
                "repository": self.repository,
                "version": self.version,
                "expires": utc_text(self.expires),
                "keys": {
                    k: {"scheme": SCHEME, "public": public_text(v)} for k, v in self.keys.items()
                },
                "roles": {
                    name: {"keyids": list(role.keyids), "threshold": role.threshold}
                    for name, role in self.roles.items()
                },
            }
        )

    @classmethod
    def from_payload(cls, data: bytes) -> Keyring:
        """Parse a keyring payload (after its signatures were checked)."""
        obj = parse_canonical(data)
        fields = _fields(
            obj, {"_type", "spec_version", "repository", "version", "expires", "keys", "roles"}
        )
        if fields["_type"] != "depot.keyring":
            raise _fail(f"the payload is a {fields['_type']!r}, not a depot.keyring")
        if fields["spec_version"] != "1":
            raise _fail(f"keyring spec_version {fields['spec_version']!r} is not supported")
        keys: dict[str, Ed25519PublicKey] = {}
        for keyid, entry in _mapping(fields["keys"], "keys").items():
            spec = _fields(_mapping(entry, f"key {keyid}"), {"scheme", "public"})
            if spec["scheme"] != SCHEME:
                raise _fail(f"key {keyid} has scheme {spec['scheme']!r}; only ed25519 is used")
            keys[keyid] = public_from_text(spec["public"])
        roles: dict[str, Role] = {}
        for name, entry in _mapping(fields["roles"], "roles").items():
            spec = _fields(_mapping(entry, f"role {name}"), {"keyids", "threshold"})
            keyids = spec["keyids"]
            if not isinstance(keyids, list) or not all(isinstance(k, str) for k in keyids):
                raise _fail(f"the keyids of role {name} must be a list of strings")
            roles[name] = Role(tuple(keyids), spec["threshold"])
        return cls(
            repository=fields["repository"],
            version=fields["version"],
            expires=parse_utc(fields["expires"]),
            keys=keys,
            roles=roles,
        )


def _mapping(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(f"{what} must be a JSON object")
    return value


def _fields(obj: dict[str, Any], names: set[str]) -> dict[str, Any]:
    missing, extra = names - obj.keys(), obj.keys() - names
    if missing:
        raise _fail(f"the keyring lacks {', '.join(sorted(missing))}")
    if extra:
        raise _fail(f"the keyring has unknown fields {', '.join(sorted(extra))}")
    return obj


def root_fingerprint(envelope: Envelope) -> str:
    """sha256 hex of a keyring's payload; people pin the fingerprint of version 1."""
    return sha256_hex(envelope.payload)


def _expiry(keyring: Keyring, now: datetime) -> None:
    if keyring.expires <= now:
        raise TrustError(
            "expired",
            f"keyring version {keyring.version} of {keyring.repository} expired at "
            f"{utc_text(keyring.expires)}",
        )


def trust_first_keyring(
    env: Envelope, fingerprint: str, now: datetime, *, final: bool = False
) -> Keyring:
    """Trust keyring version 1 because its payload has the pinned ``fingerprint``.

    Called by ``depot trust init`` and at the start of every bundle check. The keyring
    must also be signed by a threshold of its own root keys. Its expiry is checked only
    with ``final=True`` (when no newer keyring follows it): an old first keyring is
    still the right anchor for a chain of rotations.
    """
    given = fingerprint.strip().lower().encode("utf-8")
    if not hmac.compare_digest(root_fingerprint(env).encode("ascii"), given):
        raise TrustError(
            "fingerprint",
            f"the first keyring has fingerprint {root_fingerprint(env)}, not the pinned "
            f"{fingerprint.strip()}",
        )
    if env.payload_type != KEYRING:
        raise TrustError(
            "payload_type", f"expected a document of type {KEYRING}, got {env.payload_type}"
        )
    keyring = Keyring.from_payload(env.payload)
    if keyring.version != 1:
        raise TrustError(
            "keyring_version", f"the pinned keyring is version {keyring.version}, not 1"
        )
    keys, threshold = keyring.role_keys("root")
    verify(env, KEYRING, keys, threshold, role="root")
    if final:
        _expiry(keyring, now)
    return keyring


def update_keyring(trusted: Keyring, env: Envelope, now: datetime, *, final: bool) -> Keyring:
    """Move from ``trusted`` to the next keyring version, ``env`` (TUF §5.3.4–5.3.5).

    It must be signed by a threshold of ``trusted``'s root keys and a threshold of its
    own, be exactly version ``trusted.version + 1`` of the same repository, and, when it
    is the ``final`` one of a walk, not be expired (expiring exactly at ``now`` is).
    """
    old_keys, old_threshold = trusted.role_keys("root")
    payload = verify(env, KEYRING, old_keys, old_threshold, role=f"keyring {trusted.version} root")
    keyring = Keyring.from_payload(payload)
    new_keys, new_threshold = keyring.role_keys("root")
    verify(env, KEYRING, new_keys, new_threshold, role=f"keyring {keyring.version} root")
    if keyring.repository != trusted.repository:
        raise TrustError(
            "subject",
            f"keyring version {keyring.version} is for {keyring.repository}, "
            f"not {trusted.repository}",
        )
    if keyring.version != trusted.version + 1:
        raise TrustError(
            "keyring_version",
            f"expected keyring version {trusted.version + 1} after {trusted.version}, "
            f"got version {keyring.version}",
        )
    if final:
        _expiry(keyring, now)
    return keyring


def walk_keyrings(
    trusted: Keyring,
    envs: Sequence[Envelope],
    now: datetime,
    max_hops: int = MAX_HOPS,
    *,
    check_expiry: bool = True,
) -> Keyring:
    """Follow ``envs`` (versions ``trusted.version + 1``, ``+ 2``, … in order) from ``trusted``.

    Returns the newest keyring, which must not be expired (``trusted`` itself when
    ``envs`` is empty) unless ``check_expiry`` is false (an archived bundle, whose
    verifier then reports it as archival rather than current). More than ``max_hops``
    versions raise ``TrustError("keyring_version")``.
    """
    if len(envs) > max_hops:
        raise TrustError(
            "keyring_version",
            f"{len(envs)} keyring versions to follow; at most {max_hops} are followed at once",
        )
    for i, env in enumerate(envs):
        trusted = update_keyring(trusted, env, now, final=check_expiry and i == len(envs) - 1)
    if check_expiry and not envs:
        _expiry(trusted, now)
    return trusted
