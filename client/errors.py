"""Exit codes of ``depot`` and the client's exception tree that carries them.

Every failure a command reports is a :class:`ClientError`: :class:`InputError` for a value
the user must change (exit 2), :class:`AnswerError` for an answer of the server the client
cannot read, :class:`TrustFailure` for a verification that failed (exit 6), and plain
``ClientError`` for the server's refusals (mapped from the status by :func:`exit_for`).
``client/main.py`` turns each into a message and its exit code. The client never catches a
bare ``ValueError``: it catches the precise error of the call it makes.
"""

from __future__ import annotations

from enum import IntEnum


class Exit(IntEnum):
    """What ``depot`` exits with; documented in ``depot --help`` and docs/cli.md."""

    OK = 0
    FAILURE = 1  # anything not listed below
    USAGE = 2  # wrong command line
    AUTH = 3  # not signed in, bad credentials, expired or revoked token
    NOT_FOUND = 4  # no such group, product, version or file (or not visible to you)
    CONFLICT = 5  # name taken, different bytes already stored, local file in the way
    INTEGRITY = 6  # size or sha256 not as declared; a signed document or the log does not verify
    FORBIDDEN = 7  # a rule refuses the action (the rule is named)
    INVALID = 8  # a value the server rejects (names, versions, limits)
    UNAVAILABLE = 9  # server unreachable or temporarily unable


EXIT_HELP = """\b
Exit codes:
  0 ok           3 authentication   6 integrity (checksum, signature)   9 server unavailable
  1 failure      4 not found        7 refused by a rule
  2 usage        5 conflict         8 invalid input"""


class ClientError(Exception):
    """A failure to report to the user: a message, an exit code, an error code."""

    def __init__(
        self, message: str, exit_code: Exit = Exit.FAILURE, code: str = "error", hint: str = ""
    ) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        self.code = code
        self.hint = hint


class InputError(ClientError):
    """A value on the command line (or in a file it names) that cannot be used: exit 2."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message, Exit.USAGE, hint=hint)


class AnswerError(ClientError):
    """The server answered with something the API does not promise (not JSON): exit 1."""

    def __init__(self, message: str) -> None:
        super().__init__(message, Exit.FAILURE)


class TrustFailure(ClientError):
    """A verification failed (keyring, status, manifest, approvals, log): exit 6.

    ``code`` is ``trust.<check>``, the check of the rules' ``TrustError`` that failed.
    """

    def __init__(self, message: str, check: str) -> None:
        super().__init__(message, Exit.INTEGRITY, f"trust.{check}")


_BY_STATUS = {
    400: Exit.INVALID,
    401: Exit.AUTH,
    403: Exit.FORBIDDEN,
    404: Exit.NOT_FOUND,
    409: Exit.CONFLICT,
    411: Exit.INVALID,
    413: Exit.INVALID,
    416: Exit.INVALID,
    422: Exit.INVALID,
    # Too many failed sign-ins: locked out for a while (the message says how long).
    429: Exit.AUTH,
    503: Exit.UNAVAILABLE,
}


def exit_for(status: int, code: str) -> Exit:
    """The exit code for an HTTP error ``status`` with the server's error ``code``."""
    if code == "integrity_mismatch":
        return Exit.INTEGRITY
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    return Exit.UNAVAILABLE if status >= 500 else Exit.FAILURE
