"""The one exception of :mod:`policies.trust`: a signed document or proof that does not verify."""

from __future__ import annotations


class TrustError(ValueError):
    """Something a verifier was shown does not hold up.

    ``check`` is a short stable code naming the kind of failure (``"signature"``,
    ``"threshold"``, ``"payload_type"``, ``"rollback"``, ``"expired"``, ``"keyring_version"``,
    ``"inclusion"``, ``"consistency"``, ``"subject"``, ``"four_eyes"``, ``"canonical"``,
    ``"size"``, ``"hash"``, ``"name"``, …): the server and the CLI map it to an error code.
    ``str()`` is a sentence for a person that says exactly what failed.
    """

    def __init__(self, check: str, message: str) -> None:
        super().__init__(message)
        self.check = check
        self.message = message

    def __reduce__(self) -> tuple[type[TrustError], tuple[str, str]]:
        return (type(self), (self.check, self.message))
