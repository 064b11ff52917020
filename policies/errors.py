"""The exception tree of :mod:`policies`: every rule violation is a ``PolicyError``."""


class PolicyError(ValueError):
    """A value breaks one of the rules; ``field`` names what, ``str()`` says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class InvalidName(PolicyError):
    """A group, product, user or file name that the rules do not allow."""


class InvalidVersion(PolicyError):
    """A version number that the rules for the product's origin do not allow."""
