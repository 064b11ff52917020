"""The directory client against slapd: escaping, empty passwords, nesting, fail-over,
StartTLS with a test CA. These look at what the client returns; the other files look at
what people see."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar

import ldap
import pytest

from repo_server.auth.ldap.config import ldap_config
from repo_server.auth.ldap.directory import Directory, entry_id, entry_id_filter
from repo_server.auth.ldap.errors import DirectoryUnavailable, SignInRefused
from repo_server.settings import load_settings
from tests.ldap.conftest import ldap_settings
from tests.ldap.directory import (
    GROUPS,
    PEOPLE,
    LiveDirectory,
    group_dn,
    make_ca,
    password,
    person_dn,
)


def client(directory: LiveDirectory, mapping_file: Path, **overrides: Any) -> Directory:
    settings = load_settings({}, **ldap_settings(directory, mapping_file, **overrides))
    return Directory(ldap_config(settings))


def groups(dns: frozenset[str]) -> set[str]:
    return {dn.split(",")[0].removeprefix("cn=") for dn in dns}


def test_a_person_and_their_groups(directory: LiveDirectory, mapping_file: Path) -> None:
    person, found = client(directory, mapping_file).authenticate("carol", password("carol"))
    assert person.dn == person_dn("carol") and person.username == "carol"
    assert person.display_name == "Carol Chen" and person.email == "carol@example.org"
    assert not person.disabled
    assert groups(found) == {"payments-contractors", "payments-dev"}


def test_a_person_is_found_by_their_entrys_permanent_id(
    directory: LiveDirectory, mapping_file: Path
) -> None:
    found = client(directory, mapping_file).run(lambda session: session.find("carol"))
    assert found is not None
    assert re.fullmatch(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", found.entry_id)
    again = client(directory, mapping_file).run(
        lambda session: session.find_by_id(found.entry_id, "carol")
    )
    assert again == found
    # Another attribute may hold the id (here a text one); an unknown id finds nobody.
    directory.modify(
        f"dn: {person_dn('carol')}\nchangetype: modify\nadd: employeeNumber\nemployeeNumber: E*1(\n"
    )
    other = client(directory, mapping_file, ldap_id_attribute="employeeNumber")
    carol = other.run(lambda session: session.find("carol"))
    assert carol is not None and carol.entry_id == "E*1("
    assert other.run(lambda session: session.find_by_id("E*1(", "carol")) == carol
    assert other.run(lambda session: session.find_by_id("E*", "carol")) is None


def test_active_directory_guids_are_written_as_windows_writes_them() -> None:
    # objectGUID {3f2504e0-4f89-11d3-9a0c-0305e82c3301}: its first three fields are
    # little-endian on the wire.
    raw = bytes.fromhex("e004253f894fd3119a0c0305e82c3301")
    assert entry_id("objectGUID", [raw]) == "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
    assert entry_id_filter("objectGUID", "3f2504e0-4f89-11d3-9a0c-0305e82c3301") == (
        "(objectGUID=\\e0\\04\\25\\3f\\89\\4f\\d3\\11\\9a\\0c\\03\\05\\e8\\2c\\33\\01)"
    )
    assert entry_id("entryUUID", [b"078FA924-832C-1041-914F-BB0CEA20627B"]) == (
        "078fa924-832c-1041-914f-bb0cea20627b"
    )
    assert entry_id("nsUniqueId", [b"\x00\xff"]) == "hex:00ff"
    assert entry_id_filter("nsUniqueId", "hex:00ff") == "(nsUniqueId=\\00\\ff)"
    assert entry_id("entryUUID", []) == ""


def test_slapd_answers_an_empty_password_with_unwilling_to_perform(
    directory: LiveDirectory, mapping_file: Path
) -> None:
    # What the directory does with an unauthenticated bind...
    conn = ldap.initialize(directory.url)
    with pytest.raises(ldap.UNWILLING_TO_PERFORM):
        conn.simple_bind_s(person_dn("alice"), "")
    # ...is a refusal like any other to the client, which never sends one anyway.
    directory_client = client(directory, mapping_file)
    with pytest.raises(SignInRefused) as refused:
        directory_client.run(lambda session: session.check_password(person_dn("alice"), ""))
    assert "Server is unwilling to perform" in refused.value.reason
    with pytest.raises(SignInRefused, match="empty password"):
        directory_client.authenticate("alice", "")


@pytest.mark.parametrize(
    "name",
    ["*", "*)(uid=*", "alice)(|(uid=*", "al*", "alice)(objectClass=*", "*)(|(objectClass=*"],
)
def test_filter_injection_finds_nobody(
    directory: LiveDirectory, mapping_file: Path, name: str
) -> None:
    directory_client = client(directory, mapping_file)
    assert directory_client.run(lambda session: session.find(name)) is None
    with pytest.raises(SignInRefused, match="unknown user"):
        directory_client.authenticate(name, password("alice"))


def test_dn_injection_with_a_bind_template_binds_nobody(
    directory: LiveDirectory, mapping_file: Path
) -> None:
    directory_client = client(
        directory,
        mapping_file,
        ldap_user_dn_template=f"uid={{username}},{PEOPLE}",
        ldap_user_base="",
        ldap_bind_dn="",
        ldap_bind_password="",
    )
    person, found = directory_client.authenticate("alice", password("alice"))
    assert person.dn == person_dn("alice") and groups(found) == {"payments-dev"}
    for name in (f"alice,{PEOPLE}", "alice+cn=x", "cn=Manager,dc=example,dc=org", "*"):
        with pytest.raises(SignInRefused):
            directory_client.authenticate(name, password("alice"))


def test_cycles_end_and_depth_is_limited(directory: LiveDirectory, mapping_file: Path) -> None:
    directory_client = client(directory, mapping_file, ldap_nesting_depth=2)
    _, erin = directory_client.authenticate("erin", password("erin"))
    assert groups(erin) == {"cycle-a", "cycle-b"}
    _, frank = directory_client.authenticate("frank", password("frank"))
    assert groups(frank) == {"deep-3", "deep-2", "deep-1"}
    deeper = client(directory, mapping_file, ldap_nesting_depth=20)
    _, erin = deeper.authenticate("erin", password("erin"))
    assert groups(erin) == {"cycle-a", "cycle-b"}
    _, frank = deeper.authenticate("frank", password("frank"))
    assert groups(frank) == {"deep-3", "deep-2", "deep-1", "deep-0"}


def test_member_uid_groups(directory: LiveDirectory, mapping_file: Path) -> None:
    directory_client = client(
        directory,
        mapping_file,
        ldap_member_attribute="memberUid",
        ldap_group_filter="(objectClass=posixGroup)",
    )
    _, found = directory_client.authenticate("alice", password("alice"))
    assert found == frozenset({group_dn("posix-devs")})
    people = directory_client.run(lambda session: session.people_in([group_dn("posix-devs")]))
    assert [p.username for p in people.values()] == ["alice"]


def test_people_in_mapped_groups_include_nested_members(
    directory: LiveDirectory, mapping_file: Path
) -> None:
    directory_client = client(directory, mapping_file)
    people = directory_client.run(lambda session: session.people_in([group_dn("payments-dev")]))
    assert sorted(p.username for p in people.values()) == ["alice", "carol", "dave"]
    assert [p.username for p in people.values() if p.disabled] == ["dave"]


def test_fail_over_to_the_next_server(directory: LiveDirectory, mapping_file: Path) -> None:
    dead = "ldap://127.0.0.1:9"  # nothing listens on the discard port
    directory_client = client(directory, mapping_file, ldap_url=f"{dead} {directory.url}")
    person, _ = directory_client.authenticate("alice", password("alice"))
    assert person.username == "alice"
    checks = directory_client.check()
    assert [(c.url, c.ok) for c in checks] == [(dead, False), (directory.url, True)]
    assert "Can't contact LDAP server" in checks[0].detail
    assert checks[1].detail == "no TLS, bound as dn:cn=depot-svc,ou=services,dc=example,dc=org"


def test_no_server_answering_is_unavailable(directory: LiveDirectory, mapping_file: Path) -> None:
    directory_client = client(directory, mapping_file)
    directory.pause()
    with pytest.raises(DirectoryUnavailable) as down:
        directory_client.authenticate("alice", password("alice"))
    assert str(down.value).startswith(
        f"no directory server answered: {directory.url}: Can't contact LDAP server"
    )
    directory.resume()
    assert directory_client.authenticate("alice", password("alice"))[0].username == "alice"


def test_a_refused_service_account_says_so(directory: LiveDirectory, mapping_file: Path) -> None:
    directory_client = client(directory, mapping_file, ldap_bind_password="wrong")
    with pytest.raises(DirectoryUnavailable) as refused:
        directory_client.authenticate("alice", password("alice"))
    assert str(refused.value) == (
        f"{directory.url}: the service account 'cn=depot-svc,ou=services,dc=example,dc=org' "
        "was refused: Invalid credentials"
    )


def test_a_missing_search_base_says_so(directory: LiveDirectory, mapping_file: Path) -> None:
    directory_client = client(directory, mapping_file, ldap_user_base=f"ou=staff,{GROUPS}")
    with pytest.raises(DirectoryUnavailable, match="the search base 'ou=staff,"):
        directory_client.authenticate("alice", password("alice"))


def test_starttls_with_the_test_ca(directory: LiveDirectory, mapping_file: Path) -> None:
    directory_client = client(
        directory, mapping_file, ldap_starttls=True, ldap_ca_file=str(directory.ca.ca_file)
    )
    person, _ = directory_client.authenticate("alice", password("alice"))
    assert person.username == "alice"
    [check] = directory_client.check()
    assert check.ok and check.detail.startswith("StartTLS, bound as dn:cn=depot-svc")


def test_starttls_refuses_a_certificate_from_another_ca(
    directory: LiveDirectory, mapping_file: Path, tmp_path: Path
) -> None:
    other = make_ca(tmp_path / "other-ca", "Some Other CA")
    directory_client = client(
        directory, mapping_file, ldap_starttls=True, ldap_ca_file=str(other.ca_file)
    )
    with pytest.raises(DirectoryUnavailable) as failed:
        directory_client.authenticate("alice", password("alice"))
    assert "no directory server answered" in str(failed.value)
    [check] = directory_client.check()
    assert not check.ok and "Connect error" in check.detail


class RangedGroups:
    """What Active Directory answers for a group of 3,500 members (``MaxValRange`` 1500):
    slapd has no ranged retrieval, so this connection plays the directory's part."""

    MEMBERS: ClassVar[list[bytes]] = [
        f"CN=P{n},OU=People,DC=bank,DC=example".encode() for n in range(3500)
    ]

    def __init__(self) -> None:
        self.asked: list[list[str]] = []

    def search_ext_s(
        self, base: str, scope: int, ldap_filter: str, attrlist: list[str], sizelimit: int = 0
    ) -> list[tuple[str, dict[str, list[bytes]]]]:
        self.asked.append(attrlist)
        wanted = attrlist[0]
        start = int(wanted.split("=")[1].split("-")[0]) if ";range=" in wanted else 0
        end = min(start + 1500, len(self.MEMBERS))
        last = "*" if end == len(self.MEMBERS) else str(end - 1)
        return [(base, {f"member;range={start}-{last}": self.MEMBERS[start:end]})]


def test_a_group_larger_than_active_directorys_value_range(
    directory: LiveDirectory, mapping_file: Path
) -> None:
    from repo_server.auth.ldap.directory import DirectorySession

    conn = RangedGroups()
    session = DirectorySession(client(directory, mapping_file), conn, "ldap://dc1")
    members = session.members_of("CN=Everyone,OU=Groups,DC=bank,DC=example")
    assert members == RangedGroups.MEMBERS
    assert conn.asked == [["member"], ["member;range=1500-*"], ["member;range=3000-*"]]
