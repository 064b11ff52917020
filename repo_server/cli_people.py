"""``depot-server user`` and ``depot-server group``: accounts, groups and members."""

from __future__ import annotations

import click
from rich.table import Table

from policies.access import GlobalRole
from repo_server.api.contract import dump
from repo_server.api.schemas.auth import User
from repo_server.api.schemas.groups import Group, Member
from repo_server.cli_support import Ctx, emit, handled, pass_ctx, read_password


@click.group()
def user() -> None:
    """Local accounts."""


@user.command("create")
@click.argument("username")
@click.option("--display-name", default="", help="Full name shown in the pages.")
@click.option("--email", default="")
@click.option(
    "--role",
    "roles",
    multiple=True,
    type=click.Choice([r.value for r in GlobalRole]),
    help="Global role (repeatable).",
)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--no-password", is_flag=True, help="No local password (directory sign-in only).")
@pass_ctx
@handled
def user_create(
    ctx: Ctx,
    username: str,
    display_name: str,
    email: str,
    roles: tuple[str, ...],
    password_stdin: bool,
    no_password: bool,
) -> None:
    """Create a local account."""
    password = None if no_password else read_password(password_stdin)
    info = ctx.depot.accounts.create_user(
        ctx.principal, username, password, display_name=display_name, email=email, roles=roles
    )
    emit(
        ctx,
        dump(User, info),
        text=f"created user {info.username}"
        + (f" ({', '.join(info.roles)})" if info.roles else ""),
    )


@user.command("list")
@pass_ctx
@handled
def user_list(ctx: Ctx) -> None:
    """List accounts."""
    users = ctx.depot.accounts.list_users(ctx.principal).items
    table = Table("user", "name", "roles", "active", "last sign-in")
    for u in users:
        table.add_row(
            u.username,
            u.display_name,
            ", ".join(u.roles),
            "yes" if u.active else "no",
            str(u.last_login_at or "-"),
        )
    emit(ctx, [dump(User, u) for u in users], table)


@user.command("set-password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@pass_ctx
@handled
def user_set_password(ctx: Ctx, username: str, password_stdin: bool) -> None:
    """Set a new password for an account."""
    info = ctx.depot.accounts.update_user(
        ctx.principal, username, password=read_password(password_stdin)
    )
    emit(ctx, dump(User, info), text=f"password of {username} changed")


@user.command("disable")
@click.argument("username")
@pass_ctx
@handled
def user_disable(ctx: Ctx, username: str) -> None:
    """Disable an account: it can no longer sign in, and its tokens stop working."""
    info = ctx.depot.accounts.update_user(ctx.principal, username, active=False)
    emit(ctx, dump(User, info), text=f"{username} disabled")


@user.command("enable")
@click.argument("username")
@pass_ctx
@handled
def user_enable(ctx: Ctx, username: str) -> None:
    """Enable a disabled account."""
    info = ctx.depot.accounts.update_user(ctx.principal, username, active=True)
    emit(ctx, dump(User, info), text=f"{username} enabled")


@user.command("roles")
@click.argument("username")
@click.argument("roles", nargs=-1, type=click.Choice([r.value for r in GlobalRole]))
@pass_ctx
@handled
def user_roles(ctx: Ctx, username: str, roles: tuple[str, ...]) -> None:
    """Set the global roles of an account (none given: take all away)."""
    info = ctx.depot.accounts.update_user(ctx.principal, username, roles=list(roles))
    emit(ctx, dump(User, info), text=f"{username}: {', '.join(info.roles) or 'no global roles'}")


@click.group()
def group() -> None:
    """Project groups and their storage areas."""


@group.command("create")
@click.argument("name")
@click.option("--display-name", default="")
@click.option("--description", default="")
@pass_ctx
@handled
def group_create(ctx: Ctx, name: str, display_name: str, description: str) -> None:
    """Create a project group and allocate its storage area."""
    info = ctx.depot.groups.create(ctx.principal, name, display_name, description)
    emit(
        ctx,
        dump(Group, info),
        text=f"created group {info.name} (storage area areas/{info.storage_area}/)",
    )


@group.command("update")
@click.argument("name")
@click.option("--display-name")
@click.option("--description")
@click.option(
    "--require-personal-signatures/--allow-server-attestation",
    "personal",
    default=None,
    help="Whether check-in approvals must be signed with the approver's own key "
    "(`depot keys generate`) rather than attested by the server.",
)
@pass_ctx
@handled
def group_update(
    ctx: Ctx,
    name: str,
    display_name: str | None,
    description: str | None,
    personal: bool | None,
) -> None:
    """Change a group's name shown, description, or signature rule."""
    info = ctx.depot.groups.update(
        ctx.principal,
        name,
        display_name=display_name,
        description=description,
        require_personal_checkin=personal,
    )
    rule = "personal signatures" if info.require_personal_checkin else "server attestation"
    emit(ctx, dump(Group, info), text=f"updated group {info.name} (check-in approvals: {rule})")


@group.command("list")
@pass_ctx
@handled
def group_list(ctx: Ctx) -> None:
    """List every group."""
    groups = ctx.depot.groups.list_groups(ctx.principal, all_groups=True).items
    table = Table("group", "name", "members", "created")
    for g in groups:
        table.add_row(g.name, g.display_name, str(g.member_count), str(g.created_at.date()))
    emit(ctx, [dump(Group, g) for g in groups], table)


@group.command("members")
@click.argument("name")
@pass_ctx
@handled
def group_members(ctx: Ctx, name: str) -> None:
    """List the members of a group."""
    members = ctx.depot.groups.members(ctx.principal, name).items
    table = Table("user", "name", "roles")
    for m in members:
        table.add_row(m.username, m.display_name, ", ".join(m.roles))
    emit(ctx, [dump(Member, m) for m in members], table)


ROLE_CHOICE = click.Choice(["member", "software_manager", "acceptance_officer"])


@group.command("add-member")
@click.argument("name")
@click.argument("username")
@click.option("--role", type=ROLE_CHOICE, default="member", show_default=True)
@pass_ctx
@handled
def group_add_member(ctx: Ctx, name: str, username: str, role: str) -> None:
    """Give a person a role in a group."""
    info = ctx.depot.groups.add_member(ctx.principal, name, username, role)
    emit(ctx, dump(Member, info), text=f"{username} in {name}: {', '.join(info.roles)}")


@group.command("remove-member")
@click.argument("name")
@click.argument("username")
@click.option("--role", type=ROLE_CHOICE, default="member", show_default=True)
@pass_ctx
@handled
def group_remove_member(ctx: Ctx, name: str, username: str, role: str) -> None:
    """Take a role in a group away from a person."""
    ctx.depot.groups.remove_member(ctx.principal, name, username, role)
    emit(ctx, {"removed": True}, text=f"{username} is no longer {role} of {name}")
