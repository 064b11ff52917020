"""``depot push`` and ``depot pull``."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from client.api import seg, version_path
from client.context import Context, pass_context
from client.errors import ClientError, Exit, InputError
from client.output import human_size
from client.progress import Board
from client.provenance import Pending, provenance_option
from client.provenance_view import summary as provenance_line
from client.refs import Ref, parse_ref
from client.resolve import is_symbolic, resolve
from client.resumable import threshold as resumable_threshold
from client.selection import LocalFile, local_files, select_names
from client.transfer import (
    TransferResult,
    check_unchanged,
    file_path,
    hash_file,
    local_name,
    pull_file,
    refusal,
    send_file,
)
from client.trust import TrustStore
from client.trust_state import check_library, check_status, parse_staleness, require_in_use
from client.verified import verify_version
from client.witness import checkpoint_ahead
from policies.names import clashing_file_name

#: What ``--allow-stale-status`` means without a value.
STALE_FLAG = "24h"
#: Files moved at once unless ``--threads`` says otherwise.
DEFAULT_THREADS = 4

T = TypeVar("T")
R = TypeVar("R")


def threads_option(command: Any) -> Any:
    """``--threads N``: how many files move at once."""
    return click.option(
        "--threads",
        type=click.IntRange(1, 32),
        default=DEFAULT_THREADS,
        show_default=True,
        help="How many files to transfer at once.",
    )(command)


def dry_run_option(command: Any) -> Any:
    """``--dry-run``: say what would move, move nothing."""
    return click.option(
        "--dry-run",
        is_flag=True,
        help="List what would be transferred, with sizes and digests; change nothing.",
    )(command)


def run_all(threads: int, work: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """``work`` over ``items`` on ``threads`` threads, results in the items' order; the
    first failure is raised once the others in flight have finished."""
    if threads <= 1 or len(items) <= 1:
        return [work(item) for item in items]
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="depot-transfer") as pool:
        futures = [pool.submit(work, item) for item in items]
        try:
            return [future.result() for future in futures]
        except BaseException:
            for future in futures:
                future.cancel()
            raise


@click.command()
@click.argument("ref")
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "--role",
    type=click.Choice(["artifact", "document"]),
    default="artifact",
    show_default=True,
    help="What these files are: the software itself, or its documents.",
)
@click.option("--create", is_flag=True, help="Create the version first if it does not exist yet.")
@click.option("--description", default="", help="Description of a version created with --create.")
@click.option(
    "--flat", is_flag=True, help="Store every file under its own name, without its folders."
)
@click.option(
    "--exclude",
    "excludes",
    multiple=True,
    metavar="PATTERN",
    help="Leave out the files matching PATTERN (repeatable; '*.log', 'tmp/**').",
)
@threads_option
@dry_run_option
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
@provenance_option
@pass_context
def push(
    ctx: Context,
    ref: str,
    paths: tuple[str, ...],
    role: str,
    create: bool,
    description: str,
    flat: bool,
    excludes: tuple[str, ...],
    threads: int,
    dry_run: bool,
    build_id: str | None,
    commit: str | None,
    pipeline: str | None,
    builder: str | None,
    provenance: Path | None,
) -> None:
    """Upload files, folders and globs into GROUP/PRODUCT@VERSION, verified by sha256.

    A file is stored under its own name; a folder's files, recursively, under their
    paths relative to it (`sub/inner.txt`); a glob (quoted, so that depot expands it:
    'build/**/*.tar.gz') under their paths below its first wildcard's folder. --flat
    drops the folders, --exclude leaves files out.

    Each file is hashed locally, sent with its size and checksum, and verified again by
    the server before it is stored. Pushing the same bytes again changes nothing, so a
    retried CI job is safe; different bytes under a stored name are refused before
    anything is sent.

    --provenance FILE attaches a build attestation signed by a key the group trusts
    (`depot provenance sign` makes one); its subjects must be the files with their sha256,
    else nothing is sent.
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
    chosen = local_files(paths, flat=flat, exclude=excludes)
    api = ctx.api(connections=threads)
    version: dict[str, Any] | None
    try:
        version = api.get(version_path(target))
    except ClientError as error:
        if (
            error.exit_code != Exit.NOT_FOUND
            or not create
            or not error.message.startswith("version ")
        ):
            raise
        version = None
    sizes = [item.path.stat().st_size for item in chosen]
    existing: dict[str, dict[str, Any]] = {
        f["name"]: f for f in (version or {"files": []})["files"]
    }
    # A large new file is hashed while it is sent (an upload session): read once. An
    # attestation is checked against every digest before anything is sent, so with
    # --provenance each file is hashed first.
    later = {
        item.name for item, size in zip(chosen, sizes, strict=True)
        if not dry_run and provenance is None and item.name not in existing
        and size >= resumable_threshold()
    }  # fmt: skip
    with Board(
        ctx.output, "hash", sum(s for i, s in zip(chosen, sizes, strict=True)
                                if i.name not in later), len(chosen) - len(later)
    ) as board:  # fmt: skip

        def hashed(item: LocalFile) -> str | None:
            if item.name in later:
                return None
            with board.file(item.name, item.path.stat().st_size) as moved:
                return hash_file(item.path, moved)

        digests = run_all(threads, hashed, chosen)
    stored = list(existing)
    for item, digest in zip(chosen, digests, strict=True):
        if item.name in existing:
            assert digest is not None
            check_unchanged(target, item.name, digest, existing)
        else:
            other = clashing_file_name(item.name, stored)
            if other is not None:
                raise ClientError(
                    f"{target} already holds {other!r}, which {item.name!r} equals once case "
                    "and Unicode compatibility forms are ignored; nothing was sent",
                    Exit.CONFLICT,
                    "conflict",
                )
    pending = (
        None
        if provenance is None
        else Pending.given(
            api, target, provenance, existing, [c.name for c in chosen],
            [d for d in digests if d is not None],
        )
    )  # fmt: skip
    if dry_run:
        planned = [
            TransferResult(
                item.name,
                size,
                digest or "",
                "unchanged" if item.name in existing else "would_upload",
            )
            for item, size, digest in zip(chosen, sizes, digests, strict=True)
        ]
        head = f"would create version {target}" if version is None else f"would push to {target}"
        extra: dict[str, Any] = {"dry_run": True, "create": version is None}
        if pending is not None:
            extra["provenance"] = pending.attestation.to_json()
        _summary(ctx, target, planned, extra=extra,
                 head=head + " (dry run: nothing was sent)")  # fmt: skip
        return
    if version is None:
        assert target.product is not None
        created = api.json(
            "POST",
            f"/api/v1/groups/{seg(target.group)}/products/{seg(target.product)}/versions",
            {"version": target.version, "description": description},
        )
        ctx.output.note(f"created version {created['ref']}")
    todo = [
        (item, size, digest)
        for item, size, digest in zip(chosen, sizes, digests, strict=True)
        if item.name not in existing
    ]
    with Board(ctx.output, "push", sum(size for _, size, _ in todo), len(todo)) as board:

        def sent(job: tuple[LocalFile, int, str | None]) -> TransferResult:
            item, size, digest = job
            with board.file(item.name, size) as moved:
                result = send_file(
                    api, target, item.path, item.name, size, digest,
                    role=role, build=build, sending=moved,
                )  # fmt: skip
            board.line(_line(result))
            return result

        sent_results = {r.name: r for r in run_all(threads, sent, todo)}
    results = [
        sent_results.get(item.name) or TransferResult(item.name, size, digest or "", "unchanged")
        for item, size, digest in zip(chosen, sizes, digests, strict=True)
    ]
    if pending is None:
        _summary(ctx, target, results)
        return
    attached = pending.attach(api, target)
    _summary(ctx, target, results, extra={"provenance": attached}, tail=provenance_line(attached))


