"""``depot token``: group tokens for CI pipelines."""

from __future__ import annotations

import re

import click
from rich.table import Table

from client.api import seg
from client.context import Context, pass_context
from client.errors import InputError


def parse_days(text: str) -> int:
    """Days in ``30d``, ``12w``, ``1y`` or a plain number of days."""
    units = {"d": 1, "w": 7, "y": 365}
    found = re.fullmatch(r"([0-9]+)([dwy]?)", text.strip())
    if found is None:
        raise InputError(f"cannot read expiry {text!r}: use e.g. 30d, 12w or 1y")
    return int(found.group(1)) * units.get(found.group(2), 1)


@click.group()
def token() -> None:
    """API tokens for CI pipelines."""


@token.command("create")
@click.option("--group", required=True, help="The group the token may reach.")
@click.option(
    "--scope",
    required=True,
    type=click.Choice(["read", "upload"]),
    help="read: list and download; upload: also create versions and push files.",
)
@click.option("--expires", default="30d", show_default=True, help="Lifetime: 30d, 12w, 1y.")
@click.option("--name", default="", help="What the token is for, e.g. the pipeline's name.")
@pass_context
def token_create(ctx: Context, group: str, scope: str, expires: str, name: str) -> None:
    """Create a group's CI token (its software manager); it is shown once. Use it as
    DEPOT_TOKEN in the pipeline. It belongs to the group, not to you."""
    answer = ctx.api().json(
        "POST",
        "/api/v1/tokens",
        {"group": group, "scope": scope, "expires_in_days": parse_days(expires), "name": name},
    )
    ctx.output.emit(
        answer,
        text=(
            f"{answer['token']}\n\n{'An' if scope == 'upload' else 'A'} {scope} token for "
            f"{group}, valid until {answer['expires_at']} "
            f"(id {answer['id']}).\n"
            "It is shown only now: store it in your CI's secrets as DEPOT_TOKEN."
        ),
    )


@token.command("list")
@click.option(
    "--group",
    default=None,
    help="Every token of this group, whoever made it (its software managers and admins).",
)
@pass_context
def token_list(ctx: Context, group: str | None) -> None:
    """List your tokens, or every token of a group with its last use and address."""
    path = f"/api/v1/groups/{seg(group)}/tokens" if group else "/api/v1/tokens"
    tokens = ctx.api().get(path)["tokens"]
    table = Table(
        "id", "kind", "name", "group", "scope", "made by", "expires", "last used", "from", "status"
    )
    for t in tokens:
        status = "revoked" if t["revoked_at"] else "active"
        table.add_row(
            t["id"],
            t["kind"],
            t["name"],
            t["group"] or "",
            t["scope"] or "",
            t["owner"],
            t["expires_at"],
            t.get("last_used_at") or "never",
            t.get("last_used_addr") or "",
            status,
        )
    ctx.output.emit(tokens, table)


@token.command("revoke")
@click.argument("token_id")
@click.option("--group", default=None, help="The group the token belongs to.")
@pass_context
def token_revoke(ctx: Context, token_id: str, group: str | None) -> None:
    """Revoke a token by its id (as shown by `depot token list`): yours, or one of a group
    you are a software manager of (an admin: any)."""
    path = (
        f"/api/v1/groups/{seg(group)}/tokens/{seg(token_id)}"
        if group
        else f"/api/v1/tokens/{seg(token_id)}"
    )
    t = ctx.api().json("DELETE", path)
    ctx.output.emit(t, text=f"token {t['id']} revoked")
