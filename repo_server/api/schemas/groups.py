"""Project groups and their members on the wire (``/api/v1/groups...``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from repo_server.api.paging import Paged, PageQuery
from repo_server.api.schemas.common import (
    Body,
    GroupName,
    Label,
    Moment,
    Out,
    Text,
    UserName,
)

GroupRoleName = Literal["member", "software_manager", "acceptance_officer"]


class Group(Out):
    """A project group; ``my_roles`` are the caller's roles in it."""

    name: str
    display_name: str
    description: str
    storage_area: str
    created_at: Moment
    created_by: str
    my_roles: list[str]
    member_count: int
    require_personal_checkin: bool
    review_new_products: bool


class GroupList(Paged):
    """A page of the caller's groups, by name (every group with ``all=true``, for admins)."""

    groups: list[Group]


class GroupsQuery(PageQuery):
    """``all=true``: every group (admins only)."""

    all: bool = False


class NewGroup(Body):
    """A group to create (its storage area is made with it)."""

    name: GroupName
    display_name: Label = ""
    description: Text = ""


class GroupChange(Body):
    """What to change in a group; absent fields stay as they are."""

    display_name: Label | None = None
    description: Text | None = None
    require_personal_checkin: bool | None = None
    review_new_products: bool | None = None


class Member(Out):
    """One person in a group with all their roles there."""

    username: str
    display_name: str
    roles: list[str]


class MemberList(Paged):
    """A page of the members of a group, by user name, each with their roles."""

    members: list[Member]


class NewMember(Body):
    """A role to give a person in the group."""

    username: UserName
    role: GroupRoleName = "member"


class Removed(Out):
    """A role taken away."""

    removed: bool = Field(description="always true")
    username: str
    role: str
