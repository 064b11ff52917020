"""The directory settings gathered for the directory client.

:func:`ldap_config` is called when the server is wired (:func:`repo_server.core.build_depot`)
and reads the password file; the sign-in settings themselves are checked whenever settings
are loaded (:func:`repo_server.settings.check_sign_in_settings`), so a bad value stops the
server at start with the setting's name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from repo_server.settings import MEMBER_ATTRIBUTES, Settings, SettingsError, split_urls


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
    id_attribute: str = "entryUUID"
    page_size: int = 500

    @property
    def member_is_name(self) -> bool:
        """True when groups list their members by user name (``memberUid``), not by DN."""
        return self.member_attribute.lower() == "memberuid"


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
        id_attribute=settings.ldap_id_attribute,
        page_size=settings.ldap_page_size,
    )
