"""The sign-in settings and the mapping file: every mistake is named at start."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from policies.access import GlobalRole, GroupRole
from repo_server.auth.ldap.mapping import load_mapping, parse_mapping
from repo_server.settings import Settings, SettingsError, load_settings

BASE = {
    "ldap_url": "ldap://ldap1.bank.example ldap://ldap2.bank.example",
    "ldap_user_base": "ou=people,dc=bank,dc=example",
    "ldap_group_base": "ou=groups,dc=bank,dc=example",
}


def settings(**values: Any) -> Settings:
    return load_settings({}, **{**BASE, **values})


def test_the_environment_gives_every_ldap_setting() -> None:
    loaded = load_settings(
        {
            "DEPOT_LDAP_URL": "ldaps://ldap1:636,ldaps://ldap2:636",
            "DEPOT_LDAP_USER_BASE": "ou=people,dc=x",
            "DEPOT_LDAP_GROUP_BASE": "ou=groups,dc=x",
            "DEPOT_LDAP_MEMBER_ATTRIBUTE": "uniquemember",
            "DEPOT_LDAP_NESTING_DEPTH": "3",
            "DEPOT_LDAP_RECHECK_INTERVAL": "120",
            "DEPOT_LDAP_ID_ATTRIBUTE": "objectGUID",
            "DEPOT_LDAP_PAGE_SIZE": "1000",
            "DEPOT_LOCAL_SIGN_IN": "off",
            "DEPOT_BREAK_GLASS_ACCOUNTS": "root, ops-admin",
        }
    )
    assert loaded.ldap_url == "ldaps://ldap1:636,ldaps://ldap2:636"
    assert loaded.local_sign_in is False and loaded.ldap_recheck_interval == 120
    from repo_server.auth.ldap.config import ldap_config
    from repo_server.settings import break_glass_names

    config = ldap_config(loaded)
    assert config.urls == ("ldaps://ldap1:636", "ldaps://ldap2:636")
    assert config.member_attribute == "uniqueMember"
    assert config.id_attribute == "objectGUID" and config.page_size == 1000
    assert ldap_config(settings()).id_attribute == "entryUUID"
    assert break_glass_names(loaded) == {"root", "ops-admin"}


def test_settings_from_a_toml_file(tmp_path: Path) -> None:
    config = tmp_path / "depot.toml"
    config.write_text(
        "[depot]\n"
        'ldap_url = "ldap://ldap1"\n'
        "ldap_starttls = true\n"
        'ldap_user_dn_template = "uid={username},ou=people,dc=x"\n'
        'ldap_group_base = "ou=groups,dc=x"\n'
    )
    loaded = load_settings({}, config)
    assert loaded.ldap_starttls is True and loaded.local_sign_in is True


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"ldap_url": "", "local_sign_in": False}, "local_sign_in is off but ldap_url is empty"),
        ({"ldap_url": "http://ldap1"}, "ldap_url: 'http://ldap1' must start with ldap://"),
        (
            {"ldap_url": "ldaps://ldap1", "ldap_starttls": True},
            "ldap_starttls is on but ldap_url has an ldaps:// server",
        ),
        ({"ldap_user_base": ""}, "set ldap_user_base (where people are searched)"),
        ({"ldap_group_base": ""}, "set ldap_group_base"),
        ({"ldap_user_dn_template": "uid=x,dc=y"}, "must hold {username} exactly once"),
        ({"ldap_user_dn_template": "uid={user},dc=y"}, "must hold {username} exactly once"),
        ({"ldap_user_filter": "objectClass=person"}, "ldap_user_filter: 'objectClass=person'"),
        ({"ldap_disabled_filter": "(a=b"}, "ldap_disabled_filter: '(a=b' is not an LDAP filter"),
        ({"ldap_member_attribute": "members"}, "ldap_member_attribute must be one of member"),
        ({"ldap_username_attribute": "uid)(x"}, "ldap_username_attribute"),
        ({"ldap_nesting_depth": 21}, "ldap_nesting_depth must be between 0 and 20"),
        ({"ldap_id_attribute": "entry UUID"}, "ldap_id_attribute: 'entry UUID' is not an"),
        ({"ldap_page_size": 0}, "ldap_page_size must be between 1 and 100000"),
        ({"ldap_recheck_interval": -1}, "ldap_recheck_interval must be between 0 and 86400"),
        ({"ldap_timeout": 0}, "ldap_timeout must be between 1 and 120"),
        ({"ldap_bind_password": "pw"}, "a bind password is set but ldap_bind_dn is empty"),
        ({"break_glass_accounts": "root, Bad Name"}, "break_glass_accounts: 'bad name'"),
    ],
)
def test_settings_that_cannot_work_are_named(values: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingsError) as error:
        settings(**values)
    assert message in str(error.value)


def test_booleans_accept_the_usual_words() -> None:
    for word, value in (("yes", True), ("on", True), ("1", True), ("false", False), ("no", False)):
        assert load_settings({"DEPOT_LDAP_STARTTLS": word}).ldap_starttls is value
    with pytest.raises(SettingsError, match="DEPOT_LDAP_STARTTLS: invalid value 'maybe'"):
        load_settings({"DEPOT_LDAP_STARTTLS": "maybe"})


def test_the_bind_password_file_and_the_ca_file(tmp_path: Path) -> None:
    from repo_server.auth.ldap.config import ldap_config

    secret = tmp_path / "bind-password"
    secret.write_text("s3cret\n")
    loaded = settings(ldap_bind_dn="cn=svc,dc=x", ldap_bind_password_file=str(secret))
    assert ldap_config(loaded).bind_password == "s3cret"
    with pytest.raises(SettingsError, match="ldap_bind_password_file: cannot read"):
        ldap_config(settings(ldap_bind_dn="cn=svc", ldap_bind_password_file=str(tmp_path / "x")))
    with pytest.raises(SettingsError, match=r"ldap_ca_file: .* is not a readable file"):
        ldap_config(settings(ldap_ca_file=str(tmp_path / "missing.pem")))


def test_a_mapping_file() -> None:
    mapping = parse_mapping(
        {
            "map": [
                {
                    "directory_group": "CN=Payments Dev, OU=Groups, DC=Bank",
                    "project_group": "payments",
                    "roles": ["member"],
                },
                {
                    "directory_group": "cn=payments leads,ou=groups,dc=bank",
                    "project_group": "payments",
                    "roles": ["member", "software_manager"],
                    "global_roles": ["version_manager"],
                },
            ]
        }
    )
    grants = mapping.grants_for(
        {"cn=payments dev,ou=groups,dc=bank", "cn=payments leads,ou=groups,dc=bank"}
    )
    assert grants.memberships == {
        ("payments", GroupRole.MEMBER),
        ("payments", GroupRole.SOFTWARE_MANAGER),
    }
    assert grants.global_roles == {GlobalRole.VERSION_MANAGER}
    assert grants.because["payments:member"] == (
        "cn=payments dev,ou=groups,dc=bank",
        "cn=payments leads,ou=groups,dc=bank",
    )
    assert mapping.grants_for({"cn=other,dc=bank"}).memberships == frozenset()


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            {"project_group": "p", "roles": ["member"]},
            "directory_group (the group's DN) is missing",
        ),
        ({"directory_group": "not a dn", "global_roles": ["admin"]}, "is not a distinguished name"),
        ({"directory_group": "cn=g", "project_group": "p"}, "project_group 'p' needs roles"),
        ({"directory_group": "cn=g", "roles": ["member"]}, "roles are given but project_group"),
        ({"directory_group": "cn=g"}, "give project_group and roles, or global_roles"),
        ({"directory_group": "cn=g", "global_roles": ["root"]}, "unknown role 'root'"),
        (
            {"directory_group": "cn=g", "project_group": "Bad_Group", "roles": ["member"]},
            "invalid group name 'Bad_Group'",
        ),
        ({"directory_group": "cn=g", "global_roles": "admin"}, "global_roles must be a list"),
        ({"directory_group": "cn=g", "global_roles": ["admin"], "group": "x"}, "unknown key(s)"),
    ],
)
def test_mapping_mistakes_are_named(entry: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingsError) as error:
        parse_mapping({"map": [{"directory_group": "cn=ok", "global_roles": ["admin"]}, entry]})
    assert "the mapping file, map entry 2: " in str(error.value)
    assert message in str(error.value)


def test_mapping_files_that_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="ldap_mapping_file: cannot read"):
        load_mapping(str(tmp_path / "missing.toml"))
    broken = tmp_path / "broken.toml"
    broken.write_text("[[map]\n")
    with pytest.raises(SettingsError, match="is not valid TOML"):
        load_mapping(str(broken))
    other = tmp_path / "other.toml"
    other.write_text("[groups]\nx = 1\n")
    with pytest.raises(SettingsError, match="unknown table"):
        load_mapping(str(other))
    assert load_mapping("").rules == ()
