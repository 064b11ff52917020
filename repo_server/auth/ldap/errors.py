"""What the directory client raises; importable without python-ldap (the sign-in code of
:mod:`repo_server.auth.services` catches these whether or not LDAP is configured)."""

from __future__ import annotations


class DirectoryError(Exception):
    """Base of the directory client's errors."""


class DirectoryUnavailable(DirectoryError):
    """No server could be used: down, unreachable, TLS failed, or it refused the service
    account or a search (then the settings need fixing). The message says which and why."""


class SignInRefused(DirectoryError):
    """These credentials do not sign in. ``reason`` is for the audit trail only: the
    person always gets the same answer, whatever it is."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
