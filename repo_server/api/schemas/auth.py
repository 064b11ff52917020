"""Sign-in, accounts and tokens on the wire (``/api/v1/auth``, ``/users``, ``/tokens``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from repo_server.api.paging import Paged
from repo_server.api.schemas.common import (
    Body,
    GroupName,
    Label,
    Moment,
    Out,
    TokenName,
    UserName,
)

#: Passwords are checked for strength by the server (length, repetition, the user name).
NewPassword = Annotated[str, Field(min_length=12, max_length=1024)]
GlobalRoleName = Literal["admin", "version_manager", "auditor", "quality_manager"]


class Token(Out):
    """An API token's record (never its secret)."""

    id: str
    kind: Literal["login", "group"]
    name: str
    owner: str
    group: str | None
    scope: Literal["read", "upload"] | None
    created_at: Moment
    expires_at: Moment
    revoked_at: Moment | None
    last_used_at: Moment | None
    #: The client address of the last use.
    last_used_addr: str | None = None


class IssuedToken(Token):
    """A token just made: ``token`` is the secret, shown in this answer and nowhere else."""

    token: str


class TokenList(Paged):
    """A page of tokens, newest first: the caller's own, or every token of one group."""

    tokens: list[Token]


class Login(Body):
    """A user name and password to exchange for a sign-in token."""

    username: Annotated[str, Field(max_length=256)]
    password: Annotated[str, Field(max_length=1024)]
    client: Label = ""


class NewToken(Body):
    """A group token for a CI pipeline."""

    group: GroupName
    scope: Literal["read", "upload"]
    #: At most 366; the server's DEPOT_MAX_TOKEN_DAYS may set a lower cap.
    expires_in_days: Annotated[int, Field(ge=1, le=366)] = 30
    name: TokenName = ""


class TokenLimits(Out):
    """The limits of the credential this request used."""

    id: str | None
    group: str | None
    scope: str | None


class Whoami(Out):
    """Who the caller is, their roles, and the limits of their token."""

    username: str
    roles: list[str]
    #: Roles held as a stand-in right now, and for whom: ``{"version_manager": "victor"}``.
    stands_in_for: dict[str, str] = Field(default_factory=dict)
    groups: dict[str, list[str]]
    token: TokenLimits


class PasswordChange(Body):
    """The caller's current password and the new one."""

    current_password: Annotated[str, Field(max_length=1024)]
    new_password: NewPassword


class User(Out):
    """A person as the API shows them."""

    username: str
    display_name: str
    email: str
    source: str
    active: bool
    roles: list[str]
    created_at: Moment
    last_login_at: Moment | None


class UserList(Paged):
    """A page of the accounts, by name."""

    users: list[User]


class NewUser(Body):
    """A local account; without ``password`` it cannot sign in locally."""

    username: UserName
    password: NewPassword | None = None
    display_name: Label = ""
    email: Annotated[str, Field(max_length=320)] = ""
    roles: list[GlobalRoleName] = Field(default_factory=list)


class UserChange(Body):
    """What to change in an account; absent fields stay as they are."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    active: bool | None = None
    display_name: Label | None = None
    email: Annotated[str, Field(max_length=320)] | None = None
    roles: list[GlobalRoleName] | None = None
    password: NewPassword | None = None


class Revoked(Out):
    """The token of this request is revoked."""

    revoked: bool


class Changed(Out):
    """The password is changed."""

    changed: bool
