"""Who is calling: the authenticated person and the limits of the credential they used."""

from __future__ import annotations

from dataclasses import dataclass

from policies.access import Actor

ANONYMOUS_ACTOR = Actor(username="-")


@dataclass(frozen=True)
class Principal:
    """The caller of one request, built by authentication and passed to services."""

    user_id: int | None
    username: str
    actor: Actor
    remote_addr: str = ""
    #: Public id of the API token used, if the call came with one.
    token_id: str | None = None

    @property
    def authenticated(self) -> bool:
        """False for an anonymous caller."""
        return self.username != "-"


def anonymous(remote_addr: str = "") -> Principal:
    """The principal of a call without credentials."""
    return Principal(None, "-", ANONYMOUS_ACTOR, remote_addr)


def system() -> Principal:
    """The principal of the server's own administrative commands (``depot-server``)."""
    from policies.access import GlobalRole

    return Principal(
        None, "system", Actor(username="system", global_roles=frozenset({GlobalRole.ADMIN}))
    )
