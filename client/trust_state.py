"""What the client remembers of each product's library, and the checks that use it.

Called by ``depot pull`` before anything else is decided: whether a version is in the
library comes only from the product's signed library index
(:func:`policies.trust.library.verify_library_index`), never from the server's unsigned
version record. The index and every status that verified are remembered in the trusted
state file (``state.json`` of :class:`client.trust.TrustStore`, under ``library``): the
index's serial and payload hash, and for each version seen in the library its library
number, manifest, and the newest state seen. So a version once seen in the library never
comes back as "not in the library", never with another manifest, never out of retirement,
and a quarantine is not undone by an older document.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from client.api import Api, seg
from client.errors import ClientError, Exit, InputError
from client.refs import Ref
from client.trust import TrustStore, trust_failure
from policies.trust.documents import Checkpoint, Status
from policies.trust.dsse import Envelope
from policies.trust.errors import TrustError
from policies.trust.keyring import Keyring
from policies.trust.library import (
    MAX_STALENESS,
    LibraryEntry,
    LibraryIndex,
    Seen,
    check_listed,
    check_state_floor,
    seen_after,
    verify_library_index,
)
from policies.trust.verify import check_log_growth

_DURATION = re.compile(r"([1-9][0-9]{0,6})([smhd])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_staleness(text: str | None) -> timedelta:
    """The allowance of ``--allow-stale-status[=DURATION]`` (``90s``, ``15m``, ``24h``,
    ``7d``; at most 30 days); no option is no allowance. A bad value is a usage error."""
    if text is None:
        return timedelta(0)
    found = _DURATION.fullmatch(text.strip())
    if not found:
        raise InputError(f"--allow-stale-status takes a duration like 15m, 24h or 7d, not {text!r}")
    allowance = timedelta(seconds=int(found.group(1)) * _UNITS[found.group(2)])
    if allowance > MAX_STALENESS:
        raise InputError(f"--allow-stale-status accepts at most {MAX_STALENESS.days}d, not {text}")
    return allowance


def _product_key(ref: Ref) -> str:
    return f"{ref.group}/{ref.product}"


@dataclass(frozen=True)
class Library:
    """The verified library index of one product and the entry of the version asked for."""

    index: LibraryIndex
    entry: LibraryEntry | None
    #: The index as signed (it travels in the bundles of its versions).
    envelope: Envelope


def _stored(store: TrustStore, product: str) -> dict[str, Any]:
    found: dict[str, Any] = store.state().get("library", {}).get(product, {})
    return found


def seen_versions(store: TrustStore, product: str) -> dict[str, Seen]:
    """Every version of ``product`` (``group/product``) this client saw in the library."""
    try:
        return {
            version: Seen.from_json(obj)
            for version, obj in _stored(store, product).get("versions", {}).items()
        }
    except TrustError as error:
        raise ClientError(
            f"the trusted state in {store.folder} is damaged: {error}",
            Exit.INTEGRITY,
            "trust.state_file",
            "restore it from a backup, or pin the root again in a new trust folder",
        ) from None


def _save(
    store: TrustStore,
    product: str,
    versions: dict[str, Seen],
    index: tuple[LibraryIndex, Envelope] | None = None,
) -> None:
    state = store.state()
    library = state.setdefault("library", {})
    entry = library.setdefault(product, {})
    if index is not None:
        entry["serial"] = index[0].serial
        entry["payload_sha256"] = index[1].payload_sha256()
        entry["expires"] = index[0].expires.isoformat()
        entry["listed"] = len(index[0].versions)
    entry["versions"] = {v: seen.to_json() for v, seen in sorted(versions.items())}
    store.save_state(state)


def check_library(
    api: Api,
    store: TrustStore,
    keyring: Keyring,
    ref: Ref,
    *,
    now: datetime,
    stale: timedelta = timedelta(0),
) -> Library:
    """Fetch, verify and remember the library index of ``ref``'s product.

    Refuses (exit 6) an index that is not signed by the status role, rolled back, expired
    beyond ``stale``, or that drops, renumbers, re-manifests or un-retires a version this
    client saw; remembers it only once it verified.
    """
    assert ref.product is not None
    product = _product_key(ref)
    envelope = Envelope.from_json(
        api.get(f"/api/v1/groups/{seg(ref.group)}/products/{seg(ref.product)}/library")
    )
    stored = _stored(store, product)
    seen = seen_versions(store, product)
    try:
        index = verify_library_index(
            keyring,
            envelope,
            group=ref.group,
            product=ref.product,
            now=now,
            trusted_serial=stored.get("serial"),
            trusted_payload_sha256=stored.get("payload_sha256"),
            seen=seen,
            stale=stale,
        )
    except TrustError as error:
        raise trust_failure(error, f"the library index of {product} does not verify") from None
    for entry in index.versions:
        seen[entry.version] = seen_after(seen.get(entry.version), entry, index.issued)
    _save(store, product, seen, (index, envelope))
    return Library(index, None if ref.version is None else index.entry(ref.version), envelope)


def library_summary(store: TrustStore) -> dict[str, dict[str, Any]]:
    """What ``depot trust show`` says of each product's library this client saw: the
    newest signed index's serial, its expiry, how many versions it listed, how many
    versions this client has ever seen in that library, and each of them as remembered
    (library number, newest state seen and when that was signed, manifest)."""
    return {
        product: {
            "serial": stored.get("serial"),
            "expires": stored.get("expires"),
            "versions_listed": stored.get("listed"),
            "versions_seen": len(stored.get("versions", {})),
            "versions": {
                version: seen.to_json()
                for version, seen in sorted(seen_versions(store, product).items())
            },
        }
        for product, stored in sorted(store.state().get("library", {}).items())
    }


def check_status(store: TrustStore, library: Library, status: Status) -> None:
    """The verified ``status`` agrees with the index (same manifest) and goes back on
    nothing this client saw (a retirement, or a quarantine by an older document); then
    its state is remembered."""
    product = f"{status.group}/{status.product}"
    seen = seen_versions(store, product)
    try:
        check_listed(library.index, status.version, status.manifest_sha256)
        check_state_floor(status.ref, seen.get(status.version), status.state, status.issued)
    except TrustError as error:
        raise trust_failure(error, f"the status of {status.ref} does not verify") from None
    entry = library.index.entry(status.version)
    assert entry is not None
    before = seen.get(status.version)
    seen[status.version] = seen_after(
        before,
        LibraryEntry(entry.library_number, entry.version, entry.manifest_sha256, status.state),
        status.issued,
    )
    if seen[status.version] != before:
        _save(store, product, seen)


def require_in_use(library: Library, status: Status | None = None) -> None:
    """Refuse (exit 7) a version the index or its status says is retired or quarantined."""
    for state, reason in (
        (library.entry.state if library.entry else "checked_in", ""),
        (status.state if status else "checked_in", status.reason if status else ""),
    ):
        if state != "checked_in":
            version = library.entry.version if library.entry else "?"
            raise ClientError(
                f"{library.index.ref}@{version} is {state}" + (f": {reason}" if reason else ""),
                Exit.FORBIDDEN,
                "trust.state",
            )


def check_growth(
    api: Api,
    old: Checkpoint | None,
    new: Checkpoint,
    what: str,
    store: TrustStore | None = None,
) -> None:
    """The log of checkpoint ``new`` extends the stored ``old`` one (exit 6 otherwise).

    A shrunk log is refused before any proof is asked for: the server could not give a
    consistency proof from more entries to fewer, and its 400 would read as bad input.
    Of the same size, the proof is empty (the roots must be equal): nothing is asked.
    With ``store``, a proof asked for before is taken from its cache.
    """
    if old is None:
        return
    proof: list[bytes] = []
    if old.size < new.size:
        hexes = (
            store.proof(api, "consistency", old=old.size, new=new.size)
            if store is not None
            else api.get("/api/v1/log/proof/consistency", old=old.size, new=new.size)["proof"]
        )
        proof = [bytes.fromhex(h) for h in hexes]
    try:
        check_log_growth(old, new, proof)
    except TrustError as error:
        raise trust_failure(error, what) from None


def stores_of(repository: str) -> list[TrustStore]:
    """The trusted state of every server pinned on this machine for ``repository``."""
    return [
        TrustStore.for_server(str(root["server"]))
        for root in TrustStore.pinned_roots()
        if root.get("repository") == repository
    ]


def merged_keyrings(stored: list[Envelope], carried: Sequence[Envelope]) -> tuple[Envelope, ...]:
    """The keyring chain to walk offline: the client's own, extended by a bundle's.

    Offline verification must never trust less than the newest keyring this client
    already verified (a bundle carrying only keyring 1 would let a rotated-out key sign).
    A bundle's keyring of a version the client holds must be the very same document.
    Nothing here is trusted yet: the walk from the pinned version 1 checks every step.
    """
    chain: dict[int, Envelope] = {}
    for origin, envelopes in (("this client's", stored), ("the bundle's", carried)):
        for envelope in envelopes:
            try:
                version = Keyring.from_payload(envelope.payload).version
            except TrustError as error:
                raise trust_failure(error, f"{origin} keyrings are not readable") from None
            held = chain.setdefault(version, envelope)
            if held.payload_sha256() != envelope.payload_sha256():
                raise ClientError(
                    f"the bundle's keyring version {version} is not the one this client "
                    "trusts under that version",
                    Exit.INTEGRITY,
                    "trust.keyring_version",
                )
    return tuple(chain[v] for v in sorted(chain))
