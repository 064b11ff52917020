"""``depot ls`` and ``depot search``."""

from __future__ import annotations

from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from client.api import seg, version_path
from client.context import Context, pass_context
from client.errors import InputError
from client.output import human_size
from client.paging import collect, page_options
from client.provenance_view import summary as provenance_summary
from client.refs import parse_ref


def _date(text: str | None) -> str:
    return (text or "-").replace("T", " ").replace("Z", "")[:16]


@click.command()
@click.argument("ref", required=False)
@page_options
@pass_context
def ls(ctx: Context, ref: str | None, limit: int | None, all_pages: bool) -> None:
    """List your groups, a group's products, a product's versions, or a version's files.

    REF is GROUP, GROUP/PRODUCT or GROUP/PRODUCT@VERSION. A listing shows the server's
    first page; --limit N shows up to N rows, --all every row.
    """
    api = ctx.api()

    def listing(path: str, key: str) -> list[Any]:
        get = lambda **q: api.get(path, **q)  # noqa: E731
        return collect(get, key, limit=limit, all_pages=all_pages, output=ctx.output)

    if not ref:
        groups = listing("/api/v1/groups", "groups")
        table = Table("group", "name", "your roles", "members")
        for g in groups:
            table.add_row(
                g["name"],
                escape(g["display_name"]),
                ", ".join(g["my_roles"]),
                str(g["member_count"]),
            )
        ctx.output.emit(
            groups, table if groups else None, None if groups else "You are in no group yet."
        )
        return
    target = parse_ref(ref)
    if target.product is None:
        products = listing(f"/api/v1/groups/{seg(target.group)}/products", "products")
        table = Table("product", "category", "origin", "vendor", "versions")
        for p in products:
            table.add_row(
                p["name"],
                p["category"],
                p["origin"],
                escape(p["vendor"] or ""),
                str(p["version_count"]),
            )
        ctx.output.emit(
            products, table if products else None, f"No products in {target.group} yet."
        )
        return
    if target.version is None:
        path = f"/api/v1/groups/{seg(target.group)}/products/{seg(target.product)}/versions"
        versions = listing(path, "versions")
        table = Table("version", "state", "files", "size", "created", "by")
        for v in versions:
            table.add_row(
                v["version"],
                v["state"],
                str(v["file_count"]),
                human_size(v["total_size"]),
                _date(v["created_at"]),
                v["created_by"],
            )
        ctx.output.emit(versions, table if versions else None, f"No versions of {target} yet.")
        return
    version = api.get(version_path(target))
    files = version["files"] = listing(version_path(target) + "/files", "files")
    total = human_size(sum(f["size"] for f in files))
    number = version.get("library_number")
    lines = [
        f"{version['ref']}  {version['state']}"
        + (f"  library number {number}" if number else "")
        + f"  {len(files)} file(s), {total}"
    ]
    # One line per file, the whole digest first (as sha256sum prints it), so that it can
    # be compared and grepped; --json has every field.
    for f in files:
        lines.append(
            f"{f['sha256']}  {human_size(f['size']):>9}  {f['role']:8}  {f['name']}"
            f"  ({f['uploaded_by']}, {_date(f['uploaded_at'])})"
        )
    # The signed build attestations; without them the pushed build fields are only stated.
    signed = version["provenance"] = api.get(version_path(target) + "/provenance")
    if files:
        lines.append(f"build provenance: {signed['build_fields']}")
    lines += [provenance_summary(a) for a in signed["attestations"]]
    ctx.output.emit(version, text="\n".join(lines))


@click.command()
@click.argument("text", required=False)
@click.option("--sha256", help="Find the files with this checksum.")
@pass_context
def search(ctx: Context, text: str | None, sha256: str | None) -> None:
    """Search your groups' products, versions and files by name, or files by sha256."""
    if not text and not sha256:
        raise InputError("give a search text or --sha256")
    results = ctx.api().get("/api/v1/search", q=text, sha256=sha256)["results"]
    table = Table("kind", "where", "file")
    table.add_column("sha256", no_wrap=True)
    for hit in results:
        where = (
            hit["group"]
            + "/"
            + hit["product"]
            + (f"@{hit['version']}" if hit.get("version") else "")
        )
        table.add_row(hit["kind"], where, hit.get("file", ""), hit.get("sha256", ""))
    ctx.output.emit(results, table if results else None, "Nothing found.")
