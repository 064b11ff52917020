"""``depot push`` and ``depot pull``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from client.api import seg, version_path
from client.context import Context, pass_context
from client.errors import ClientError, Exit, InputError
from client.output import advance, human_size
from client.refs import parse_ref
from client.transfer import TransferResult, local_name, pull_file, push_file, refusal
from client.trust import TrustStore
from client.verified import verify_version

#: Version states whose files are signed at check-in and verified on pull.
LIBRARY_STATES = ("checked_in", "retired", "quarantined")


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
@click.option("--build-id", envvar="DEPOT_BUILD_ID", help="Build (batch) identifier to record.")
@click.option(
    "--commit", envvar="DEPOT_BUILD_COMMIT", help="Source commit the files were built from."
)
@click.option(
    "--pipeline", envvar="DEPOT_BUILD_PIPELINE", help="CI pipeline or job that built them."
)
@click.option(
    "--builder", envvar="DEPOT_BUILDER", help="Builder (machine or service) that built them."
)
@pass_context
def push(
    ctx: Context,
    ref: str,
    files: tuple[Path, ...],
    role: str,
    create: bool,
    description: str,
    build_id: str | None,
    commit: str | None,
    pipeline: str | None,
    builder: str | None,
) -> None:
    """Upload FILES into GROUP/PRODUCT@VERSION, verified by sha256.

    Each file is hashed locally, sent with its size and checksum, and verified again by
    the server before it is stored. Pushing the same bytes again changes nothing, so a
    retried CI job is safe; different bytes under a stored name are refused.
    """
    build = {
        key: value
        for key, value in (
            ("build_id", build_id),
            ("commit", commit),
            ("pipeline", pipeline),
            ("builder", builder),
        )
        if value
    }
    target = parse_ref(ref, need="version")
    names = [f.name for f in files]
    if len(set(names)) != len(names):
        raise InputError("two of the files have the same name")
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
                build=build,
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
@click.option(
    "--bundle",
    is_flag=True,
    help="Also save the proof bundle (PRODUCT@VERSION.bundle.json) for `depot verify`.",
)
@click.option(
    "--allow-stale-status",
    is_flag=True,
    help="Accept an expired status document (warns: a recent stop may be missed).",
)
@pass_context
def pull(
    ctx: Context,
    ref: str,
    names: tuple[str, ...],
    folder: Path,
    force: bool,
    bundle: bool,
    allow_stale_status: bool,
) -> None:
    """Download the files of GROUP/PRODUCT@VERSION (or only NAMES), verified by sha256.

    A file appears under its name only after its size and sha256 match the record made
    at upload; an interrupted download is resumed by running the command again.

    A version in the library is verified end to end first, against the root key pinned
    with `depot trust init`: the keyring, the signed status (not stopped, not expired),
    the signed manifest, the approvals (four eyes) and the check-in's place in the log.
    Its bytes are served only under an approved check-out.
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
    verified = None
    if version.get("state") in LIBRARY_STATES:
        # May I download at all (an approved check-out)? Ask before verifying anything.
        refused = refusal(api, f"{version_path(target)}/files/{seg(chosen[0]['name'])}")
        if refused is not None:
            raise refused
        verified = verify_version(
            api,
            TrustStore.for_server(api.server),
            target,
            [r["name"] for r in chosen],
            allow_stale_status=allow_stale_status,
        )
        if verified.status.expires <= datetime.now(UTC):
            ctx.output.warn(
                f"the status of {target} expired at {verified.status.expires.isoformat()}: "
                "a stop since then would not be known"
            )
        chosen = [verified.record(r["name"]) for r in chosen]
    elif bundle:
        raise InputError(f"{target} is not in the library: there is nothing signed to bundle")
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
    data: dict[str, Any] = {"ref": str(target), "files": [r.to_json() for r in results]}
    if verified is not None:
        manifest = verified.manifest
        lines.append(
            f"signed: library number {manifest.library_number}, checked in "
            f"{manifest.checked_in_at.isoformat()}, status {verified.status.state} "
            f"(serial {verified.status.serial})"
        )
        data["signed"] = {
            "library_number": manifest.library_number,
            "status": verified.status.state,
            "status_serial": verified.status.serial,
        }
        if bundle:
            stem = f"{target.product}@{target.version}"
            path = folder / local_name(f"{stem}.bundle.json")
            path.write_text(json.dumps(verified.bundle.to_json(), indent=1, sort_keys=True))
            lines.append(f"bundle     {path}")
            data["bundle"] = str(path)
    ctx.output.emit(data, text="\n".join(lines))
