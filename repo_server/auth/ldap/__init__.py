"""Sign-in through an LDAP directory, whose groups decide project groups and roles.

- :mod:`.config`: the ``ldap_*`` settings checked and gathered (no python-ldap needed);
- :mod:`.mapping`: the mapping file from directory groups to Depot groups and roles;
- :mod:`.directory`: the python-ldap client (fail-over, StartTLS, escaping, nested groups);
- :mod:`.sync`: sign-in, re-checks and full synchronisation of a person's grants.

Only :mod:`.config` may be imported when python-ldap is not installed (the optional
``depot[ldap]`` extra); the server loads the rest when ``ldap_url`` is set.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from repo_server.settings import SettingsError

if TYPE_CHECKING:
    from repo_server.audit.services import AuditLog
    from repo_server.auth.ldap.sync import DirectorySync
    from repo_server.clock import Clock
    from repo_server.db import Database
    from repo_server.settings import Settings


def directory_service(
    db: Database, audit: AuditLog, clock: Clock, settings: Settings
) -> DirectorySync | None:
    """The directory service for ``settings``, or ``None`` when ``ldap_url`` is not set.

    Called once by :func:`repo_server.core.build_depot`. Raises ``SettingsError`` when
    python-ldap is missing, or a file the settings name cannot be used.
    """
    if not settings.ldap_url:
        return None
    try:
        from repo_server.auth.ldap.sync import build_directory_sync
    except ImportError as error:
        raise SettingsError(
            f"ldap_url is set but python-ldap cannot be loaded ({error}): "
            "install it with pip install 'depot[ldap]'"
        ) from None
    return build_directory_sync(db, audit, clock, settings)
