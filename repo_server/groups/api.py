"""API routes for project groups and their members.

Shapes: :mod:`repo_server.api.schemas.groups`.
"""

from __future__ import annotations

from repo_server.api.contract import Reply
from repo_server.api.http import bp, depot, principal, signed_in
from repo_server.api.paging import Answer, PageQuery, answer, page_request, paged
from repo_server.api.schemas.groups import (
    Group,
    GroupChange,
    GroupList,
    GroupsQuery,
    Member,
    MemberList,
    NewGroup,
    NewMember,
    Removed,
)
from repo_server.groups.services import GroupInfo, MemberInfo

HIDDEN = {404: "no such group, or not one of yours"}
REFUSED = {403: "refused by a rule (the rule is named)", **HIDDEN}


@bp.operation(
    "GET",
    "/groups",
    query=GroupsQuery,
    replies={200: paged(GroupList)},
    errors={403: "all=true is for admins"},
)
def list_groups(query: GroupsQuery) -> Answer:
    """The caller's groups, by name (``?all=true``: every group, for admins)."""
    page = depot().groups.list_groups(signed_in(), all_groups=query.all, page=page_request(query))
    return answer({"groups": page.items}, page)


@bp.operation(
    "POST",
    "/groups",
    body=NewGroup,
    replies={201: Reply(Group, "created")},
    errors={403: "version managers and admins only", 409: "a group of that name exists"},
)
def create_group(body: NewGroup) -> tuple[GroupInfo, int]:
    """Create a project group and its storage area (version manager, or admin)."""
    group = depot().groups.create(signed_in(), body.name, body.display_name, body.description)
    return group, 201


@bp.operation("GET", "/groups/<group>", auth="optional", replies={200: Reply(Group)}, errors=HIDDEN)
def get_group(group: str) -> GroupInfo:
    """One of the caller's groups."""
    return depot().groups.get(principal(), group)


@bp.operation(
    "PATCH", "/groups/<group>", body=GroupChange, replies={200: Reply(Group)}, errors=REFUSED
)
def update_group(group: str, body: GroupChange) -> GroupInfo:
    """Change a group's display name, description, ``require_personal_checkin`` or
    ``review_new_products`` (false waives a version manager's review of new products)
    (version manager, admin)."""
    return depot().groups.update(
        signed_in(),
        group,
        display_name=body.display_name,
        description=body.description,
        require_personal_checkin=body.require_personal_checkin,
        review_new_products=body.review_new_products,
    )


@bp.operation(
    "GET",
    "/groups/<group>/members",
    auth="optional",
    query=PageQuery,
    replies={200: paged(MemberList)},
    errors=HIDDEN,
)
def list_members(group: str, query: PageQuery) -> Answer:
    """The members of a group and their roles, by user name."""
    page = depot().groups.members(principal(), group, page_request(query))
    return answer({"members": page.items}, page)


@bp.operation(
    "POST",
    "/groups/<group>/members",
    auth="optional",
    body=NewMember,
    replies={201: Reply(Member, "the person's roles in the group now")},
    errors={**REFUSED, 409: "the person already holds that role"},
)
def add_member(group: str, body: NewMember) -> tuple[MemberInfo, int]:
    """Give a person a role in the group: the software manager role (version manager,
    admin), another role (the group's software manager, admin)."""
    return depot().groups.add_member(principal(), group, body.username, body.role), 201


@bp.operation(
    "DELETE",
    "/groups/<group>/members/<username>/<role>",
    auth="optional",
    replies={200: Reply(Removed)},
    errors=REFUSED,
)
def remove_member(group: str, username: str, role: str) -> dict[str, object]:
    """Take one role in the group away from a person."""
    depot().groups.remove_member(principal(), group, username, role)
    return {"removed": True, "username": username, "role": role}
