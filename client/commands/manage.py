"""Managing groups, members, products, versions and (for admins) users."""

from __future__ import annotations

import click
from rich.markup import escape
from rich.table import Table

from client.api import seg
from client.commands.auth import read_secret
from client.context import Context, pass_context
from client.paging import collect, page_options, page_options_all_pages
from client.refs import parse_ref

GROUP_ROLES = click.Choice(["member", "software_manager", "acceptance_officer"])
GLOBAL_ROLES = click.Choice(["admin", "version_manager", "quality_manager", "auditor"])


@click.group()
def group() -> None:
    """Project groups and their members."""


@group.command("list")
@click.option("--all", "all_groups", is_flag=True, help="Every group on the server (admins).")
@page_options_all_pages
@pass_context
def group_list(ctx: Context, all_groups: bool, limit: int | None, all_pages: bool) -> None:
    """List your groups (or all of them); --limit N or --all-pages for more than a page."""
    api = ctx.api()
    groups = collect(
        lambda **q: api.get("/api/v1/groups", **q),
        "groups",
        limit=limit,
        all_pages=all_pages,
        output=ctx.output,
        all="true" if all_groups else None,
    )
    table = Table("group", "name", "your roles", "members", "storage area")
    for g in groups:
        table.add_row(
            g["name"],
            escape(g["display_name"]),
            ", ".join(g["my_roles"]),
            str(g["member_count"]),
            f"areas/{g['storage_area']}/",
        )
    ctx.output.emit(groups, table)


@group.command("create")
@click.argument("name")
@click.option("--display-name", default="")
@click.option("--description", default="")
@pass_context
def group_create(ctx: Context, name: str, display_name: str, description: str) -> None:
    """Create a project group and its storage area (admins)."""
    g = ctx.api().json(
        "POST",
        "/api/v1/groups",
        {"name": name, "display_name": display_name, "description": description},
    )
    ctx.output.emit(g, text=f"created group {g['name']} (storage area areas/{g['storage_area']}/)")


@group.command("update")
@click.argument("name")
@click.option("--display-name")
@click.option("--description")
@click.option(
    "--require-personal-signatures/--allow-server-attestation",
    "personal",
    default=None,
    help="Whether check-in approvals must carry the approver's own signature.",
)
@click.option(
    "--review-new-products/--waive-product-review",
    "review",
    default=None,
    help="Whether a version manager approves each new product of the group (the default).",
)
@pass_context
def group_update(
    ctx: Context,
    name: str,
    display_name: str | None,
    description: str | None,
    personal: bool | None,
    review: bool | None,
) -> None:
    """Change a group's display name, description, signature rule or review of new
    products (version managers, admins)."""
    body = {
        key: value
        for key, value in (
            ("display_name", display_name),
            ("description", description),
            ("require_personal_checkin", personal),
            ("review_new_products", review),
        )
        if value is not None
    }
    g = ctx.api().json("PATCH", f"/api/v1/groups/{seg(name)}", body)
    rule = "personal signatures" if g["require_personal_checkin"] else "server attestation"
    products = "reviewed" if g["review_new_products"] else "registered without review"
    ctx.output.emit(
        g, text=f"updated group {g['name']} (check-in approvals: {rule}; new products: {products})"
    )


@group.command("members")
@click.argument("name")
@page_options
@pass_context
def group_members(ctx: Context, name: str, limit: int | None, all_pages: bool) -> None:
    """List the members of a group and their roles, by user name."""
    api = ctx.api()
    path = f"/api/v1/groups/{seg(name)}/members"
    members = collect(
        lambda **q: api.get(path, **q),
        "members",
        limit=limit,
        all_pages=all_pages,
        output=ctx.output,
    )
    table = Table("user", "name", "roles")
    for m in members:
        table.add_row(m["username"], escape(m["display_name"]), ", ".join(m["roles"]))
    ctx.output.emit(members, table)


@group.command("add-member")
@click.argument("name")
@click.argument("username")
@click.option("--role", type=GROUP_ROLES, default="member", show_default=True)
@pass_context
def group_add_member(ctx: Context, name: str, username: str, role: str) -> None:
    """Give a person a role in a group (admins and the group's software manager)."""
    m = ctx.api().json(
        "POST", f"/api/v1/groups/{seg(name)}/members", {"username": username, "role": role}
    )
    ctx.output.emit(m, text=f"{m['username']} in {name}: {', '.join(m['roles'])}")


@group.command("remove-member")
@click.argument("name")
@click.argument("username")
@click.option("--role", type=GROUP_ROLES, default="member", show_default=True)
@pass_context
def group_remove_member(ctx: Context, name: str, username: str, role: str) -> None:
    """Take a role in a group away from a person."""
    result = ctx.api().json(
        "DELETE", f"/api/v1/groups/{seg(name)}/members/{seg(username)}/{seg(role)}"
    )
    ctx.output.emit(result, text=f"{username} is no longer {role} of {name}")


