"""``depot token``: group tokens for CI pipelines."""

from __future__ import annotations

import re

import click
from rich.markup import escape
from rich.table import Table

from client.api import seg
from client.context import Context, pass_context
from client.errors import InputError
from client.paging import collect, page_options


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
@page_options
@pass_context
def token_list(ctx: Context, group: str | None, limit: int | None, all_pages: bool) -> None:
    """List your tokens, or every token of a group with its last use and address, newest
    first."""
    path = f"/api/v1/groups/{seg(group)}/tokens" if group else "/api/v1/tokens"
    api = ctx.api()
    tokens = collect(
        lambda **q: api.get(path, **q),
        "tokens",
        limit=limit,
        all_pages=all_pages,
        output=ctx.output,
    )
    table = Table(
        "id", "kind", "name", "group", "scope", "made by", "expires", "last used", "from", "status"
    )
    for t in tokens:
        status = "revoked" if t["revoked_at"] else "active"
        table.add_row(
            t["id"],
            t["kind"],
            escape(t["name"]),
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


@token.group("oidc")
def oidc() -> None:
    """OIDC trusts: which CI pipelines may exchange their ID tokens for upload tokens."""


def parse_claims(pairs: tuple[str, ...]) -> dict[str, str]:
    """``NAME=PATTERN`` pairs as a dict."""
    claims: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise InputError(f"cannot read claim rule {pair!r}: use NAME=VALUE, e.g. ref=main")
        claims[name] = value
    return claims


@oidc.command("add")
@click.option("--group", required=True, help="The group whose pipelines these are.")
@click.option("--issuer", required=True, help="The issuer, e.g. https://gitlab.example.bank.")
@click.option("--audience", required=True, help="The audience (aud) the tokens are made for.")
@click.option(
    "--claim",
    "claims",
    multiple=True,
    required=True,
    help="NAME=VALUE a token must have ('*' matches anything), e.g. project_path=pay/core.",
)
@pass_context
def oidc_add(ctx: Context, group: str, issuer: str, audience: str, claims: tuple[str, ...]) -> None:
    """Trust the pipelines of an OIDC issuer (the group's software manager)."""
    body = {"issuer": issuer, "audience": audience, "claims": parse_claims(claims)}
    t = ctx.api().json("POST", f"/api/v1/groups/{seg(group)}/oidc-trusts", body)
    rules = ", ".join(f"{k}={v}" for k, v in t["claims"].items())
    ctx.output.emit(t, text=f"group {group} trusts {issuer} for {audience} ({rules}), id {t['id']}")


@oidc.command("list")
@click.option("--group", required=True)
@page_options
@pass_context
def oidc_list(ctx: Context, group: str, limit: int | None, all_pages: bool) -> None:
    """The OIDC trusts of a group, oldest first."""
    api = ctx.api()
    path = f"/api/v1/groups/{seg(group)}/oidc-trusts"
    trusts = collect(
        lambda **q: api.get(path, **q),
        "trusts",
        limit=limit,
        all_pages=all_pages,
        output=ctx.output,
    )
    table = Table("id", "issuer", "audience", "claims", "by", "since")
    for t in trusts:
        rules = ", ".join(f"{k}={v}" for k, v in t["claims"].items())
        table.add_row(
            str(t["id"]),
            escape(t["issuer"]),
            escape(t["audience"]),
            escape(rules),
            t["created_by"],
            t["created_at"],
        )
    ctx.output.emit(trusts, table)


@oidc.command("remove")
@click.option("--group", required=True)
@click.argument("trust_id")
@pass_context
def oidc_remove(ctx: Context, group: str, trust_id: str) -> None:
    """Stop trusting (tokens already exchanged run out within minutes)."""
    t = ctx.api().json("DELETE", f"/api/v1/groups/{seg(group)}/oidc-trusts/{seg(trust_id)}")
    ctx.output.emit(t, text=f"group {group} no longer trusts {t['issuer']} (id {t['id']})")
