"""API routes for sign-in, accounts and tokens (shapes: :mod:`repo_server.api.schemas.auth`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from repo_server.api.contract import Reply
from repo_server.api.http import bp, depot, principal, signed_in
from repo_server.api.paging import Answer, PageQuery, answer, page_request, paged
from repo_server.api.schemas.auth import (
    Changed,
    IssuedToken,
    Login,
    NewToken,
    NewUser,
    PasswordChange,
    Revoked,
    Token,
    TokenList,
    User,
    UserChange,
    UserList,
    Whoami,
)
from repo_server.api.schemas.notify import Appointment, StandIn, StandInList
from repo_server.api.schemas.oidc import NewOidcTrust, OidcExchange, OidcTrust, OidcTrustList
from repo_server.auth.facts import IssuedToken as Issued
from repo_server.auth.facts import TokenInfo, UserInfo
from repo_server.auth.oidc import TrustInfo
from repo_server.auth.principal import Principal
from repo_server.auth.stand_ins import StandInInfo
from repo_server.errors import NotFound
from repo_server.ids import MAX_INTEGER
from repo_server.paging import Page, PageRequest

ADMINS = {403: "admins only"}
#: A group's tokens and OIDC trusts: for its software managers and admins.
MANAGERS = {403: "software managers of the group and admins only", 404: "no such group"}


def _issued(issued: Issued) -> dict[str, Any]:
    return {**vars(issued.info), "token": issued.token}


@bp.operation(
    "POST",
    "/auth/login",
    auth="public",
    body=Login,
    replies={201: Reply(IssuedToken, "signed in")},
    errors={
        401: "invalid user name or password",
        429: "too many failed sign-ins of the account or from the address; Retry-After "
        "says in how many seconds to try again",
    },
)
def login(body: Login) -> tuple[dict[str, Any], int]:
    """Exchange a user name and password for a sign-in token."""
    remote = principal().remote_addr
    issued = depot().auth.login(body.username, body.password, remote, client=body.client)
    return _issued(issued), 201


@bp.operation("POST", "/auth/logout", replies={200: Reply(Revoked)})
def logout() -> dict[str, bool]:
    """Revoke the token of this request."""
    depot().auth.logout(signed_in())
    return {"revoked": True}


@bp.operation("GET", "/auth/whoami", replies={200: Reply(Whoami)})
def whoami() -> dict[str, Any]:
    """Who the caller is, their roles, and the limits of their token."""
    caller = signed_in()
    actor = caller.actor
    groups = {
        name: sorted(actor.roles_in(name))
        for name in sorted(actor.group_roles)
        if actor.roles_in(name)
    }
    return {
        "username": caller.username,
        "roles": sorted(actor.global_roles),
        "stands_in_for": {str(role): name for role, name in actor.standing_in.items()},
        "groups": groups,
        "token": {
            "id": caller.token_id,
            "group": actor.token_group,
            "scope": actor.token_scope.value if actor.token_scope else None,
        },
    }


@bp.operation(
    "PUT",
    "/auth/password",
    body=PasswordChange,
    replies={200: Reply(Changed)},
    errors={
        403: "a group token has no password",
        401: "the current password is wrong",
        429: "too many failed sign-ins; Retry-After says when to try again",
    },
)
def change_password(body: PasswordChange) -> dict[str, bool]:
    """Change the caller's own password."""
    depot().accounts.change_own_password(signed_in(), body.current_password, body.new_password)
    return {"changed": True}


@bp.operation("GET", "/users", query=PageQuery, replies={200: paged(UserList)}, errors=ADMINS)
def list_users(query: PageQuery) -> Answer:
    """Every account, by name (admin)."""
    page = depot().accounts.list_users(signed_in(), page_request(query))
    return answer({"users": page.items}, page)


