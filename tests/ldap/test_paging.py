"""A directory that answers at most a few entries to one search (its size limit): Depot
reads everything with paged searches (RFC 2696), so a person in more groups than the
limit signs in, and ``ldap sync`` reconciles a group larger than the limit and everyone
after them (issue 13 §4)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from repo_server.auth.principal import system
from tests.ldap.directory import DirectoryCA, LiveDirectory, group_dn, person_dn
from tests.ldap.test_sign_in import login, whoami
from tests.support import World

LIMIT = 3
CREW = [f"crew{n}" for n in range(2 * LIMIT + 2)]


@pytest.fixture
def directory(
    tmp_path_factory: pytest.TempPathFactory, test_ca: DirectoryCA
) -> Iterator[LiveDirectory]:
    """The test directory with a size limit of 3 and, in payments-dev, a crew of 8; alice
    is in 5 groups (payments-dev and 4 unmapped ones)."""
    running = LiveDirectory(tmp_path_factory.mktemp("slapd"), test_ca, size_limit=LIMIT)
    running.start()
    for name in CREW:
        running.add_person(name, f"Crew {name}", "payments-dev")
    for n in range(LIMIT + 1):
        running.server.ldapadd(
            f"dn: {group_dn(f'club-{n}')}\nobjectClass: groupOfNames\ncn: club-{n}\n"
            f"member: {person_dn('alice')}\n"
        )
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def world(make_world: object) -> World:
    return make_world(ldap_page_size=2)  # type: ignore[operator, no-any-return]


def test_the_directory_has_a_size_limit(directory: LiveDirectory) -> None:
    import ldap

    conn = ldap.initialize(directory.url)
    conn.simple_bind_s("cn=depot-svc,ou=services,dc=example,dc=org", "service-account-pw")
    with pytest.raises(ldap.SIZELIMIT_EXCEEDED):
        conn.search_s("ou=people,dc=example,dc=org", ldap.SCOPE_SUBTREE, "(uid=*)", ["1.1"])


def test_a_person_in_more_groups_than_the_limit_signs_in(world: World) -> None:
    answer = login(world, "alice")
    assert answer.status_code == 201, answer.json
    assert whoami(world, answer.json["token"])["groups"] == {"payments": ["member"]}


def test_sync_reconciles_a_group_larger_than_the_limit_and_everyone_after(
    world: World, directory: LiveDirectory
) -> None:
    sync = world.depot.auth.directory
    assert sync is not None
    report = sync.sync_all(system())
    assert not report.stopped and report.problems == []
    assert report.created == sorted(["alice", "bob", "carol", "erin", "frank", "olivia", *CREW])
    for name in CREW:
        token = login(world, name).json["token"]
        assert whoami(world, token)["groups"] == {"payments": ["member"]}
    directory.remove_member("payments-dev", CREW[-1])
    again = sync.sync_all(system())
    assert [(c.username, c.kind) for c in again.changes] == [(CREW[-1], "removed")]
