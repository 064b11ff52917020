"""API routes for project groups and their members."""

from __future__ import annotations

from typing import Any

from flask import request

from repo_server.api.http import bp, depot, field, json_body, principal, signed_in

Json = tuple[dict[str, Any], int] | dict[str, Any]


@bp.get("/groups")
def list_groups() -> Json:
    """The caller's groups (``?all=true``: every group, for admins)."""
    all_groups = request.args.get("all", "").lower() in ("1", "true", "yes")
    groups = depot().groups.list_groups(signed_in(), all_groups=all_groups)
    return {"groups": [g.to_json() for g in groups]}


@bp.post("/groups")
def create_group() -> Json:
    """Create a project group and its storage area (admin)."""
    body = json_body()
    group = depot().groups.create(
        signed_in(),
        field(body, "name", str, required=True),
        field(body, "display_name", str, ""),
        field(body, "description", str, ""),
    )
    return group.to_json(), 201


@bp.get("/groups/<group>")
def get_group(group: str) -> Json:
    """One of the caller's groups."""
    return depot().groups.get(principal(), group).to_json()


@bp.patch("/groups/<group>")
def update_group(group: str) -> Json:
    """Change a group's display name, description or ``require_personal_checkin`` (admin)."""
    body = json_body()
    return (
        depot()
        .groups.update(
            signed_in(),
            group,
            display_name=field(body, "display_name", str),
            description=field(body, "description", str),
            require_personal_checkin=field(body, "require_personal_checkin", bool),
        )
        .to_json()
    )


@bp.get("/groups/<group>/members")
def list_members(group: str) -> Json:
    """The members of a group and their roles."""
    return {"members": [m.to_json() for m in depot().groups.members(principal(), group)]}


@bp.post("/groups/<group>/members")
def add_member(group: str) -> Json:
    """Give a person a role in the group (admin, or the group's software manager)."""
    body = json_body()
    member = depot().groups.add_member(
        principal(),
        group,
        field(body, "username", str, required=True),
        field(body, "role", str, "member"),
    )
    return member.to_json(), 201


@bp.delete("/groups/<group>/members/<username>/<role>")
def remove_member(group: str, username: str, role: str) -> Json:
    """Take one role in the group away from a person."""
    depot().groups.remove_member(principal(), group, username, role)
    return {"removed": True, "username": username, "role": role}
