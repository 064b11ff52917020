"""The signed library index of a product on the server: every version checked in, with its
manifest and state, re-signed with a higher serial when that changes, when a third of its
life is left, or after a key rotation; visible only to those who may browse the group."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from policies.trust.dsse import Envelope, verify
from policies.trust.keyring import Keyring
from policies.trust.library import LIBRARY, LibraryEntry, LibraryIndex
from repo_server.trust.keystore import OfflineChange
from repo_server.trust.rotation import resign_all
from tests.repo_server.test_lifecycle import V, call, check_in, submit_and_accept
from tests.repo_server.test_trust import role
from tests.support import World

INDEX = "/api/v1/groups/team/products/app/library"


def index(w: World, keys: dict | None = None) -> LibraryIndex:  # type: ignore[type-arg]
    env = Envelope.from_json(call(w, "bob", "GET", INDEX))
    status_keys = keys if keys is not None else role(w, "status")[0]
    return LibraryIndex.from_payload(verify(env, LIBRARY, status_keys, 1))


def test_the_index_lists_every_version_checked_in_and_its_state(lib: World) -> None:
    empty = index(lib)
    assert empty.versions == () and empty.ref == "team/app"
    assert index(lib) == empty  # unchanged and fresh: the same document
    submit_and_accept(lib)
    check_in(lib)
    listed = index(lib)
    manifest = call(lib, "bob", "GET", V)["manifest_sha256"]
    assert listed.versions == (LibraryEntry(1, "1.0.0", manifest, "checked_in"),)
    assert listed.serial == empty.serial + 1
    lib.clock.advance(minutes=11)  # less than a third of 15 minutes left
    again = index(lib)
    assert again.serial == listed.serial + 1 and again.versions == listed.versions
    call(lib, "victor", "POST", V + "/retire", {"reason": "superseded"})
    retired = index(lib)
    assert retired.versions == (LibraryEntry(1, "1.0.0", manifest, "retired"),)
    assert retired.serial == again.serial + 1
    assert (retired.expires - retired.issued).total_seconds() == lib.depot.settings.status_ttl


def test_outsiders_see_no_index(lib: World) -> None:
    hidden = lib.call("GET", INDEX, lib.tokens["dave"])
    missing = lib.call("GET", "/api/v1/groups/nope/products/app/library", lib.tokens["dave"])
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json["error"] == missing.json["error"]
    assert (
        lib.call("GET", "/api/v1/groups/team/products/none/library", lib.tokens["bob"]).status_code
        == 404
    )
    assert lib.call("GET", INDEX).status_code == 401


def test_after_a_rotation_the_index_is_signed_by_the_new_status_key(lib: World) -> None:
    submit_and_accept(lib)
    check_in(lib)
    before = index(lib)
    with lib.depot.db.write() as session:
        current = lib.depot.keys.rotate(
            session, lib.root_keys, lib.clock.now(),
            roots=OfflineChange(add=(Ed25519PrivateKey.generate().public_key(),), threshold=1),
        )  # fmt: skip
        resign_all(session, lib.depot.keys, current.version)
    keyring2 = Keyring.from_payload(
        Envelope.from_json(call(lib, "bob", "GET", "/api/v1/trust/keyring/2")).payload
    )
    after = index(lib, keyring2.role_keys("status")[0])  # at once, with no time passing
    assert after.serial == before.serial + 1 and after.versions == before.versions