@bp.operation(
    "POST",
    "/users",
    body=NewUser,
    replies={201: Reply(User, "created")},
    errors={**ADMINS, 409: "an account of that name exists"},
)
def create_user(body: NewUser) -> tuple[UserInfo, int]:
    """Create a local account (admin)."""
    user = depot().accounts.create_user(
        signed_in(),
        body.username,
        body.password,
        display_name=body.display_name,
        email=body.email,
        roles=body.roles,
    )
    return user, 201


@bp.operation(
    "GET", "/users/<username>", replies={200: Reply(User)}, errors={404: "no such account"}
)
def get_user(username: str) -> UserInfo:
    """One account: your own, or any for an admin."""
    return depot().accounts.get_user(signed_in(), username)


@bp.operation(
    "PATCH",
    "/users/<username>",
    body=UserChange,
    replies={200: Reply(User)},
    errors={**ADMINS, 404: "no such account"},
)
def update_user(username: str, body: UserChange) -> UserInfo:
    """Change an account (admin): active, display_name, email, roles, password."""
    return depot().accounts.update_user(
        signed_in(),
        username,
        active=body.active,
        display_name=body.display_name,
        email=body.email,
        roles=body.roles,
        password=body.password,
    )


@bp.operation("GET", "/tokens", query=PageQuery, replies={200: paged(TokenList)})
def list_tokens(query: PageQuery) -> Answer:
    """The caller's own tokens, newest first (sign-in tokens, and group tokens they made)."""
    page = depot().tokens.list_tokens(signed_in(), page_request(query))
    return answer({"tokens": page.items}, page)


@bp.operation(
    "POST",
    "/tokens",
    body=NewToken,
    replies={201: Reply(IssuedToken, "the secret is in this answer and nowhere else")},
    errors={403: "refused by a rule (the rule is named)", 404: "no such group, or not yours"},
)
def create_token(body: NewToken) -> tuple[dict[str, Any], int]:
    """A group token for a CI pipeline (a software manager of the group); the secret is in
    the answer and nowhere else."""
    issued = depot().tokens.create_group_token(
        signed_in(), body.group, body.scope, body.expires_in_days, body.name
    )
    return _issued(issued), 201


@bp.operation(
    "DELETE",
    "/tokens/<token_id>",
    replies={200: Reply(Token, "revoked")},
    errors={404: "no such token, or not one you may revoke"},
)
def revoke_token(token_id: str) -> TokenInfo:
    """Revoke a token: yours, one of a group you are a software manager of; an admin any."""
    return depot().tokens.revoke_token(signed_in(), token_id)


def _managed_listing(
    name: str,
    rule: str,
    model: type[BaseModel],
    key: str,
    read: Callable[[Principal, str, PageRequest], Page[Any]],
    summary: str,
) -> None:
    """Declare ``GET rule``: a page of a group's resources (its tokens, its OIDC trusts)
    that only the group's software managers and admins may read,
    ``read(caller, group, page)``."""

    def handler(group: str, query: PageQuery) -> Answer:
        page = read(signed_in(), group, page_request(query))
        return answer({key: page.items}, page)

    handler.__name__, handler.__doc__ = name, summary
    bp.operation("GET", rule, query=PageQuery, replies={200: paged(model)}, errors=MANAGERS)(
        handler
    )


_managed_listing(
    "list_group_tokens",
    "/groups/<group>/tokens",
    TokenList,
    "tokens",
    lambda caller, group, page: depot().tokens.list_group_tokens(caller, group, page),
    "Every token of a group, newest first, whoever made it, with its last use and address.",
)


@bp.operation(
    "DELETE",
    "/groups/<group>/tokens/<token_id>",
    replies={200: Reply(Token, "revoked")},
    errors={**MANAGERS, 404: "no such group, or no such token in it"},
)
def revoke_group_token(group: str, token_id: str) -> TokenInfo:
    """Revoke one token of a group."""
    return depot().tokens.revoke_group_token(signed_in(), group, token_id)


