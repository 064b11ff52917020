"""``depot push`` and ``depot pull``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from client.api import version_path
from client.context import Context, pass_context
from client.errors import ClientError, Exit
from client.output import advance, human_size
from client.refs import parse_ref
from client.transfer import TransferResult, pull_file, push_file


@click.command()
@click.argument("ref")
@click.argument(
    "files",
    nargs=-1,
    required=True,
    type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path),
)
@click.option(
    "--role",
    type=click.Choice(["artifact", "document"]),
    default="artifact",
    show_default=True,
    help="What these files are: the software itself, or its documents.",
)
@click.option("--create", is_flag=True, help="Create the version first if it does not exist yet.")
@click.option("--description", default="", help="Description of a version created with --create.")
@pass_context
def push(
    ctx: Context, ref: str, files: tuple[Path, ...], role: str, create: bool, description: str
) -> None:
    """Upload FILES into GROUP/PRODUCT@VERSION, verified by sha256.

    Each file is hashed locally, sent with its size and checksum, and verified again by
    the server before it is stored. Pushing the same bytes again changes nothing, so a
    retried CI job is safe; different bytes under a stored name are refused.
    """
    target = parse_ref(ref, need="version")
    names = [f.name for f in files]
    if len(set(names)) != len(names):
        raise ClientError("two of the files have the same name", Exit.USAGE)
    api = ctx.api()
    try:
        version = api.get(version_path(target))
    except ClientError as error:
        if (
            error.exit_code != Exit.NOT_FOUND
            or not create
            or not error.message.startswith("version ")
        ):
            raise
        assert target.product is not None
        from client.api import seg

        version = api.json(
            "POST",
            f"/api/v1/groups/{seg(target.group)}/products/{seg(target.product)}/versions",
            {"version": target.version, "description": description},
        )
        ctx.output.note(f"created version {version['ref']}")
    existing: dict[str, dict[str, Any]] = {f["name"]: f for f in version["files"]}
    results: list[TransferResult] = []
    with ctx.output.progress() as bars:
        for path in files:
            size = path.stat().st_size
            hashing = bars.add_task(f"hash {path.name}", total=size)
            sending = bars.add_task(f"push {path.name}", total=size, start=False)

            def started(n: int, task: Any = sending) -> None:
                bars.start_task(task)
                bars.advance(task, n)

            result = push_file(
                api,
                target,
                path,
                existing=existing,
                role=role,
                hashing=advance(bars, hashing),
                sending=started,
            )
            bars.remove_task(hashing)
            results.append(result)
            existing[result.name] = {"sha256": result.sha256}
    lines = [f"{r.status:9} {r.name}  {human_size(r.size)}  sha256:{r.sha256}" for r in results]
    ctx.output.emit(
        {"ref": str(target), "files": [r.to_json() for r in results]}, text="\n".join(lines)
    )


@click.command()
@click.argument("ref")
@click.argument("names", nargs=-1)
@click.option(
    "-o",
    "--output",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Folder to write the files into.",
)
@click.option("--force", is_flag=True, help="Replace local files that differ.")
@pass_context
def pull(ctx: Context, ref: str, names: tuple[str, ...], folder: Path, force: bool) -> None:
    """Download the files of GROUP/PRODUCT@VERSION (or only NAMES), verified by sha256.

    A file appears under its name only after its size and sha256 match the record made
    at upload; an interrupted download is resumed by running the command again.
    """
    target = parse_ref(ref, need="version")
    api = ctx.api()
    version = api.get(version_path(target))
    records = {f["name"]: f for f in version["files"]}
    missing = [n for n in names if n not in records]
    if missing:
        raise ClientError(
            f"{target} has no file named {', '.join(map(repr, missing))}", Exit.NOT_FOUND
        )
    chosen = [records[n] for n in names] if names else list(records.values())
    if not chosen:
        raise ClientError(f"{target} has no files", Exit.NOT_FOUND)
    results: list[TransferResult] = []
    with ctx.output.progress() as bars:
        for record in chosen:
            task = bars.add_task(f"pull {record['name']}", total=record["size"])
            results.append(
                pull_file(api, target, record, folder, force=force, progress=advance(bars, task))
            )
    lines = [
        f"{r.status:10} {r.path}  {human_size(r.size)}  sha256:{r.sha256} verified" for r in results
    ]
    ctx.output.emit(
        {"ref": str(target), "files": [r.to_json() for r in results]}, text="\n".join(lines)
    )
