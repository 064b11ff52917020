"""``depot push`` and ``depot pull``."""

from __future__ import annotations

import json
from dataclasses import replace
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
from client.trust_state import check_library, check_status, parse_staleness, require_in_use
from client.verified import verify_version

#: What ``--allow-stale-status`` means without a value.
STALE_FLAG = "24h"


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
    "stale",
    is_flag=False,
    flag_value=STALE_FLAG,
    default=None,
    metavar="[DURATION]",
    help="Accept a status and library index expired at most DURATION ago (15m, 24h, 7d; "
    "24h without a value, 30d at most). Warns: a stop since then would not be known.",
)
@click.option(
    "--unverified",
    is_flag=True,
    help="Write the files of a version that is not in the library (a draft, or one under "
    "acceptance): their bytes match the server's record, nothing signed vouches for them.",
)
@pass_context
def pull(
    ctx: Context,
    ref: str,
    names: tuple[str, ...],
    folder: Path,
    force: bool,
    bundle: bool,
    stale: str | None,
    unverified: bool,
) -> None:
    """Download the files of GROUP/PRODUCT@VERSION (or only NAMES), verified by sha256.

    A file appears under its name only after its size and sha256 match; an interrupted
    download is resumed by running the command again.

    Whether the version is in the library is decided by the product's signed library
    index, checked against the root pinned with `depot trust init` and against what this
    client saw before (never by the server's unsigned record). A version in the library
    is verified end to end: the keyring, the signed status (not stopped, not expired),
    the signed manifest, the approvals (four eyes) and the check-in's place in the log;
    its bytes are served only under an approved check-out. The files of a version not in
    the library are written only with --unverified, and reported as unverified.
    """
    target = parse_ref(ref, need="version")
    allowance = parse_staleness(stale)
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
    store = TrustStore.for_server(api.server)
    now = datetime.now(UTC)
    library, keyring = None, None
    if store.initialized:
        keyring = store.refresh_keyring(api, now)
        library = check_library(api, store, keyring, target, now=now, stale=allowance)
    elif not unverified:
        raise ClientError(
            f"no trusted root for {api.server}: whether {target} is in the library cannot be "
            "checked, so nothing was written",
            Exit.INTEGRITY,
            "trust.not_initialized",
            "pin the server's root once: `depot trust init URL --root-fingerprint FP` (from "
            "your administrator); or pass --unverified for a version not in the library",
        )
    verified = None
    if library is not None and library.entry is not None:
        # May I download at all (an approved check-out, the version not stopped)? Ask
        # before verifying anything: the server's answer names its reason. A stop the
        # index or the status shows is refused below, whatever the server answered.
        refused = refusal(api, f"{version_path(target)}/files/{seg(chosen[0]['name'])}")
        if refused is not None:
            raise refused
        verified = verify_version(
            api,
            store,
            target,
            [r["name"] for r in chosen],
            now=now,
            stale=allowance,
            keyring=keyring,
        )
        check_status(store, library, verified.status)
        require_in_use(library, verified.status)
        for document, expires in (
            ("library index", library.index.expires),
            ("status", verified.status.expires),
        ):
            if expires <= now:
                ctx.output.warn(
                    f"the {document} of {target} expired at {expires.isoformat()}: "
                    "a stop since then would not be known"
                )
        # Every file the signed manifest lists, not only those the server's record shows.
        wanted = list(names) or [entry.name for entry in verified.manifest.files]
        chosen = [verified.record(name) for name in wanted]
    elif bundle:
        raise InputError(f"{target} is not in the library: there is nothing signed to bundle")
    elif not unverified:
        raise ClientError(
            f"{target} is not in the library (its signed library index does not list it): "
            "nothing signed vouches for its bytes, so nothing was written",
            Exit.INTEGRITY,
            "trust.not_in_library",
            "pass --unverified to write them anyway (a draft, or a version under acceptance)",
        )
    else:
        ctx.output.warn(
            f"{target} is not in the library: its files are checked against the server's "
            "record only, NOT verified against anything signed"
        )
    results: list[TransferResult] = []
    with ctx.output.progress() as bars:
        for record in chosen:
            task = bars.add_task(f"pull {record['name']}", total=record["size"])
            results.append(
                pull_file(api, target, record, folder, force=force, progress=advance(bars, task))
            )
    word = "verified" if verified is not None else "UNVERIFIED"
    lines = [
        f"{r.status:10} {r.path}  {human_size(r.size)}  sha256:{r.sha256} {word}" for r in results
    ]
    data: dict[str, Any] = {
        "ref": str(target),
        "verified": verified is not None,
        "files": [r.to_json() for r in results],
    }
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
            assert library is not None
            # The signed index travels with the bundle: offline, it shows the version is
            # in the library (and was not stopped) as of the index's signing.
            carried = replace(verified.bundle, library=library.envelope)
            path.write_text(json.dumps(carried.to_json(), indent=1, sort_keys=True))
            lines.append(f"bundle     {path}")
            data["bundle"] = str(path)
    ctx.output.emit(data, text="\n".join(lines))