@bp.operation(
    "POST",
    "/oidc/exchange",
    auth="public",
    body=OidcExchange,
    replies={201: Reply(IssuedToken, "an upload token of minutes; the secret is only here")},
    errors={401: "the OIDC token was refused (the reason is named)"},
)
def oidc_exchange(body: OidcExchange) -> tuple[dict[str, Any], int]:
    """Exchange a CI pipeline's OIDC ID token for a short-lived upload token of the group
    that trusts its issuer, audience and claims."""
    issued = depot().oidc.exchange(body.token, principal().remote_addr)
    return _issued(issued), 201


def _trust_id(raw: str) -> int:
    if not raw.isdigit() or len(raw) > 9:
        raise NotFound(f"OIDC trust {raw[:20]!r} not found")
    return int(raw)


_managed_listing(
    "list_oidc_trusts",
    "/groups/<group>/oidc-trusts",
    OidcTrustList,
    "trusts",
    lambda caller, group, page: depot().oidc.list_trusts(caller, group, page),
    "The OIDC issuers, audiences and claim rules a group trusts, oldest first.",
)


@bp.operation(
    "POST",
    "/groups/<group>/oidc-trusts",
    body=NewOidcTrust,
    replies={201: Reply(OidcTrust, "trusted")},
    errors={403: "software managers of the group only", 404: "no such group"},
)
def add_oidc_trust(group: str, body: NewOidcTrust) -> tuple[TrustInfo, int]:
    """Trust CI pipelines of an OIDC issuer (the group's software manager)."""
    trust = depot().oidc.add_trust(signed_in(), group, body.issuer, body.audience, body.claims)
    return trust, 201


@bp.operation(
    "DELETE",
    "/groups/<group>/oidc-trusts/<trust_id>",
    replies={200: Reply(OidcTrust, "no longer trusted")},
    errors={**MANAGERS, 404: "no such group, or no such trust in it"},
)
def remove_oidc_trust(group: str, trust_id: str) -> TrustInfo:
    """Stop trusting an OIDC issuer's pipelines (tokens already exchanged run out)."""
    return depot().oidc.remove_trust(signed_in(), group, _trust_id(trust_id))


# -- stand-ins (repo_server/auth/stand_ins.py, policies/stand_ins.py) --------------------

STAND_IN_REFUSED = {
    400: "a time without its offset",
    404: "no active person of that name",
    403: "refused by a rule (who may name a stand-in, the role, the period)",
}


@bp.operation("GET", "/stand-ins", query=PageQuery, replies={200: paged(StandInList)}, errors={})
def list_stand_ins(query: PageQuery) -> Answer:
    """Stand-in appointments, newest first: all of them for a version manager, an admin or
    an auditor; else those naming the caller."""
    page = depot().stand_ins.listing(signed_in(), page_request(query))
    return answer({"stand_ins": page.items}, page)


@bp.operation(
    "POST",
    "/stand-ins",
    body=Appointment,
    replies={201: Reply(StandIn, "named")},
    errors=STAND_IN_REFUSED,
)
def appoint_stand_in(body: Appointment) -> tuple[StandInInfo, int]:
    """Name a stand-in who decides in a version manager's place for a period."""
    caller = signed_in()
    info = depot().stand_ins.appoint(
        caller,
        stands_for=body.stands_for or caller.username,
        stand_in=body.stand_in,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        reason=body.reason,
        role=body.role,
    )
    return info, 201


@bp.operation(
    "POST",
    "/stand-ins/<int:appointment_id>/revoke",
    replies={200: Reply(StandIn, "revoked")},
    errors={**STAND_IN_REFUSED, 404: "no such appointment, or not one you may see"},
)
def revoke_stand_in(appointment_id: int) -> StandInInfo:
    """End a stand-in appointment now."""
    if not 0 < appointment_id <= MAX_INTEGER:
        raise NotFound(f"stand-in appointment #{appointment_id} not found")
    return depot().stand_ins.revoke(signed_in(), appointment_id)
