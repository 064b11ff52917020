"""The signed library index and what a client remembers of the library: a version once
seen in the library is never dropped, renumbered, re-manifested or taken out of retirement;
a quarantine is not undone by an older document; freshness is bounded (TUF's snapshot and
timestamp checks: rollback, freeze, equal serial with other content)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from policies.trust.canonical import canonical_bytes
from policies.trust.dsse import STATUS, sign
from policies.trust.errors import TrustError
from policies.trust.library import (
    LIBRARY,
    MAX_LIFETIME,
    MAX_STALENESS,
    LibraryEntry,
    LibraryIndex,
    Seen,
    check_fresh,
    check_listed,
    check_seen_entry,
    check_state_floor,
    seen_after,
    verify_library_index,
)
from tests.policies.trust.factory import GROUP, NOW, PRODUCT, REPO, VERSION, World

W = World()
MANIFEST = W.manifest_env.payload_sha256()
OLD = LibraryEntry(16, "1.1.0", "1" * 64, "retired")
ENTRY = LibraryEntry(17, VERSION, MANIFEST, "checked_in")


def index(**changes: Any) -> LibraryIndex:
    base = LibraryIndex(
        repository=REPO,
        group=GROUP,
        product=PRODUCT,
        serial=4,
        issued=NOW - timedelta(minutes=5),
        expires=NOW + timedelta(minutes=10),
        versions=(OLD, ENTRY),
    )
    return replace(base, **changes)


def signed(**changes: Any) -> Any:
    return sign(LIBRARY, index(**changes).to_payload(), [W.status_key])


def check(env: Any = None, **kw: Any) -> LibraryIndex:
    args: dict[str, Any] = {
        "group": GROUP,
        "product": PRODUCT,
        "now": NOW,
        "trusted_serial": None,
        "trusted_payload_sha256": None,
        "seen": {},
        **kw,
    }
    return verify_library_index(W.keyring, signed() if env is None else env, **args)


def refused(check_name: str, text: str, call: Any, *args: Any, **kw: Any) -> None:
    with pytest.raises(TrustError) as caught:
        call(*args, **kw)
    assert caught.value.check == check_name, caught.value
    assert text in str(caught.value), caught.value


def seen(entry: LibraryEntry = ENTRY, **changes: Any) -> Seen:
    base = Seen(entry.library_number, entry.manifest_sha256, entry.state, NOW - timedelta(hours=1))
    return replace(base, **changes)


def test_an_index_round_trips_and_lists_its_versions() -> None:
    got = check()
    assert got == index() and got.ref == "acme/app"
    assert got.entry(VERSION) == ENTRY and got.entry("9.9.9") is None
    assert LibraryIndex.from_payload(index(versions=()).to_payload()).versions == ()


def test_an_index_is_read_strictly() -> None:
    refused("document", "ordered by library number", index(versions=(ENTRY, OLD)).to_payload)
    twice = replace(OLD, library_number=18, version=VERSION)
    refused("document", "naming each version once", index(versions=(ENTRY, twice)).to_payload)
    refused("document", "field 'state' must be one of", index(
        versions=(replace(ENTRY, state="accepted"),)).to_payload)  # fmt: skip
    refused("document", "the library index must be a JSON object", LibraryIndex._read, [])
    raw = canonical_bytes({"_type": "depot.status", "spec_version": "1"})
    refused("document", "lacks the field", LibraryIndex.from_payload, raw)


def test_signed_by_the_status_role_for_this_product() -> None:
    by_release = sign(LIBRARY, index().to_payload(), [W.release])
    refused("threshold", "status keys", check, by_release)
    as_status = sign(STATUS, index().to_payload(), [W.status_key])
    refused("payload_type", "expected a document of type", check, as_status)
    refused("subject", "the library index is of acme/other", check, signed(product="other"))
    refused("subject", "of https://elsewhere", check, signed(repository="https://elsewhere"))


def test_rollback_and_replay() -> None:
    refused("rollback", "serial 4 of acme/app is older than serial 5", check, trusted_serial=5)
    refused("rollback", "already seen with other content", check, trusted_serial=4)
    refused("rollback", "already seen with other content", check, trusted_serial=4,
            trusted_payload_sha256="0" * 64)  # fmt: skip
    same = signed()
    assert check(same, trusted_serial=4, trusted_payload_sha256=same.payload_sha256()).serial == 4
    assert check(trusted_serial=3).serial == 4


def test_freshness_is_bounded() -> None:
    refused("expired", "the library index of acme/app expired at 2026-11-28T10:10:00Z",
            check, now=NOW + timedelta(minutes=10))  # fmt: skip
    assert check(now=NOW + timedelta(minutes=20), stale=timedelta(minutes=11)).serial == 4
    refused("expired", "and the 0:10:00 allowed past it", check,
            now=NOW + timedelta(minutes=20), stale=timedelta(minutes=10))  # fmt: skip
    refused("time", "at most 30 days", check, stale=MAX_STALENESS + timedelta(seconds=1))
    refused("time", "at most 30 days", check, stale=timedelta(seconds=-1))
    long = signed(expires=NOW - timedelta(minutes=5) + MAX_LIFETIME + timedelta(seconds=1))
    refused("time", "longer than the 24 hours a client accepts", check, long)
    check_fresh("x", NOW, NOW + MAX_LIFETIME, NOW, MAX_STALENESS)


def test_a_version_once_seen_in_the_library_stays_there() -> None:
    assert check(seen={VERSION: seen()}).entry(VERSION) == ENTRY
    refused("rollback", "acme/app@1.2.0 was seen in the library (library number 17); the "
            "library index no longer lists it", check, signed(versions=(OLD,)),
            seen={VERSION: seen()})  # fmt: skip
    renumbered = (OLD, replace(ENTRY, library_number=18))
    refused("rollback", "the index now says number 18", check, signed(versions=renumbered),
            seen={VERSION: seen()})  # fmt: skip
    other = (OLD, replace(ENTRY, manifest_sha256="2" * 64))
    refused("rollback", f"with manifest {'2' * 64}", check, signed(versions=other),
            seen={VERSION: seen()})  # fmt: skip


def test_an_older_index_offline_is_checked_against_what_the_client_remembers() -> None:
    """A bundle's index may be older than what the client saw since (it lists fewer
    versions), but never another number, manifest or an undone retirement."""
    older = index(versions=(ENTRY,))
    check_seen_entry(older, ENTRY, None)
    check_seen_entry(older, ENTRY, seen())
    refused("rollback", "the index now says number 18", check_seen_entry, older,
            replace(ENTRY, library_number=18), seen())  # fmt: skip
    refused("rollback", "acme/app@1.2.0 was seen retired", check_seen_entry, older, ENTRY,
            seen(state="retired"))  # fmt: skip


def test_retirement_is_final_and_a_quarantine_is_not_undone_by_an_older_document() -> None:
    refused("rollback", "acme/app@1.1.0 was seen retired", check,
            signed(versions=(replace(OLD, state="checked_in"), ENTRY)),
            seen={"1.1.0": seen(OLD)})  # fmt: skip
    assert check(seen={"1.1.0": seen(OLD)}).entry("1.1.0") == OLD
    quarantined = seen(state="quarantined")
    # An index signed after the quarantine was seen may lift it (a release)...
    assert check(seen={VERSION: quarantined}).entry(VERSION) == ENTRY
    # ...one signed before it may not.
    assert check(signed(issued=quarantined.issued), seen={VERSION: quarantined}).serial == 4
    at = quarantined.issued - timedelta(seconds=1)
    refused(
        "rollback", "was seen quarantined", check, signed(issued=at), seen={VERSION: quarantined}
    )
    check_state_floor("x", None, "checked_in", NOW)
    check_state_floor("x", seen(), "retired", NOW - timedelta(days=9))
    check_state_floor("x", quarantined, "retired", NOW - timedelta(days=9))
    refused("rollback", "now says quarantined", check_state_floor, "x", seen(OLD), "quarantined",
            NOW)  # fmt: skip


def test_what_a_client_remembers() -> None:
    before = seen(state="quarantined", issued=NOW)
    assert seen_after(before, ENTRY, NOW - timedelta(minutes=1)) is before
    after = seen_after(before, ENTRY, NOW + timedelta(minutes=1))
    assert after == Seen(17, MANIFEST, "checked_in", NOW + timedelta(minutes=1))
    assert seen_after(None, OLD, NOW).state == "retired"
    assert Seen.from_json(after.to_json()) == after
    refused("document", "a remembered library entry", Seen.from_json, {"state": "retired"})


def test_a_status_names_the_manifest_its_index_lists() -> None:
    check_listed(index(), VERSION, MANIFEST)
    refused("subject", "does not list acme/app@9.9.9", check_listed, index(), "9.9.9", MANIFEST)
    refused("hash", "the library index " + MANIFEST, check_listed, index(), VERSION, "3" * 64)
