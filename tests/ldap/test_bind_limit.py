"""A password spray must not lock real staff out of the bank's directory (issue 13 §1).

The test directory here runs OpenLDAP's password policy overlay (ppolicy) with a lockout
after 5 failed binds, as a bank's directory would. Depot stops sending binds for a person
after ``ldap_max_failed_binds`` (3) failures in ``ldap_failed_bind_window``: the entry is
never locked, and the person signs in once Depot's window has passed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import ldap
import pytest
import urllib3

from repo_server.clock import FrozenClock
from tests.fixtures.servers import serve
from tests.ldap.conftest import MakeWorld
from tests.ldap.directory import (
    SUFFIX,
    DirectoryCA,
    LiveDirectory,
    Slapd,
    directory_ldif,
    password,
    person_dn,
)

#: The directory's own threshold: the 5th failed bind locks the entry for good.
DIRECTORY_MAX_FAILURE = 5
POLICY_DN = f"cn=default,ou=policies,{SUFFIX}"


class PolicySlapd(Slapd):
    """The test slapd with the ppolicy overlay and a default policy of 5 failures."""

    slapd_conf_template = (
        Slapd.slapd_conf_template.replace(
            "olcModuleLoad: back_%(database)s",
            "olcModuleLoad: back_%(database)s\nolcModuleLoad: ppolicy",
        )
        + f"""
dn: olcOverlay=ppolicy,olcDatabase={{1}}%(database)s,cn=config
objectClass: olcOverlayConfig
objectClass: olcPPolicyConfig
olcOverlay: ppolicy
olcPPolicyDefault: {POLICY_DN}
"""
    )


class PolicyDirectory(LiveDirectory):
    def __init__(self, run_folder: Any, ca: DirectoryCA) -> None:
        super().__init__(run_folder, ca)
        server = PolicySlapd()
        server.cafile, server.servercert, server.serverkey = (
            self.server.cafile,
            self.server.servercert,
            self.server.serverkey,
        )
        self.server = server

    def start(self) -> None:
        self.server.start()
        self.server.ldapadd(
            directory_ldif()
            + f"\ndn: ou=policies,{SUFFIX}\nobjectClass: organizationalUnit\nou: policies\n"
            + f"\ndn: {POLICY_DN}\nobjectClass: device\nobjectClass: pwdPolicy\ncn: default\n"
            f"pwdAttribute: userPassword\npwdMaxFailure: {DIRECTORY_MAX_FAILURE}\n"
            "pwdLockout: TRUE\npwdLockoutDuration: 0\npwdFailureCountInterval: 0\n"
        )

    def failures(self, uid: str) -> tuple[int, bool]:
        """How many failed binds the directory counts for ``uid``, and whether it locked
        the entry (operational attributes, read as the directory's root)."""
        conn = ldap.initialize(self.url)
        conn.simple_bind_s(self.server.root_dn, self.server.root_pw)
        ((_, entry),) = conn.search_s(
            person_dn(uid), ldap.SCOPE_BASE, attrlist=["pwdFailureTime", "pwdAccountLockedTime"]
        )
        conn.unbind_s()
        return len(entry.get("pwdFailureTime", [])), "pwdAccountLockedTime" in entry


@pytest.fixture
def directory(
    tmp_path_factory: pytest.TempPathFactory, test_ca: DirectoryCA
) -> Iterator[LiveDirectory]:
    running = PolicyDirectory(tmp_path_factory.mktemp("slapd-ppolicy"), test_ca)
    running.start()
    try:
        yield running
    finally:
        running.stop()


def login(url: str, username: str, secret: str) -> urllib3.BaseHTTPResponse:
    return urllib3.request(
        "POST",
        url + "/api/v1/auth/login",
        body=json.dumps({"username": username, "password": secret}),
        headers={"Content-Type": "application/json"},
    )


def test_a_spray_stops_before_the_directory_locks_the_person_out(
    make_world: MakeWorld, directory: PolicyDirectory, clock: FrozenClock
) -> None:
    world = make_world()
    with serve(world.app) as url:
        answers = [login(url, "alice", f"Spring202{n}!").status for n in range(10)]
        assert answers == [401] * 3 + [429] * 7
        assert directory.failures("alice") == (3, False)
        # The right password waits too: no bind is sent until Depot's window has passed.
        assert login(url, "alice", password("alice")).status == 429
        assert directory.failures("alice") == (3, False)
        clock.advance(seconds=world.depot.settings.ldap_failed_bind_window)
        assert login(url, "alice", password("alice")).status == 201
        # The successful bind cleared the directory's count, as it cleared Depot's.
        assert directory.failures("alice") == (0, False)


def test_without_the_limit_the_directory_locks_the_person_out_for_good(
    make_world: MakeWorld, directory: PolicyDirectory
) -> None:
    # What Depot used to do: every attempt became a bind.
    world = make_world(ldap_max_failed_binds=100, sign_in_account_limit="100/15 minutes")
    with serve(world.app) as url:
        for n in range(DIRECTORY_MAX_FAILURE):
            assert login(url, "bob", f"Spring202{n}!").status == 401
        assert directory.failures("bob")[1] is True
        assert login(url, "bob", password("bob")).status == 401
