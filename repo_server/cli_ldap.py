"""``depot-server ldap``: check the directory connection, synchronise directory accounts."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click
from rich.table import Table

from repo_server.auth.ldap.errors import DirectoryUnavailable
from repo_server.cli_support import Ctx, console, emit, fail, handled, pass_ctx
from repo_server.errors import Unavailable
from repo_server.settings import SettingsError

if TYPE_CHECKING:
    from repo_server.auth.ldap.sync import DirectorySync


def _sync_service(ctx: Ctx) -> DirectorySync:
    directory = ctx.depot.auth.directory
    if directory is None:
        raise SettingsError(
            "directory sign-in is not configured: set ldap_url (DEPOT_LDAP_URL) and the "
            "other ldap_* settings, see docs/ldap.md"
        )
    return directory


@click.group("ldap")
def ldap_group() -> None:
    """Directory (LDAP) sign-in: test the connection, synchronise accounts."""


@ldap_group.command("test")
@click.option(
    "--user",
    "username",
    help="Also show this person's entry, directory groups and what they would get.",
)
@pass_ctx
@handled
def ldap_test(ctx: Ctx, username: str | None) -> None:
    """Connect to every directory server and check the mapping file against both sides.

    Exit code 1 when a server does not answer or the mapping names a group that does
    not exist (in the directory or in Depot).
    """
    directory = _sync_service(ctx)
    report = directory.check()
    data: dict[str, object] = {
        "servers": [{"url": s.url, "ok": s.ok, "detail": s.detail} for s in report.servers],
        "mapping_entries": len(directory.mapping.rules),
        "problems": report.problems,
    }
    lines = [f"{'ok  ' if s.ok else 'FAIL'} {s.url}: {s.detail}" for s in report.servers] + [
        f"mapping: {len(directory.mapping.rules)} entries"
    ]
    lines += [f"problem: {problem}" for problem in report.problems]
    if username:
        try:
            preview = directory.preview(username.strip().lower())
        except DirectoryUnavailable as error:
            raise Unavailable(str(error)) from None
        person = preview.person
        data["user"] = {
            "found": person is not None,
            "dn": person.dn if person else None,
            "username": person.username if person else None,
            "disabled": person.disabled if person else None,
            "directory_id": (person.entry_id or None) if person else None,
            "account": preview.account or None,
            "account_exists": preview.account_exists,
            "directory_groups": sorted(preview.directory_groups),
            "groups": {
                group: sorted(role for g, role in preview.grants.memberships if g == group)
                for group in sorted({g for g, _ in preview.grants.memberships})
            },
            "global_roles": sorted(preview.grants.global_roles),
        }
        if person is None:
            lines.append(f"user {username}: not found in the directory")
        else:
            lines.append(
                f"user {person.username}: {person.dn}"
                + (" (DISABLED in the directory)" if person.disabled else "")
            )
            id_attribute = ctx.settings.ldap_id_attribute
            if not person.entry_id:
                problem = f"{person.dn} has no {id_attribute} (ldap_id_attribute): cannot sign in"
                report.problems.append(problem)
                lines.append(f"problem: {problem}")
            else:
                lines.append(f"  {id_attribute} {person.entry_id}")
            if preview.account:
                lines.append(
                    f"  is the account {preview.account}"
                    if preview.account_exists
                    else f"  would get the new account {preview.account}"
                )
            lines += [f"  in directory group {dn}" for dn in sorted(preview.directory_groups)]
            lines += [
                f"  gets {group} {role}" for group, role in sorted(preview.grants.memberships)
            ]
            lines += [f"  gets global role {role}" for role in sorted(preview.grants.global_roles)]
            if not preview.grants.memberships and not preview.grants.global_roles:
                lines.append("  gets nothing from the mapping")
    emit(ctx, data, text="\n".join(lines))
    if not report.ok:
        fail("the directory check found problems (see above)")


@ldap_group.command("sync")
@pass_ctx
@handled
def ldap_sync(ctx: Ctx) -> None:
    """Synchronise every directory account with the directory (run it from a scheduler).

    Creates accounts for people in mapped directory groups, gives and takes project
    group roles and global roles as the mapping file says, and takes every directory
    grant from people gone from the directory or disabled there. Roles given by hand
    are left alone. Every change is in the audit trail. Exit code 1 when the directory
    could not be reached or stopped answering (the changes made until then are kept).
    """
    directory = _sync_service(ctx)
    report = directory.sync_all(ctx.principal)
    table = Table("user", "change", "group", "role")
    for change in report.changes:
        table.add_row(change.username, change.kind, change.group or "(global)", change.role)
    if ctx.as_json:
        emit(ctx, report.to_json())
    else:
        if report.changes:
            console.print(table, soft_wrap=False)
        summary = (
            f"checked {report.checked} directory account(s): {len(report.created)} created, "
            f"{len(report.gone)} gone from the directory, {len(report.changes)} change(s)"
        )
        lines = [summary]
        lines += [f"created {name}" for name in report.created]
        lines += [
            f"gone: {name} (directory grants removed, tokens refused)" for name in report.gone
        ]
        lines += [f"problem: {problem}" for problem in report.problems]
        console.print("\n".join(lines), highlight=False)
    if report.stopped:
        fail(f"synchronisation stopped before the end: {report.stopped}")


@ldap_group.command("link")
@click.argument("username")
@click.option(
    "--entry",
    "entry_name",
    default="",
    help="The sign-in name of the directory entry (default: USERNAME).",
)
@click.option(
    "--move",
    is_flag=True,
    help="The entry is linked to another account: take it from that account (marked gone).",
)
@pass_ctx
@handled
def ldap_link(ctx: Ctx, username: str, entry_name: str, move: bool) -> None:
    """Link the account USERNAME to a directory entry, deliberately.

    Depot binds a directory account to its entry's permanent id (ldap_id_attribute), so
    a new entry under a departed person's name gets an account of its own (NAME-2).
    When that entry is the same person (re-hired, or an entry replaced before Depot
    stored ids), link it: the account's gone mark is cleared, its directory grants
    follow the entry's groups, its old sign-in tokens are revoked. Audited (user.link).
    """
    directory = _sync_service(ctx)
    report = directory.link(ctx.principal, username.strip().lower(), entry_name.strip(), move=move)
    lines = [f"linked {report.username} to {report.dn} ({report.directory_id})"]
    if report.moved_from:
        lines.append(f"taken from {report.moved_from} (marked gone, tokens refused)")
    if report.revoked_tokens:
        lines.append(f"revoked {report.revoked_tokens} sign-in token(s) from before")
    lines += [str(change) for change in report.changes]
    emit(ctx, report.to_json(), text="\n".join(lines))
