"""The governed lifecycle of a version: upgrade, submit, accept or reject, check in,
check out, retire, feedback and history.

A version goes draft → submitted → accepted (or rejected) → checked_in → retired. One
person files each request and another decides it; ``client/commands/requests.py`` lists,
shows and decides them. The server makes every decision; these commands send what the
person typed and print what the server answered.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import IO, Any

import click
from rich.markup import escape
from rich.table import Table

from client.api import Api, seg, version_path
from client.commands.requests import columns, decide, decided, event_row, filed, when
from client.context import Context, pass_context
from client.errors import ClientError, Exit, InputError
from client.paging import collect, page_options
from client.refs import Ref, parse_ref
from client.transfer import push_file

ITEM_KEYS = ("kind", "label", "location", "custodian")
# A comma starts a new pair only where a ``key=`` follows, so values may hold commas.
_PAIR_SEPARATOR = re.compile(r",(?=\s*[A-Za-z_][\w-]*\s*=)")


def product_path(ref: Ref) -> str:
    """``/api/v1/groups/G/products/P``."""
    assert ref.product
    return f"/api/v1/groups/{seg(ref.group)}/products/{seg(ref.product)}"


# -- upgrade requests -------------------------------------------------------------------


@click.group()
def upgrade() -> None:
    """Upgrade requests: asking to create a new version of a product in the library."""


@upgrade.command("request")
@click.argument("ref")
@click.option("--target", required=True, help="The version to create, e.g. 1.1.0.")
@click.option("--reason", required=True, help="Why the upgrade is needed.")
@click.option("--scope", default="", help="What the upgrade changes or affects.")
@pass_context
def upgrade_request(ctx: Context, ref: str, target: str, reason: str, scope: str) -> None:
    """File an upgrade request for GROUP/PRODUCT (software managers).

    Once a product has a version in the library, a new version can be created only
    under an approved upgrade request; a version manager decides it.
    """
    product = parse_ref(ref, need="product")
    if product.version:
        raise InputError(
            f"{ref!r}: name the product only (GROUP/PRODUCT) and the version with --target",
        )
    info = ctx.api().json(
        "POST",
        product_path(product) + "/upgrades",
        {"target_version": target, "reason": reason, "scope": scope},
    )
    ctx.output.emit(info, text=filed(info))


@upgrade.command("list")
@click.argument("ref")
@page_options
@pass_context
def upgrade_list(ctx: Context, ref: str, limit: int | None, all_pages: bool) -> None:
    """List the upgrade requests of GROUP/PRODUCT, newest first."""
    product = parse_ref(ref, need="product")
    api = ctx.api()
    found = collect(
        lambda **q: api.get(product_path(product) + "/upgrades", **q),
        "requests",
        limit=limit,
        all_pages=all_pages,
        output=ctx.output,
    )
    table = Table("id", "target", "state", "requester", "decided by", "reason")
    for r in found:
        table.add_row(
            f"#{r['id']}",
            escape(r["version"] or ""),
            r["state"],
            escape(r["requester"]),
            escape(r["decided_by"] or ""),
            escape(str(r["details"].get("reason", ""))),
        )
    ctx.output.emit(found, table if found else None, f"No upgrade requests for {product} yet.")


# -- delivery and acceptance ------------------------------------------------------------


@click.command()
@click.argument("ref")
@click.option("--to", "officer", help="The acceptance officer to deliver to (default: any).")
@click.option("--comment", default="", help="A note for the officer.")
@pass_context
def submit(ctx: Context, ref: str, officer: str | None, comment: str) -> None:
    """Deliver draft GROUP/PRODUCT@VERSION for acceptance (software managers).

    Nothing more can be uploaded to it afterwards. An acceptance officer of the group who
    uploaded none of its files tests it and accepts or rejects it with a report.
    """
    target = parse_ref(ref, need="version")
    info = ctx.api().json(
        "POST", version_path(target) + "/submit", {"to": officer, "comment": comment}
    )
    text = (
        filed(info) + f", delivered to {escape(officer) if officer else 'any acceptance officer'}"
    )
    ctx.output.emit(info, text=text)


def pending_acceptance(api: Api, ref: Ref, version: dict[str, Any]) -> dict[str, Any]:
    """The acceptance request of ``ref`` that waits for a decision; "not found" if none."""
    found = collect(
        lambda **q: api.get(version_path(ref) + "/requests", **q),
        "requests",
        limit=None,
        all_pages=True,
    )
    for r in found:
        if r["kind"] == "acceptance" and r["state"] == "pending":
            result: dict[str, Any] = r
            return result
    raise ClientError(
        f"{ref} is {version['state']}: no acceptance request of it waits for a decision",
        Exit.NOT_FOUND,
        "not_found",
        "the software manager delivers a draft with `depot submit GROUP/PRODUCT@VERSION`",
    )


def _decide_acceptance(ctx: Context, ref: str, report: Path, comment: str, accept: bool) -> None:
    target = parse_ref(ref, need="version")
    api = ctx.api()
    version = api.get(version_path(target))
    request = pending_acceptance(api, target, version)
    # The server decides, before the upload: a stored report can never be taken back,
    # and a refusal is audited there like any decision refused.
    api.json(
        "POST",
        f"/api/v1/requests/{request['id']}/check",
        {"decision": "approve" if accept else "refuse", "comment": comment},
    )
    existing: dict[str, dict[str, Any]] = {f["name"]: f for f in version["files"]}
    held = existing.get(report.name)
    if held is not None and held["role"] != "report":
        raise ClientError(
            f"{target} already holds {report.name!r} as its {held['role']}; "
            "give the report a name of its own",
            Exit.CONFLICT,
            "conflict",
        )
    uploaded = push_file(api, target, report, existing=existing, role="report")
    ctx.output.note(f"{uploaded.status} report {escape(uploaded.name)}  sha256:{uploaded.sha256}")
    info = decide(
        api, int(request["id"]), approve=accept, comment=comment, report=uploaded.name, ctx=ctx
    )
    ctx.output.emit({**info, "upload": uploaded.to_json()}, text=decided(info))


REPORT = click.Path(exists=True, dir_okay=False, readable=True, path_type=Path)


@click.command()
@click.argument("ref")
@click.option("--report", required=True, type=REPORT, help="The test report file to attach.")
@click.option("--comment", default="", help="A note on the result.")
@pass_context
def accept(ctx: Context, ref: str, report: Path, comment: str) -> None:
    """Accept GROUP/PRODUCT@VERSION with a test report (acceptance officers).

    The report is uploaded to the version (role `report`, verified by sha256) and the
    pending acceptance request is approved, naming it. You may not accept a version you
    uploaded files to, nor one delivered to another officer.
    """
    _decide_acceptance(ctx, ref, report, comment, True)


@click.command()
@click.argument("ref")
@click.option("--report", required=True, type=REPORT, help="The test report file to attach.")
@click.option("--comment", required=True, help="Why the version fails (required).")
@pass_context
def reject(ctx: Context, ref: str, report: Path, comment: str) -> None:
    """Reject GROUP/PRODUCT@VERSION with a test report and a comment (acceptance officers).

    The report is uploaded to the version (role `report`) and the pending acceptance
    request is refused, naming it. A rejected version stays as it is; the fix is a new
    version.
    """
    _decide_acceptance(ctx, ref, report, comment, False)


# -- check-in and check-out -------------------------------------------------------------


def parse_item(text: str) -> dict[str, str]:
    """``kind=...,label=...,location=...,custodian=...`` as a dict; a usage error otherwise."""
    item: dict[str, str] = {}
    for pair in _PAIR_SEPARATOR.split(text):
        key, equals, value = pair.partition("=")
        key, value = key.strip(), value.strip()
        if not equals or not key:
            raise InputError(
                f"cannot read --item {text!r}: expected kind=...,label=...,location=...,"
                "custodian=...",
            )
        if key not in ITEM_KEYS:
            raise InputError(
                f"--item {text!r}: unknown key {key!r}; the keys are {', '.join(ITEM_KEYS)}",
            )
        if key in item:
            raise InputError(f"--item {text!r}: {key} is given twice")
        if not value:
            raise InputError(f"--item {text!r}: {key} is empty")
        item[key] = value
    missing = [k for k in ITEM_KEYS if k not in item]
    if missing:
        raise InputError(f"--item {text!r} lacks {', '.join(missing)}")
    return item


@click.group()
def checkin() -> None:
    """Check-in requests: taking an accepted version into the library."""


@checkin.command("request")
@click.argument("ref")
@click.option("--notes", help="The release notes.")
@click.option(
    "--notes-file",
    type=click.File("r", encoding="utf-8"),
    help="Read the release notes from this file (- for standard input).",
)
@click.option(
    "--document",
    "documents",
    multiple=True,
    metavar="NAME",
    help="A document file of the version that belongs to the archive (repeatable).",
)
@click.option(
    "--item",
    "items",
    multiple=True,
    metavar="kind=...,label=...,location=...,custodian=...",
    help="A physical archive item, e.g. install media in a vault (repeatable).",
)
@pass_context
def checkin_request(
    ctx: Context,
    ref: str,
    notes: str | None,
    notes_file: IO[str] | None,
    documents: tuple[str, ...],
    items: tuple[str, ...],
) -> None:
    """Request the check-in of accepted GROUP/PRODUCT@VERSION (software managers).

    Give the release notes (--notes or --notes-file), the documents stored with the
    version that go into the archive, and any physical items. A version manager who
    neither uploaded nor accepted the version decides it.
    """
    if (notes is None) == (notes_file is None):
        raise InputError("give the release notes with --notes or --notes-file")
    if notes_file is not None:
        try:
            notes = notes_file.read()
        except UnicodeDecodeError:
            raise InputError(f"{notes_file.name}: release notes must be UTF-8 text") from None
    target = parse_ref(ref, need="version")
    body = {
        "release_notes": notes,
        "documents": list(documents),
        "items": [parse_item(text) for text in items],
    }
    info = ctx.api().json("POST", version_path(target) + "/checkin", body)
    ctx.output.emit(info, text=filed(info))


@click.group()
def checkout() -> None:
    """Check-out requests: taking a version in the library out for use."""


@checkout.command("request")
@click.argument("ref")
@click.option("--purpose", required=True, help="What the version is taken out for.")
@click.option(
    "--days",
    type=click.IntRange(min=1),
    help="How long the check-out should last (default: the server's).",
)
@pass_context
def checkout_request(ctx: Context, ref: str, purpose: str, days: int | None) -> None:
    """Request a check-out of GROUP/PRODUCT@VERSION (software managers).

    Files of a checked-in version are served only to the person whose check-out a
    version manager approved, until it expires; then `depot pull` works for them.
    """
    target = parse_ref(ref, need="version")
    info = ctx.api().json(
        "POST", version_path(target) + "/checkout", {"purpose": purpose, "days": days}
    )
    ctx.output.emit(info, text=filed(info))


# -- in the library -----------------------------------------------------------------------


@click.command()
@click.argument("ref")
@click.option("--reason", required=True, help="Why the version is retired.")
@pass_context
def retire(ctx: Context, ref: str, reason: str) -> None:
    """Retire checked-in GROUP/PRODUCT@VERSION (version managers).

    It can no longer be checked out (pending check-out requests are refused); its
    records and files stay.
    """
    target = parse_ref(ref, need="version")
    info = ctx.api().json("POST", version_path(target) + "/retire", {"reason": reason})
    refused = int(info.get("refused_checkouts", 0))
    text = f"retired {escape(info['ref'])}"
    if refused:
        text += f" ({refused} pending check-out request(s) refused)"
    ctx.output.emit(info, text=text)


@click.command()
@click.argument("ref")
@click.option("--text", help="Record this feedback (acceptance officers); without it: list.")
@page_options
@pass_context
def feedback(ctx: Context, ref: str, text: str | None, limit: int | None, all_pages: bool) -> None:
    """List the usage feedback on GROUP/PRODUCT@VERSION, or record some with --text.

    Acceptance officers record how a version in the library behaves in use. The list is
    oldest first.
    """
    target = parse_ref(ref, need="version")
    api = ctx.api()
    path = version_path(target) + "/feedback"
    if text is not None:
        entries = api.json("POST", path, {"text": text})["feedback"]
        ctx.output.emit(entries, text=f"recorded feedback on {escape(str(target))}")
        return
    entries = collect(
        lambda **q: api.get(path, **q),
        "feedback",
        limit=limit,
        all_pages=all_pages,
        output=ctx.output,
    )
    table = Table("when", "by", "feedback")
    for e in entries:
        table.add_row(when(e["created_at"]), escape(e["author"]), escape(e["text"]))
    ctx.output.emit(entries, table if entries else None, f"No feedback on {target} yet.")


@click.command()
@click.argument("ref")
@page_options
@pass_context
def history(ctx: Context, ref: str, limit: int | None, all_pages: bool) -> None:
    """Everything that happened to GROUP/PRODUCT@VERSION and its files, oldest first.

    One line per event: time (UTC), who, in which role, the action, its outcome, the
    target and the reason (with the request's number, and the rule of a refusal).
    """
    target = parse_ref(ref, need="version")
    api = ctx.api()
    path = version_path(target) + "/history"
    events = collect(
        lambda **q: api.get(path, **q),
        "events",
        limit=limit,
        all_pages=all_pages,
        output=ctx.output,
    )
    lines = columns([event_row(e) for e in events])
    ctx.output.emit(events, text="\n".join(lines) if lines else f"Nothing recorded for {target}.")
