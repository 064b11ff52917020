"""``depot login``, ``logout``, ``whoami``, ``passwd``."""

from __future__ import annotations

import socket
import sys

import click

from client.api import Api
from client.config import Profile, load_profiles, save_profiles
from client.context import Context, pass_context
from client.credentials import origin, token_store
from client.errors import ClientError, Exit, InputError
from policies.decisions import with_article

#: ``--oidc-token -`` reads the token from standard input.
STDIN = "-"


def read_secret(prompt: str, from_stdin: bool, confirm: bool = False) -> str:
    """A password from standard input (scripts) or a hidden prompt (people)."""
    if from_stdin:
        value = sys.stdin.readline().rstrip("\r\n")
        if not value:
            raise InputError("no password on standard input")
        return value
    if not sys.stdin.isatty():
        raise InputError(
            f"{prompt.lower()} is needed and there is no terminal to ask for it",
            hint="pass --password-stdin and send it on standard input",
        )
    secret: str = click.prompt(prompt, hide_input=True, confirmation_prompt=confirm, err=True)
    return secret


def ask(prompt: str, option: str) -> str:
    """A value typed at the terminal; with no terminal (a pipeline), exit 2 naming the
    option that gives it instead of waiting for input or printing click's "Aborted!"."""
    if not sys.stdin.isatty():
        raise InputError(
            f"{prompt.lower()} is needed and there is no terminal to ask for it",
            hint=f"pass {option}",
        )
    value: str = click.prompt(prompt, err=True)
    return value


@click.command()
@click.option("--server", "server", help="Server URL, e.g. http://127.0.0.1:8080 (remembered).")
@click.option("--user", "-u", "username", help="Your user name (default: the last one used).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option(
    "--oidc-token",
    envvar="DEPOT_OIDC_TOKEN",
    help="A CI pipeline's OIDC ID token ('-': from standard input) to exchange for an upload "
    "token of minutes (DEPOT_OIDC_TOKEN).",
)
@pass_context
def login(
    ctx: Context,
    server: str | None,
    username: str | None,
    password_stdin: bool,
    oidc_token: str | None,
) -> None:
    """Sign in; the token is kept for this server only (OS keyring, else a 0600 file).

    Each profile (`depot --profile NAME login ...`) remembers one server and user name.
    In a pipeline, `--oidc-token` exchanges the CI system's ID token for a short-lived
    upload token of the group that trusts it.
    """
    config = ctx.config
    server = server or ctx.server_option or config.server
    if not server:
        raise InputError("which server?", hint="depot login --server http://HOST:8080")
    if oidc_token:
        _oidc_login(ctx, server, oidc_token)
        return
    if not username:
        username = config.username or ask("User name", "--user NAME")
    password = read_secret("Password", password_stdin)
    api = Api(server)
    answer = api.json(
        "POST",
        "/api/v1/auth/login",
        {
            "username": username,
            "password": password,
            "client": f"depot CLI on {socket.gethostname()}"[:100],
        },
    )
    profiles = load_profiles(ctx.directory)
    profiles[config.profile] = Profile(api.server, username)
    path = save_profiles(profiles, ctx.directory)
    store = token_store(ctx.directory)
    store.put(config.profile, origin(api.server), answer["token"])
    ctx.forget()
    # The account may have another name than the one signed in with: a newcomer under a
    # departed person's directory name gets an account of their own (docs/ldap.md).
    account = str(answer.get("owner") or username)
    ctx.output.emit(
        {
            "server": api.server,
            "username": account,
            "expires_at": answer["expires_at"],
            "config": str(path),
            "profile": config.profile,
            "credentials": store.location,
        },
        text=f"Signed in to {api.server} as {account} (token valid until {answer['expires_at']}).",
    )


@click.command()
@pass_context
def logout(ctx: Context) -> None:
    """Revoke your sign-in token and forget it."""
    config = ctx.config
    if config.token:
        try:
            ctx.api().json("POST", "/api/v1/auth/logout")
        except ClientError as error:
            if error.exit_code != Exit.AUTH:
                raise
    if config.server:
        token_store(ctx.directory).delete(config.profile, origin(config.server))
    ctx.forget()
    ctx.output.emit({"signed_out": True}, text="Signed out.")


@click.command()
@pass_context
def whoami(ctx: Context) -> None:
    """Show who you are signed in as, your roles and groups."""
    me = ctx.api().get("/api/v1/auth/whoami")
    lines = [f"{me['username']} at {ctx.config.server}"]
    if me["roles"]:
        lines.append(f"roles: {', '.join(me['roles'])}")
    for role, whom in (me.get("stands_in_for") or {}).items():
        lines.append(f"stands in for {whom} as {role.replace('_', ' ')}")
    for group, roles in me["groups"].items():
        lines.append(f"group {group}: {', '.join(roles)}")
    token = me.get("token") or {}
    if token.get("group"):
        lines.append(f"using {with_article(token['scope'])} token for group {token['group']}")
    ctx.output.emit(me, text="\n".join(lines))


@click.command()
@click.option("--password-stdin", is_flag=True, help="Read current and new password, one per line.")
@pass_context
def passwd(ctx: Context, password_stdin: bool) -> None:
    """Change your password."""
    current = read_secret("Current password", password_stdin)
    new = read_secret("New password", password_stdin, confirm=not password_stdin)
    ctx.api().json(
        "PUT", "/api/v1/auth/password", {"current_password": current, "new_password": new}
    )
    ctx.output.emit({"changed": True}, text="Password changed.")


def _oidc_login(ctx: Context, server: str, oidc_token: str) -> None:
    if oidc_token == STDIN:
        oidc_token = sys.stdin.readline().strip()
        if not oidc_token:
            raise InputError("no OIDC token on standard input")
    api = Api(server)
    answer = api.json("POST", "/api/v1/oidc/exchange", {"token": oidc_token.strip()})
    profile = ctx.config.profile
    profiles = load_profiles(ctx.directory)
    profiles[profile] = Profile(api.server, "")
    save_profiles(profiles, ctx.directory)
    store = token_store(ctx.directory)
    store.put(profile, origin(api.server), answer["token"])
    ctx.forget()
    ctx.output.emit(
        {
            "server": api.server,
            "group": answer["group"],
            "scope": answer["scope"],
            "id": answer["id"],
            "expires_at": answer["expires_at"],
            "profile": profile,
            "credentials": store.location,
        },
        text=(
            f"Signed in to {api.server} with an {answer['scope']} token for group "
            f"{answer['group']} (valid until {answer['expires_at']})."
        ),
    )
