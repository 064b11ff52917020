"""API routes for sign-in, accounts and tokens."""

from __future__ import annotations

from typing import Any

from repo_server.api.http import bp, depot, field, json_body, principal, signed_in, string_list
from repo_server.errors import InvalidRequest

Json = tuple[dict[str, Any], int] | dict[str, Any]


@bp.post("/auth/login")
def login() -> Json:
    """Exchange a user name and password for a sign-in token."""
    body = json_body()
    username = field(body, "username", str, required=True)
    password = field(body, "password", str, required=True)
    client = field(body, "client", str, "")
    issued = depot().auth.login(username, password, principal().remote_addr, client=client)
    return {"token": issued.token, **issued.info.to_json()}, 201


@bp.post("/auth/logout")
def logout() -> Json:
    """Revoke the token of this request."""
    depot().auth.logout(signed_in())
    return {"revoked": True}


@bp.get("/auth/whoami")
def whoami() -> Json:
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
        "groups": groups,
        "token": {
            "id": caller.token_id,
            "group": actor.token_group,
            "scope": actor.token_scope.value if actor.token_scope else None,
        },
    }


@bp.put("/auth/password")
def change_password() -> Json:
    """Change the caller's own password."""
    body = json_body()
    depot().accounts.change_own_password(
        signed_in(),
        field(body, "current_password", str, required=True),
        field(body, "new_password", str, required=True),
    )
    return {"changed": True}


@bp.get("/users")
def list_users() -> Json:
    """Every account (admin)."""
    return {"users": [u.to_json() for u in depot().accounts.list_users(signed_in())]}


@bp.post("/users")
def create_user() -> Json:
    """Create a local account (admin)."""
    body = json_body()
    user = depot().accounts.create_user(
        signed_in(),
        field(body, "username", str, required=True),
        field(body, "password", str),
        display_name=field(body, "display_name", str, ""),
        email=field(body, "email", str, ""),
        roles=string_list(body, "roles") or [],
    )
    return user.to_json(), 201


@bp.get("/users/<username>")
def get_user(username: str) -> Json:
    """One account: your own, or any for an admin."""
    return depot().accounts.get_user(signed_in(), username).to_json()


@bp.patch("/users/<username>")
def update_user(username: str) -> Json:
    """Change an account (admin): active, display_name, email, roles, password."""
    body = json_body()
    unknown = set(body) - {"active", "display_name", "email", "roles", "password"}
    if unknown:
        raise InvalidRequest(f"unknown field(s): {', '.join(sorted(unknown))}")
    user = depot().accounts.update_user(
        signed_in(),
        username,
        active=field(body, "active", bool),
        display_name=field(body, "display_name", str),
        email=field(body, "email", str),
        roles=string_list(body, "roles"),
        password=field(body, "password", str),
    )
    return user.to_json()


@bp.get("/tokens")
def list_tokens() -> Json:
    """The caller's tokens."""
    return {"tokens": [t.to_json() for t in depot().auth.list_tokens(signed_in())]}


@bp.post("/tokens")
def create_token() -> Json:
    """A group token for a CI pipeline; the secret is in the answer and nowhere else."""
    body = json_body()
    issued = depot().auth.create_group_token(
        signed_in(),
        field(body, "group", str, required=True),
        field(body, "scope", str, required=True),
        field(body, "expires_in_days", int, 30),
        field(body, "name", str, ""),
    )
    return {"token": issued.token, **issued.info.to_json()}, 201


@bp.delete("/tokens/<token_id>")
def revoke_token(token_id: str) -> Json:
    """Revoke a token (yours; an admin may revoke any)."""
    return depot().auth.revoke_token(signed_in(), token_id).to_json()