@click.group()
def product() -> None:
    """Software products."""


@product.command("create")
@click.argument("ref")
@click.option(
    "--category", required=True, type=click.Choice(["application", "system", "device_network"])
)
@click.option("--origin", required=True, type=click.Choice(["in_house", "purchased"]))
@click.option("--vendor", help="The supplier (required for purchased products).")
@click.option("--description", default="")
@pass_context
def product_create(
    ctx: Context, ref: str, category: str, origin: str, vendor: str | None, description: str
) -> None:
    """Register a product and its first version: GROUP/PRODUCT[@VERSION].

    The registration is a request a version manager approves (`depot approve N`); the
    version is created, as a draft, when she does. A group may waive the review.
    """
    target = parse_ref(ref, need="product")
    body = {
        "name": target.product,
        "category": category,
        "origin": origin,
        "vendor": vendor,
        "description": description,
    }
    if target.version:
        body["version"] = target.version
    p = ctx.api().json("POST", f"/api/v1/groups/{seg(target.group)}/products", body)
    what = f"{p['ref']}@{target.version}" if target.version else p["ref"]
    if p["registration"] == "pending":
        text = (
            f"filed registration request #{p['registration_request']} for {what} "
            f"({p['category']}, {p['origin']}): it waits for a version manager's approval"
        )
    else:
        text = f"registered {what} ({p['category']}, {p['origin']})"
    ctx.output.emit(p, text=text)


@click.group()
def version() -> None:
    """Versions of products."""


@version.command("create")
@click.argument("ref")
@click.option("--description", default="")
@pass_context
def version_create(ctx: Context, ref: str, description: str) -> None:
    """Create a draft version: GROUP/PRODUCT@VERSION."""
    target = parse_ref(ref, need="version")
    assert target.product is not None
    v = ctx.api().json(
        "POST",
        f"/api/v1/groups/{seg(target.group)}/products/{seg(target.product)}/versions",
        {"version": target.version, "description": description},
    )
    ctx.output.emit(v, text=f"created {v['ref']} ({v['state']})")


@click.group()
def user() -> None:
    """Accounts (admins)."""


@user.command("list")
@page_options
@pass_context
def user_list(ctx: Context, limit: int | None, all_pages: bool) -> None:
    """List accounts, by name."""
    api = ctx.api()
    users = collect(
        lambda **q: api.get("/api/v1/users", **q),
        "users",
        limit=limit,
        all_pages=all_pages,
        output=ctx.output,
    )
    table = Table("user", "name", "roles", "source", "active")
    for u in users:
        table.add_row(
            u["username"],
            escape(u["display_name"]),
            ", ".join(u["roles"]),
            u["source"],
            "yes" if u["active"] else "no",
        )
    ctx.output.emit(users, table)


@user.command("create")
@click.argument("username")
@click.option("--display-name", default="")
@click.option("--email", default="")
@click.option("--role", "roles", multiple=True, type=GLOBAL_ROLES, help="Global role (repeatable).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@pass_context
def user_create(
    ctx: Context,
    username: str,
    display_name: str,
    email: str,
    roles: tuple[str, ...],
    password_stdin: bool,
) -> None:
    """Create a local account."""
    password = read_secret("Password for the new account", password_stdin, confirm=True)
    u = ctx.api().json(
        "POST",
        "/api/v1/users",
        {
            "username": username,
            "password": password,
            "display_name": display_name,
            "email": email,
            "roles": list(roles),
        },
    )
    ctx.output.emit(u, text=f"created user {u['username']}")


def _set_active(ctx: Context, username: str, active: bool) -> None:
    u = ctx.api().json("PATCH", f"/api/v1/users/{seg(username)}", {"active": active})
    ctx.output.emit(u, text=f"{username} {'enabled' if active else 'disabled'}")


@user.command("disable")
@click.argument("username")
@pass_context
def user_disable(ctx: Context, username: str) -> None:
    """Disable an account (its tokens stop working)."""
    _set_active(ctx, username, False)


@user.command("enable")
@click.argument("username")
@pass_context
def user_enable(ctx: Context, username: str) -> None:
    """Enable a disabled account."""
    _set_active(ctx, username, True)


@user.command("roles")
@click.argument("username")
@click.argument("roles", nargs=-1, type=GLOBAL_ROLES)
@pass_context
def user_roles(ctx: Context, username: str, roles: tuple[str, ...]) -> None:
    """Set an account's global roles (none given: take all away)."""
    u = ctx.api().json("PATCH", f"/api/v1/users/{seg(username)}", {"roles": list(roles)})
    ctx.output.emit(u, text=f"{username}: {', '.join(u['roles']) or 'no global roles'}")
