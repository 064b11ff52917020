"""The sign-in settings checked together, and gathered for the directory client.

:func:`check_sign_in_settings` runs whenever settings are loaded, so a bad value stops
the server at start with the setting's name; :func:`ldap_config` is called when the
server is wired (:func:`repo_server.core.build_depot`) and reads the password file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from repo_server.settings import Settings, SettingsError

MEMBER_ATTRIBUTES = ("member", "uniqueMember", "memberUid")
_SCHEMES = ("ldap://", "ldaps://", "ldapi://")
_ATTRIBUTE = re.compile(r"^[A-Za-z][A-Za-z0-9-]*$")


@dataclass(frozen=True)
class LdapConfig:
    """Everything the directory client needs, checked (see docs/ldap.md)."""

    urls: tuple[str, ...]
    starttls: bool
    ca_file: str
    bind_dn: str
    bind_password: str
    user_dn_template: str
    user_base: str
    user_filter: str
    username_attribute: str
    disabled_filter: str
    group_base: str
    group_filter: str
    member_attribute: str
    nesting_depth: int
    timeout: int

    @property
    def member_is_name(self) -> bool:
        """True when groups list their members by user name (``memberUid``), not by DN."""
        return self.member_attribute.lower() == "memberuid"


def split_urls(text: str) -> tuple[str, ...]:
    """The server URIs of ``ldap_url`` (separated by spaces or commas), in order."""
    return tuple(part for part in re.split(r"[\s,]+", text.strip()) if part)


def break_glass_names(settings: Settings) -> frozenset[str]:
    """The user names of ``break_glass_accounts``, lower-cased."""
    return frozenset(
        name.strip().lower() for name in settings.break_glass_accounts.split(",") if name.strip()
    )


def _balanced(ldap_filter: str) -> bool:
    if not (ldap_filter.startswith("(") and ldap_filter.endswith(")")):
        return False
    depth = 0
    for char in ldap_filter.replace("\\(", "").replace("\\)", ""):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def check_sign_in_settings(settings: Settings) -> None:
    """Raise :class:`SettingsError` naming the first sign-in setting that cannot work.

    Called by :func:`repo_server.settings.load_settings`; touches no file and no network.
    """
    if not settings.local_sign_in and not settings.ldap_url:
        raise SettingsError(
            "local_sign_in is off but ldap_url is empty: nobody but the break-glass "
            "accounts could sign in; set ldap_url or turn local_sign_in on"
        )
    for name in break_glass_names(settings):
        if not re.fullmatch(r"[a-z0-9][a-z0-9._-]{0,63}", name):
            raise SettingsError(f"break_glass_accounts: {name!r} is not a user name")
    if not settings.ldap_url:
        return
    urls = split_urls(settings.ldap_url)
    for url in urls:
        if not url.lower().startswith(_SCHEMES):
            raise SettingsError(f"ldap_url: {url!r} must start with ldap://, ldaps:// or ldapi://")
    if settings.ldap_starttls and any(url.lower().startswith("ldaps://") for url in urls):
        raise SettingsError(
            "ldap_starttls is on but ldap_url has an ldaps:// server: use one or the other"
        )
    if settings.ldap_user_dn_template:
        if settings.ldap_user_dn_template.count("{username}") != 1 or re.search(
            r"\{(?!username\})", settings.ldap_user_dn_template
        ):
            raise SettingsError(
                "ldap_user_dn_template must hold {username} exactly once, e.g. "
                "uid={username},ou=people,dc=example,dc=org"
            )
    elif not settings.ldap_user_base:
        raise SettingsError(
            "ldap_url is set: set ldap_user_base (where people are searched) or "
            "ldap_user_dn_template (a direct bind)"
        )
    if not settings.ldap_group_base:
        raise SettingsError("ldap_url is set: set ldap_group_base (where groups are searched)")
    for name in ("ldap_user_filter", "ldap_group_filter", "ldap_disabled_filter"):
        value = getattr(settings, name)
        if (value or name != "ldap_disabled_filter") and not _balanced(value):
            raise SettingsError(f"{name}: {value!r} is not an LDAP filter in parentheses")
    if not _ATTRIBUTE.fullmatch(settings.ldap_username_attribute):
        raise SettingsError(
            f"ldap_username_attribute: {settings.ldap_username_attribute!r} is not an attribute"
        )
    if settings.ldap_member_attribute.lower() not in {a.lower() for a in MEMBER_ATTRIBUTES}:
        raise SettingsError(
            f"ldap_member_attribute must be one of {', '.join(MEMBER_ATTRIBUTES)}, "
            f"not {settings.ldap_member_attribute!r}"
        )
    if not 0 <= settings.ldap_nesting_depth <= 20:
        raise SettingsError("ldap_nesting_depth must be between 0 and 20")
    if not 0 <= settings.ldap_recheck_interval <= 24 * 3600:
        raise SettingsError("ldap_recheck_interval must be between 0 and 86400 seconds")
    if not 1 <= settings.ldap_timeout <= 120:
        raise SettingsError("ldap_timeout must be between 1 and 120 seconds")
    if settings.ldap_bind_password and settings.ldap_bind_password_file:
        raise SettingsError("set ldap_bind_password or ldap_bind_password_file, not both")
    if (settings.ldap_bind_password or settings.ldap_bind_password_file) and not (
        settings.ldap_bind_dn
    ):
        raise SettingsError("a bind password is set but ldap_bind_dn is empty")


def ldap_config(settings: Settings) -> LdapConfig:
    """The checked directory settings, with the bind password read from its file.

    Raises :class:`SettingsError` when a file named by the settings cannot be read.
    """
    password = settings.ldap_bind_password
    if settings.ldap_bind_password_file:
        try:
            password = Path(settings.ldap_bind_password_file).read_text().strip("\r\n")
        except OSError as error:
            raise SettingsError(
                f"ldap_bind_password_file: cannot read {settings.ldap_bind_password_file}: "
                f"{error.strerror}"
            ) from None
    if settings.ldap_ca_file and not Path(settings.ldap_ca_file).is_file():
        raise SettingsError(f"ldap_ca_file: {settings.ldap_ca_file} is not a readable file")
    member = next(
        a for a in MEMBER_ATTRIBUTES if a.lower() == settings.ldap_member_attribute.lower()
    )
    return LdapConfig(
        urls=split_urls(settings.ldap_url),
        starttls=settings.ldap_starttls,
        ca_file=settings.ldap_ca_file,
        bind_dn=settings.ldap_bind_dn,
        bind_password=password,
        user_dn_template=settings.ldap_user_dn_template,
        user_base=settings.ldap_user_base,
        user_filter=settings.ldap_user_filter,
        username_attribute=settings.ldap_username_attribute,
        disabled_filter=settings.ldap_disabled_filter,
        group_base=settings.ldap_group_base,
        group_filter=settings.ldap_group_filter,
        member_attribute=member,
        nesting_depth=settings.ldap_nesting_depth,
        timeout=settings.ldap_timeout,
    )
