"""``depot provenance``: the keys a group trusts for build attestations, making and
signing one in a CI job, and showing a version's (docs/provenance.md)."""

from __future__ import annotations

import os
from pathlib import Path

import click
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from rich.table import Table

from client.api import seg, version_path
from client.context import Context, pass_context
from client.errors import InputError
from client.provenance import make_statement, statement_bytes
from client.provenance_view import summary
from client.refs import parse_ref
from client.selection import local_files
from client.transfer import hash_file
from policies.trust.dsse import sign
from policies.trust.errors import TrustError
from policies.trust.keys import keyid_of, private_from_pem, private_to_pem, public_text
from policies.trust.provenance import IN_TOTO

PASSPHRASE = "DEPOT_PROVENANCE_PASSPHRASE"  # noqa: S105 - the variable's name


def _passphrase() -> bytes | None:
    value = os.environ.get(PASSPHRASE)
    return value.encode() if value else None


@click.group()
def provenance() -> None:
    """Signed build provenance: keys, attestations for pushes, what a version holds."""


@provenance.command("keygen")
@click.option("-o", "--output", "path", required=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the private key (PEM, mode 0600).")  # fmt: skip
@pass_context
def keygen(ctx: Context, path: Path) -> None:
    """Make an Ed25519 key for a pipeline to sign its build attestations with.

    The private key goes to the CI system's secret store (encrypted when
    DEPOT_PROVENANCE_PASSPHRASE is set); the public key it prints is what the group's
    software manager registers with `depot provenance key add`.
    """
    if path.exists():
        raise InputError(f"{path} exists already; nothing was written")
    key = Ed25519PrivateKey.generate()
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(private_to_pem(key, _passphrase()))
    public = public_text(key.public_key())
    ctx.output.emit(
        {"path": str(path), "public": public, "keyid": keyid_of(key.public_key())},
        text=public,
    )


@provenance.command("sign")
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "--key",
    "key_path",
    required=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="The pipeline's private key (PEM; DEPOT_PROVENANCE_PASSPHRASE if encrypted).",
)
@click.option(
    "-o",
    "--output",
    "out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the attestation (DSSE envelope, JSON).",
)
@click.option("--flat", is_flag=True, help="Name every file without its folders, as push does.")
@click.option(
    "--exclude",
    "excludes",
    multiple=True,
    metavar="PATTERN",
    help="Leave out the files matching PATTERN, as push does (repeatable).",
)
@click.option("--builder-id", help="The builder's URI (default: from the CI job's variables).")
@pass_context  # fmt: skip
def sign_files(
    ctx: Context,
    paths: tuple[str, ...],
    key_path: Path,
    out: Path,
    flat: bool,
    excludes: tuple[str, ...],
    builder_id: str | None,
) -> None:
    """Write a signed SLSA provenance attestation of files, folders and globs for push.

    The subjects are named as `depot push` stores them (same PATHS, --flat and
    --exclude); the builder, the run and the source commit come from the CI job's own
    variables (GitLab CI, Jenkins, GitHub Actions). The attestation is an in-toto
    statement v1 in a DSSE envelope signed with --key; pass it to `depot push
    --provenance`.
    """
    try:
        key = private_from_pem(key_path.read_bytes(), _passphrase())
    except TrustError as error:
        raise InputError(f"cannot use the key {key_path}: {error}") from None
    chosen = local_files(paths, flat=flat, exclude=excludes)
    subjects = [(item.name, hash_file(item.path)) for item in chosen]
    statement = make_statement(subjects, builder_id=builder_id)
    envelope = sign(IN_TOTO, statement_bytes(statement), [key])
    out.write_bytes(envelope.to_bytes())
    ctx.output.emit(
        {"path": str(out), "payload_sha256": envelope.payload_sha256(),
         "subjects": dict(subjects), "builder_id": statement["predicate"]["runDetails"]
         ["builder"]["id"]},
        text=f"{out}: {len(subjects)} file(s), sha256:{envelope.payload_sha256()}",
    )  # fmt: skip


@provenance.command("show")
@click.argument("ref")
@pass_context
def show(ctx: Context, ref: str) -> None:
    """Show the signed build attestations of GROUP/PRODUCT@VERSION (server's record)."""
    target = parse_ref(ref, need="version")
    data = ctx.api().get(version_path(target) + "/provenance")
    lines = [f"{target}  build fields: {data['build_fields']}"]
    lines += [summary(a) for a in data["attestations"]]
    ctx.output.emit(data, text="\n".join(lines))


@provenance.group("key")
def key_group() -> None:
    """The Ed25519 keys a group trusts to sign its build attestations."""


@key_group.command("add")
@click.argument("group")
@click.option("--name", required=True, help="What the key is (e.g. the pipeline's name).")
@click.option("--public", required=True, help="The public key, ed25519:<base64>.")
@pass_context
def key_add(ctx: Context, group: str, name: str, public: str) -> None:
    """Trust a public key to sign GROUP's build attestations (its software managers)."""
    info = ctx.api().json(
        "POST", f"/api/v1/groups/{seg(group)}/provenance-keys", {"name": name, "public": public}
    )
    ctx.output.emit(info, text=f"{group} trusts {info['name']} ({info['keyid']})")


@key_group.command("list")
@click.argument("group")
@pass_context
def key_list(ctx: Context, group: str) -> None:
    """List the keys GROUP trusts for build attestations."""
    keys = ctx.api().get(f"/api/v1/groups/{seg(group)}/provenance-keys")["keys"]
    table = Table("name", "keyid", "public", "added by")
    for k in keys:
        table.add_row(k["name"], k["keyid"], k["public"], k["created_by"])
    ctx.output.emit(keys, table if keys else None, f"{group} trusts no provenance key.")


@key_group.command("remove")
@click.argument("group")
@click.argument("keyid")
@pass_context
def key_remove(ctx: Context, group: str, keyid: str) -> None:
    """Stop trusting key KEYID for GROUP's new attestations."""
    info = ctx.api().json("DELETE", f"/api/v1/groups/{seg(group)}/provenance-keys/{seg(keyid)}")
    ctx.output.emit(info, text=f"{group} no longer trusts {info['name']} ({info['keyid']})")