def _line(result: TransferResult) -> str:
    return f"{result.status:9} {result.name}  {human_size(result.size)}  sha256:{result.sha256}"


def _summary(
    ctx: Context,
    target: Ref,
    results: list[TransferResult],
    *,
    extra: dict[str, Any] | None = None,
    head: str = "",
    tail: str = "",
) -> None:
    lines = ([head] if head else []) + [_line(r) for r in results] + ([tail] if tail else [])
    ctx.output.emit(
        {"ref": str(target), **(extra or {}), "files": [r.to_json() for r in results]},
        text="\n".join(lines),
    )


@click.command()
@click.argument("ref")
@click.argument("patterns", nargs=-1)
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
@click.option("--draft", is_flag=True, help="With @latest: the newest draft, not the newest "
              "version in the library.")  # fmt: skip
@threads_option
@dry_run_option
@pass_context
def pull(
    ctx: Context,
    ref: str,
    patterns: tuple[str, ...],
    folder: Path,
    force: bool,
    bundle: bool,
    stale: str | None,
    unverified: bool,
    draft: bool,
    threads: int,
    dry_run: bool,
) -> None:
    """Download the files of GROUP/PRODUCT@VERSION (or those PATTERNS name), verified.

    VERSION may be `latest` (the newest version in the library; with --draft the newest
    draft) or `#N`, the library number `depot ls` shows. A PATTERN is a stored name or a
    glob ('*.tar.gz', 'sub/**'); files keep their folders under the output folder.

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
    api = ctx.api(connections=threads)
    if is_symbolic(target) or draft:
        target = resolve(api, target, draft=draft)
        ctx.output.note(f"{ref} is {target}")
    store = TrustStore.for_server(api.server)
    if store.initialized and not dry_run:
        # What the checks below read first, asked for while the version is looked up.
        assert target.product is not None
        api.ahead("/api/v1/trust/keyring")
        api.ahead(f"/api/v1/groups/{seg(target.group)}/products/{seg(target.product)}/library")
        checkpoint_ahead(api, store)
    version = api.get(version_path(target))
    records = {f["name"]: f for f in version["files"]}
    if not records:
        raise ClientError(f"{target} has no files", Exit.NOT_FOUND)
    names = select_names(list(records), patterns, str(target))
    chosen = [records[n] for n in names]
    if dry_run:
        _dry_pull(ctx, target, chosen, folder, force)
        return
    now = datetime.now(UTC)
    library, keyring = None, None
    if store.initialized:
        keyring = store.refresh_keyring(api, now)
        library, keyring = store.in_step(
            api,
            keyring,
            now,
            lambda ring: check_library(api, store, ring, target, now=now, stale=allowance),
        )
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
        api.ahead(version_path(target) + "/trust")
        refused = refusal(api, f"{version_path(target)}/files/{file_path(chosen[0]['name'])}")
        if refused is not None:
            raise refused
        assert keyring is not None  # the library index verified with it
        verified, keyring = store.in_step(
            api,
            keyring,
            now,
            lambda ring: verify_version(
                api, store, target, names, now=now, stale=allowance, keyring=ring
            ),
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
        signed = [entry.name for entry in verified.manifest.files]
        wanted = select_names(signed, patterns, str(target)) if patterns else signed
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
    word = "verified" if verified is not None else "UNVERIFIED"
    total = sum(int(record["size"]) for record in chosen)
    with Board(ctx.output, "pull", total, len(chosen)) as board:
        # Each file is verified into a partial file; all of them are put in place only
        # once every one verified, so a failed pull leaves no file under its final name.
        ready: list[tuple[Path, Path]] = []

        def pulled(record: dict[str, Any]) -> TransferResult:
            with board.file(str(record["name"]), int(record["size"])) as moved:
                result = pull_file(
                    api, target, record, folder, force=force, progress=moved, deferred=ready
                )
            board.line(_pulled_line(result, word))
            return result

        try:
            results = run_all(threads, pulled, chosen)
        except ClientError as error:
            if error.exit_code != Exit.UNAVAILABLE:  # interrupted: kept, to resume
                for part, _ in ready:
                    part.unlink(missing_ok=True)
            raise
        for part, final in ready:
            os.replace(part, final)
    lines = [_pulled_line(r, word) for r in results]
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
            "provenance": [a.to_json() for a in verified.provenance],
        }
        lines += [
            f"provenance verified: sha256:{a.payload_sha256}  builder {a.builder_id}"
            for a in verified.provenance
        ]
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
    ctx.output.emit(data, text="\n".join(lines), plain=True)


def _pulled_line(result: TransferResult, word: str) -> str:
    return (
        f"{result.status:10} {result.path}  {human_size(result.size)}  "
        f"sha256:{result.sha256} {word}"
    )


def _dry_pull(
    ctx: Context, target: Ref, chosen: list[dict[str, Any]], folder: Path, force: bool
) -> None:
    """What ``depot pull`` would write (by the server's record), writing nothing."""
    planned: list[TransferResult] = []
    for record in chosen:
        name = local_name(str(record["name"]))
        size, digest = int(record["size"]), str(record["sha256"])
        path = folder / name
        state = "would_download"
        if path.exists():
            same = path.is_file() and path.stat().st_size == size and hash_file(path) == digest
            state = "unchanged" if same else "would_replace" if force else "conflict"
        planned.append(TransferResult(name, size, digest, state, str(path)))
    _summary(
        ctx,
        target,
        planned,
        extra={"dry_run": True, "verified": False},
        head=f"would pull from {target} into {folder} (dry run: nothing was written; the "
        "files are listed as the server records them, a real pull verifies them)",
    )
