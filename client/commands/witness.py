"""``depot witness`` (run a witness of a server's log) and ``depot trust witness`` (pin
witnesses and require their cosignatures); see docs/trust.md "Witnesses"."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from client.api import Api
from client.context import Context, pass_context
from client.errors import ClientError, Exit, InputError
from client.trust import TrustStore
from client.witness import WitnessFolder, WitnessPolicy
from policies.trust.dsse import Envelope
from policies.trust.errors import TrustError
from policies.trust.note import COSIGNATURE_V1, VerifierKey

_FOLDER = click.argument("folder", type=click.Path(file_okay=False, path_type=Path))


@click.group()
def witness() -> None:
    """Witness a server's log from outside it: keep its checkpoints, check that each new
    one extends the last, cosign it (tlog-cosignature/v1) and post the cosignature back."""


@witness.command("init")
@_FOLDER
@click.option("--name", required=True, help="The witness's key name, e.g. audit.bank.example/w1.")
@click.option(
    "--root-fingerprint",
    required=True,
    help="The server's root fingerprint, from its administrators (never from the server).",
)
@pass_context
def witness_init(ctx: Context, folder: Path, name: str, root_fingerprint: str) -> None:
    """Create a witness in FOLDER for the configured server: a new key, the pinned root.

    Prints the witness's verifier key, which clients pin with `depot trust witness add`.
    Set DEPOT_WITNESS_PASSPHRASE to encrypt the key.
    """
    api = ctx.api(signed_in=False)
    state = WitnessFolder(folder)
    store = TrustStore(folder / "trust", api.server)
    now = datetime.now(UTC)
    first = Envelope.from_json(api.get("/api/v1/trust/keyring/1"))
    vkey = state.create(name, api.server)
    store.pin(first, root_fingerprint.strip().lower(), now)
    store.refresh_keyring(api, now)
    ctx.output.emit(
        {"folder": str(folder), "name": name, "vkey": vkey.text(), "server": api.server},
        text=f"witness {name} of {api.server} in {folder}\nverifier key: {vkey.text()}",
    )


@witness.command("run")
@_FOLDER
@pass_context
def witness_run(ctx: Context, folder: Path) -> None:
    """Fetch the newest checkpoint, check it extends the last one kept, cosign, post.

    Exit code 6 (and nothing cosigned) when the log's signature or its consistency with
    the checkpoints this witness kept does not hold: raise the alarm.
    """
    state = WitnessFolder(folder)
    server = state.config["server"]
    api = ctx.api()
    if api.server != server:
        raise InputError(
            f"this witness watches {server}, the configured server is {api.server}",
            hint=f"run it with --server {server}",
        )
    done = state.run(api)
    before = done["previous_size"]
    ctx.output.emit(
        done,
        text=(
            f"cosigned the checkpoint of {done['size']} entries"
            + (f" (consistent with {before})" if before is not None else " (first one)")
        ),
    )


@witness.command("show")
@_FOLDER
@pass_context
def witness_show(ctx: Context, folder: Path) -> None:
    """The witness's name, verifier key, server and newest checkpoint kept."""
    state = WitnessFolder(folder)
    latest = state.latest()
    data = {
        "name": state.config["name"],
        "server": state.config["server"],
        "vkey": state.vkey().text(),
        "size": latest.size if latest else None,
    }
    ctx.output.emit(data, text="\n".join(f"{k}: {v}" for k, v in data.items()))


# -- the client side: pinned witnesses ---------------------------------------------------------


@click.group("witness")
def trust_witness() -> None:
    """The witnesses this client pins for the configured server, and how many must cosign."""


def _store(ctx: Context) -> TrustStore:
    store = TrustStore.for_server(Api(ctx.config.server).server)
    store.require()
    return store


def _show(ctx: Context, policy: WitnessPolicy) -> None:
    data = {"required": policy.required, "witnesses": [w.text() for w in policy.witnesses]}
    lines = [f"{policy.required} of {len(policy.witnesses)} pinned witness(es) must cosign"]
    ctx.output.emit(data, text="\n".join([*lines, *(w.text() for w in policy.witnesses)]))


@trust_witness.command("add")
@click.argument("vkey")
@pass_context
def trust_witness_add(ctx: Context, vkey: str) -> None:
    """Pin a witness by its verifier key (from its operator, out of band)."""
    try:
        key = VerifierKey.parse(vkey, COSIGNATURE_V1)
    except TrustError as error:
        raise InputError(f"not a witness verifier key: {error}") from None
    store = _store(ctx)
    policy = WitnessPolicy.load(store)
    if any(w.name == key.name for w in policy.witnesses):
        raise ClientError(f"a witness named {key.name} is already pinned", Exit.CONFLICT)
    policy = WitnessPolicy((*policy.witnesses, key), policy.required)
    policy.save(store)
    _show(ctx, policy)


@trust_witness.command("remove")
@click.argument("name")
@pass_context
def trust_witness_remove(ctx: Context, name: str) -> None:
    """Unpin the witness NAME (the number required must still be reachable)."""
    store = _store(ctx)
    policy = WitnessPolicy.load(store)
    kept = tuple(w for w in policy.witnesses if w.name != name)
    if len(kept) == len(policy.witnesses):
        raise ClientError(f"no witness named {name} is pinned", Exit.NOT_FOUND)
    policy = WitnessPolicy(kept, policy.required)
    policy.save(store)
    _show(ctx, policy)


@trust_witness.command("require")
@click.argument("count", type=click.IntRange(0, 32))
@pass_context
def trust_witness_require(ctx: Context, count: int) -> None:
    """Accept only checkpoints cosigned by COUNT of the pinned witnesses (0: none)."""
    store = _store(ctx)
    policy = WitnessPolicy(WitnessPolicy.load(store).witnesses, count)
    policy.save(store)
    _show(ctx, policy)


@trust_witness.command("list")
@pass_context
def trust_witness_list(ctx: Context) -> None:
    """The pinned witnesses and how many must cosign."""
    _show(ctx, WitnessPolicy.load(_store(ctx)))
