"""The server's one typed settings object.

Built from, in order of precedence: ``DEPOT_*`` environment variables, then an optional
TOML file (``DEPOT_CONFIG`` or ``--config``), then the defaults below. Everything the
server needs is passed to ``create_app(settings)``; nothing is read from globals later.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from repo_server.i18n import zone

GiB = 1 << 30
MiB = 1 << 20


class SettingsError(ValueError):
    """A setting has a value the server cannot use."""


@dataclass(frozen=True)
class Settings:
    """Every setting of the server. See docs/configuration.md for each one."""

    #: Folder for the embedded default: SQLite file, blob folder, secret key.
    data_dir: Path = Path("data")
    #: SQLAlchemy URL; default ``sqlite:///<data_dir>/depot.sqlite3``.
    database_url: str = ""
    #: Blob store URL; default ``file://<data_dir>/blobs``.
    storage_url: str = ""
    #: Where ``depot-server run`` listens.
    host: str = "127.0.0.1"
    port: int = 8080
    #: Worker processes and threads per worker of the WSGI server.
    workers: int = 2
    threads: int = 8
    #: Seconds a request body may stall (no byte arriving) before the answer is a 408.
    body_timeout: int = 30
    #: Seconds a connection may take to send a request's headers before a 408 (or, when
    #: it sent nothing, being closed); idle and half-sent connections hold no thread.
    header_timeout: int = 20
    #: Open connections one node holds at most (shared by its workers); beyond it new
    #: connections wait in the listen queue.
    max_connections: int = 1000
    #: Largest file accepted in one upload, in bytes.
    max_upload_size: int = 10 * GiB
    #: Size of the parts of an upload session (resumable uploads), in bytes; at least 5 MiB
    #: (S3's smallest part). A session of a larger file gets larger parts (10,000 at most).
    upload_part_size: int = 32 * MiB
    #: Upload sessions idle this long (seconds) are removed by ``depot-server gc``.
    upload_session_age: int = 7 * 24 * 3600
    #: Largest JSON request body, in bytes.
    max_json_size: int = 1 * MiB
    #: Lifetime of the token ``depot login`` receives, in seconds.
    login_token_ttl: int = 7 * 24 * 3600
    #: Milliseconds a checked API token's principal is reused by one process (0: never,
    #: at most 1000). Revocation and disabling still take effect at the next request.
    token_cache_ms: int = 1000
    #: Longest lifetime a group (CI) token may be given, in days.
    max_token_days: int = 366
    #: Lifetime of the upload token a CI pipeline gets for its OIDC token, in minutes.
    oidc_token_minutes: int = 15
    #: Accept OIDC issuers on plain http:// (tests and development only; never in production).
    oidc_allow_http: bool = False
    #: How long an approved check-out allows downloads unless the request says otherwise.
    checkout_default_days: int = 7
    #: The longest check-out a request may ask for, in days.
    checkout_max_days: int = 90
    #: Mail relay for notifications (docs/operations.md, "Mail"); empty: no mail is sent.
    smtp_host: str = ""
    smtp_port: int = 25
    #: The sender of every notification, e.g. ``Depot <depot@bank.example>``.
    smtp_from: str = ""
    #: Upgrade the connection with STARTTLS (the relay's certificate is checked).
    smtp_starttls: bool = False
    #: CA certificate(s) the relay's certificate must chain to (PEM); empty: system CAs.
    smtp_ca_file: str = ""
    #: An account on the relay, if it wants one (prefer ``smtp_password_file``).
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_password_file: str = ""
    #: Seconds to wait for the relay before giving up on a mail (the request stands).
    smtp_timeout: int = 10
    #: A request waiting longer than this many hours is in the reminders of
    #: ``depot-server notify remind`` (run it from cron; one reminder a day at most).
    notify_remind_after_hours: int = 48
    #: The time zone of the pages' and mails' dates for people who set none (IANA name).
    time_zone: str = "UTC"
    #: Secret for signing browser sessions; default: generated once into the data folder.
    secret_key: str = ""
    #: The URL people use to reach the server (shown in messages); default from host/port.
    public_url: str = ""
    #: How many reverse proxies in front of the server set X-Forwarded-For (0: none).
    trusted_proxies: int = 0
    #: Local accounts (Depot passwords) may sign in. Off: only ``break_glass_accounts``.
    local_sign_in: bool = True
    #: Local accounts that may always sign in with their Depot password, comma-separated
    #: (emergency admins for when the directory is down or local sign-in is off).
    break_glass_accounts: str = ""
    #: Where the failed sign-in counters live, shared by every app node: ``memory://``
    #: (one process), ``redis://host:6379/0`` (several nodes; docs/security.md).
    sign_in_limits_storage: str = "memory://"
    #: Failed sign-ins of one account that lock it out for a while (`limits` notation).
    sign_in_account_limit: str = "5/15 minutes"
    #: Failed sign-ins from one address that lock it out for a while.
    sign_in_address_limit: str = "50/15 minutes"
    #: Failed binds as one person Depot sends the directory in ``ldap_failed_bind_window``
    #: seconds before it stops: below the directory's own lockout threshold (docs/ldap.md).
    ldap_max_failed_binds: int = 3
    ldap_failed_bind_window: int = 1800
    #: A page session ends this many seconds after sign-in, or after this many seconds
    #: without a request.
    session_lifetime: int = 8 * 3600
    session_idle_timeout: int = 30 * 60
    #: Directory servers, tried in order (``ldap://a ldap://b`` or ``ldaps://…``); empty: no
    #: directory sign-in. The remaining ``ldap_*`` settings are described in docs/ldap.md.
    ldap_url: str = ""
    #: Upgrade ``ldap://`` connections with StartTLS (certificate checked against the CA file).
    ldap_starttls: bool = False
    #: CA certificate(s) the directory's TLS certificate must chain to (PEM); empty: system CAs.
    ldap_ca_file: str = ""
    #: Service account for searches; empty: anonymous searches.
    ldap_bind_dn: str = ""
    #: Its password (prefer ``ldap_bind_password_file``, a file only Depot can read).
    ldap_bind_password: str = ""
    ldap_bind_password_file: str = ""
    #: Bind straight to this DN instead of searching, e.g. ``uid={username},ou=people,dc=x``.
    ldap_user_dn_template: str = ""
    #: Where people are searched, and which entries are people who may sign in.
    ldap_user_base: str = ""
    ldap_user_filter: str = "(objectClass=inetOrgPerson)"
    #: The attribute holding the sign-in name (``uid``; ``sAMAccountName`` on AD).
    ldap_username_attribute: str = "uid"
    #: People matching this filter are disabled, e.g. ``(employeeType=disabled)``.
    ldap_disabled_filter: str = ""
    #: Where groups are searched, and which entries are groups.
    ldap_group_base: str = ""
    ldap_group_filter: str = (
        "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=posixGroup))"
    )
    #: The group attribute listing members: ``member``, ``uniqueMember`` or ``memberUid``.
    ldap_member_attribute: str = "member"
    #: How many levels of groups inside groups count (0: direct membership only).
    ldap_nesting_depth: int = 5
    #: TOML file mapping directory groups to project groups, group roles and global roles.
    ldap_mapping_file: str = ""
    #: Seconds after which a directory account's groups are checked again on its next request.
    ldap_recheck_interval: int = 300
    #: Seconds to wait for one directory server before trying the next.
    ldap_timeout: int = 5
    #: The attribute holding an entry's permanent id, which an account is bound to
    #: (``entryUUID`` on OpenLDAP, ``objectGUID`` on Active Directory).
    ldap_id_attribute: str = "entryUUID"
    #: Entries per page of a paged search (RFC 2696): at most the directory's page limit.
    ldap_page_size: int = 500
    #: scrypt cost parameter for local passwords (a power of two).
    scrypt_n: int = 1 << 15
    #: Log level of the server.
    log_level: str = "info"
    #: ``text`` (the quick start: one readable line per event) or ``json`` (one JSON
    #: object per line: time, level, request id, user, route, status, bytes, duration).
    log_format: str = "text"
    #: A bearer token Prometheus sends to ``GET /metrics``; empty: addresses decide.
    metrics_token: str = ""
    #: Addresses or networks allowed to read ``GET /metrics`` without the token,
    #: comma-separated (CIDR); empty: none.
    metrics_allow: str = "127.0.0.1/32,::1/128"
    #: Folder of the online signing keys (release, status, log); default ``<data_dir>/keys``.
    keys_dir: str = ""
    #: Passphrase encrypting the online key files (empty: unencrypted, mode 0600).
    keys_passphrase: str = ""
    #: How long a keyring stays valid, in days; rotate before it runs out.
    keyring_days: int = 365
    #: How long a signed status document is valid, in seconds (clients refuse older ones).
    status_ttl: int = 900
    #: Plugins to enable, by entry-point name, comma-separated (``quality,product_service``).
    plugins: str = ""
    #: Each plugin's own settings, by plugin name: the ``[plugin.<name>]`` tables of the
    #: TOML file (TOML only; see docs/plugins.md for each plugin's keys).
    plugin: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: Modules the server may start without although quarantines they decided are active
    #: (comma-separated, ``quality``): the quarantines still hold, nobody can lift them,
    #: and the start is audited. Without it such a start is refused.
    allow_missing_plugins: str = ""
    #: How often a download in flight asks the plugins again whether the version may
    #: still be used, in seconds (a quarantine cuts it off); 0: before every chunk.
    download_recheck_seconds: int = 1

    @property
    def effective_database_url(self) -> str:
        """The database URL, with the embedded default filled in."""
        return self.database_url or f"sqlite:///{self.data_dir.absolute() / 'depot.sqlite3'}"

    @property
    def effective_storage_url(self) -> str:
        """The blob store URL, with the embedded default filled in."""
        return self.storage_url or f"file://{self.data_dir.absolute() / 'blobs'}"

    @property
    def metrics_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        """The networks of ``metrics_allow``."""
        return [
            ipaddress.ip_network(part.strip(), strict=False)
            for part in self.metrics_allow.split(",")
            if part.strip()
        ]

    @property
    def allowed_missing_plugins(self) -> list[str]:
        """The modules of ``allow_missing_plugins``."""
        return [n.strip() for n in self.allow_missing_plugins.split(",") if n.strip()]

    @property
    def plugin_names(self) -> list[str]:
        """The enabled plugins' names."""
        return [name.strip() for name in self.plugins.split(",") if name.strip()]

    @property
    def effective_keys_dir(self) -> Path:
        """The folder of the online signing keys."""
        return Path(self.keys_dir) if self.keys_dir else self.data_dir.absolute() / "keys"

    @property
    def effective_public_url(self) -> str:
        """The URL shown to people, with a default built from host and port."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    def with_secret_key(self) -> Settings:
        """These settings with ``secret_key`` filled in from the data folder if unset.

        The first call creates ``<data_dir>/secret_key`` (mode 0600), so browser
        sessions survive a restart and all worker processes share one key.
        """
        if self.secret_key:
            return self
        path = self.data_dir / "secret_key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
        return replace(self, secret_key=path.read_text().strip())


_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def _convert(name: str, kind: Any, raw: Any) -> Any:
    if str(kind).startswith("Mapping"):
        if not isinstance(raw, dict) or not all(isinstance(v, dict) for v in raw.values()):
            raise SettingsError(
                f"setting {name}: give it as TOML tables ([plugin.<name>]) in the config file"
            )
        return raw
    try:
        if kind in (bool, "bool"):
            if isinstance(raw, bool):
                return raw
            if isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
                return raw.strip().lower() in _TRUE
            raise TypeError
        if kind in (int, "int"):
            if isinstance(raw, str):
                return _parse_int(raw)
            if isinstance(raw, bool) or not isinstance(raw, int):
                raise TypeError
            return raw
        if kind in (Path, "Path"):
            return Path(str(raw))
        if not isinstance(raw, str):
            raise TypeError
        return raw
    except (TypeError, ValueError):
        raise SettingsError(f"setting {name}: invalid value {raw!r}") from None


def _parse_int(text: str) -> int:
    text = text.strip().replace("_", "")
    for suffix, factor in (("GiB", GiB), ("MiB", MiB), ("KiB", 1 << 10)):
        if text.endswith(suffix):
            return int(text[: -len(suffix)]) * factor
    return int(text)


def load_settings(
    environ: Mapping[str, str] | None = None,
    config_file: str | os.PathLike[str] | None = None,
    **overrides: Any,
) -> Settings:
    """Build :class:`Settings` from a TOML file, ``DEPOT_*`` variables and overrides.

    Raises :class:`SettingsError` naming the setting at fault.
    """
    environ = os.environ if environ is None else environ
    config_file = config_file or environ.get("DEPOT_CONFIG") or None
    values: dict[str, Any] = {}
    known = {f.name: f.type for f in fields(Settings)}
    if config_file:
        try:
            with open(config_file, "rb") as handle:
                document = tomllib.load(handle)
        except OSError as error:
            raise SettingsError(f"cannot read config file {config_file}: {error}") from error
        except tomllib.TOMLDecodeError as error:
            raise SettingsError(f"config file {config_file} is not valid TOML: {error}") from error
        table = dict(document.get("depot", document))
        if "depot" in document and "plugin" in document:
            # ``[plugin.<name>]`` tables may sit beside ``[depot]`` rather than inside it.
            table.setdefault("plugin", document["plugin"])
        for key, raw in table.items():
            if key not in known:
                raise SettingsError(f"unknown setting {key!r} in {config_file}")
            values[key] = _convert(key, known[key], raw)
    for key, kind in known.items():
        env_name = f"DEPOT_{key.upper()}"
        if env_name in environ:
            values[key] = _convert(env_name, kind, environ[env_name])
    for key, raw in overrides.items():
        if key not in known:
            raise SettingsError(f"unknown setting {key!r}")
        values[key] = raw
    settings = Settings(**values)
    _check(settings)
    return settings


def sign_in_limit(text: str, setting: str) -> tuple[int, int]:
    """``"5/15 minutes"`` (the notation of the `limits` package) as ``(5, 900)``: failures
    and the window in seconds; :class:`SettingsError` naming ``setting`` otherwise."""
    from limits import parse

    try:
        item = parse(text)
    except ValueError:
        raise SettingsError(
            f"{setting}: {text!r} is not a limit such as '5/15 minutes' or '30 per hour'"
        ) from None
    if item.amount < 1:
        raise SettingsError(f"{setting}: the limit must allow at least one failure")
    return item.amount, item.get_expiry()


def _check_sessions_and_limits(settings: Settings) -> None:
    sign_in_limit(settings.sign_in_account_limit, "sign_in_account_limit")
    sign_in_limit(settings.sign_in_address_limit, "sign_in_address_limit")
    if not settings.sign_in_limits_storage.startswith(("memory://", "redis://", "rediss://")):
        raise SettingsError(
            "sign_in_limits_storage must be memory:// or redis://host:port/db (rediss:// for TLS)"
        )
    if not 1 <= settings.ldap_max_failed_binds <= 100:
        raise SettingsError("ldap_max_failed_binds must be between 1 and 100")
    if not 60 <= settings.ldap_failed_bind_window <= 7 * 24 * 3600:
        raise SettingsError("ldap_failed_bind_window must be between 60 seconds and 7 days")
    if not 60 <= settings.session_idle_timeout <= settings.session_lifetime <= 7 * 24 * 3600:
        raise SettingsError(
            "session_idle_timeout and session_lifetime must be between 60 seconds and 7 days, "
            "the idle timeout no longer than the lifetime"
        )


def _check(settings: Settings) -> None:
    check_sign_in_settings(settings)
    _check_sessions_and_limits(settings)
    if settings.workers < 1 or settings.threads < 1:
        raise SettingsError("workers and threads must be at least 1")
    if not 0 <= settings.token_cache_ms <= 1000:
        raise SettingsError("token_cache_ms must be between 0 and 1000")
    if settings.body_timeout < 1:
        raise SettingsError("body_timeout must be at least 1 second")
    if settings.header_timeout < 1:
        raise SettingsError("header_timeout must be at least 1 second")
    if settings.max_connections < settings.workers * (settings.threads + 1):
        raise SettingsError("max_connections must be at least workers × (threads + 1)")
    if settings.max_upload_size < 1:
        raise SettingsError("max_upload_size must be positive")
    if settings.upload_part_size < 5 * MiB:
        raise SettingsError("upload_part_size must be at least 5 MiB")
    if settings.scrypt_n < 2 or settings.scrypt_n & (settings.scrypt_n - 1):
        raise SettingsError("scrypt_n must be a power of two")
    if settings.log_level.lower() not in ("debug", "info", "warning", "error"):
        raise SettingsError("log_level must be debug, info, warning or error")
    if settings.log_format not in ("text", "json"):
        raise SettingsError("log_format must be text or json")
    try:
        _ = settings.metrics_networks
    except ValueError as error:
        raise SettingsError(f"metrics_allow: {error}") from None
    if not 60 <= settings.status_ttl <= 24 * 3600:
        # A client refuses a status or library index valid for longer than a day
        # (policies.trust.library.MAX_LIFETIME): it would widen the freeze window.
        raise SettingsError("status_ttl must be between 60 seconds and 24 hours")
    if settings.keyring_days < 1:
        raise SettingsError("keyring_days must be at least 1")
    _check_mail(settings)
    try:
        zone(settings.time_zone)
    except ValueError as error:
        raise SettingsError(f"time_zone: {error}") from None


def _check_mail(settings: Settings) -> None:
    if not 1 <= settings.smtp_port <= 65535:
        raise SettingsError("smtp_port must be between 1 and 65535")
    if not 1 <= settings.smtp_timeout <= 300:
        raise SettingsError("smtp_timeout must be between 1 and 300 seconds")
    if not 1 <= settings.notify_remind_after_hours <= 90 * 24:
        raise SettingsError("notify_remind_after_hours must be between 1 and 2160 (90 days)")
    if settings.smtp_password and settings.smtp_password_file:
        raise SettingsError("set smtp_password or smtp_password_file, not both")
    if settings.smtp_host and "@" not in settings.smtp_from:
        raise SettingsError("smtp_host is set: set smtp_from to the sender's address")
    if (settings.smtp_password or settings.smtp_password_file) and not settings.smtp_user:
        raise SettingsError("an SMTP password is set but smtp_user is empty")


# -- the sign-in settings (local accounts, break-glass accounts, the directory) ----------

MEMBER_ATTRIBUTES = ("member", "uniqueMember", "memberUid")
_SCHEMES = ("ldap://", "ldaps://", "ldapi://")
_ATTRIBUTE = re.compile(r"^[A-Za-z][A-Za-z0-9-]*$")


def split_urls(text: str) -> tuple[str, ...]:
    """The server URIs of ``ldap_url`` (separated by spaces or commas), in order."""
    return tuple(part for part in re.split(r"[\s,]+", text.strip()) if part)


def break_glass_names(settings: Settings) -> frozenset[str]:
    """The user names of ``break_glass_accounts``, lower-cased."""
    return frozenset(
        name.strip().lower() for name in settings.break_glass_accounts.split(",") if name.strip()
    )


def _balanced(ldap_filter: str) -> bool:
    if not (ldap_filter.startswith("(") and ldap_filter.endswith(")")):
        return False
    depth = 0
    for char in ldap_filter.replace("\\(", "").replace("\\)", ""):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def check_sign_in_settings(settings: Settings) -> None:
    """Raise :class:`SettingsError` naming the first sign-in setting that cannot work.

    Called by :func:`load_settings`; touches no file and no network.
    """
    if not settings.local_sign_in and not settings.ldap_url:
        raise SettingsError(
            "local_sign_in is off but ldap_url is empty: nobody but the break-glass "
            "accounts could sign in; set ldap_url or turn local_sign_in on"
        )
    for name in break_glass_names(settings):
        if not re.fullmatch(r"[a-z0-9][a-z0-9._-]{0,63}", name):
            raise SettingsError(f"break_glass_accounts: {name!r} is not a user name")
    if not settings.ldap_url:
        return
    urls = split_urls(settings.ldap_url)
    for url in urls:
        if not url.lower().startswith(_SCHEMES):
            raise SettingsError(f"ldap_url: {url!r} must start with ldap://, ldaps:// or ldapi://")
    if settings.ldap_starttls and any(url.lower().startswith("ldaps://") for url in urls):
        raise SettingsError(
            "ldap_starttls is on but ldap_url has an ldaps:// server: use one or the other"
        )
    if settings.ldap_user_dn_template:
        if settings.ldap_user_dn_template.count("{username}") != 1 or re.search(
            r"\{(?!username\})", settings.ldap_user_dn_template
        ):
            raise SettingsError(
                "ldap_user_dn_template must hold {username} exactly once, e.g. "
                "uid={username},ou=people,dc=example,dc=org"
            )
    elif not settings.ldap_user_base:
        raise SettingsError(
            "ldap_url is set: set ldap_user_base (where people are searched) or "
            "ldap_user_dn_template (a direct bind)"
        )
    if not settings.ldap_group_base:
        raise SettingsError("ldap_url is set: set ldap_group_base (where groups are searched)")
    for name in ("ldap_user_filter", "ldap_group_filter", "ldap_disabled_filter"):
        value = getattr(settings, name)
        if (value or name != "ldap_disabled_filter") and not _balanced(value):
            raise SettingsError(f"{name}: {value!r} is not an LDAP filter in parentheses")
    if not _ATTRIBUTE.fullmatch(settings.ldap_username_attribute):
        raise SettingsError(
            f"ldap_username_attribute: {settings.ldap_username_attribute!r} is not an attribute"
        )
    if not _ATTRIBUTE.fullmatch(settings.ldap_id_attribute):
        raise SettingsError(
            f"ldap_id_attribute: {settings.ldap_id_attribute!r} is not an attribute"
        )
    if not 1 <= settings.ldap_page_size <= 100_000:
        raise SettingsError("ldap_page_size must be between 1 and 100000")
    if settings.ldap_member_attribute.lower() not in {a.lower() for a in MEMBER_ATTRIBUTES}:
        raise SettingsError(
            f"ldap_member_attribute must be one of {', '.join(MEMBER_ATTRIBUTES)}, "
            f"not {settings.ldap_member_attribute!r}"
        )
    if not 0 <= settings.ldap_nesting_depth <= 20:
        raise SettingsError("ldap_nesting_depth must be between 0 and 20")
    if not 0 <= settings.ldap_recheck_interval <= 24 * 3600:
        raise SettingsError("ldap_recheck_interval must be between 0 and 86400 seconds")
    if not 1 <= settings.ldap_timeout <= 120:
        raise SettingsError("ldap_timeout must be between 1 and 120 seconds")
    if settings.ldap_bind_password and settings.ldap_bind_password_file:
        raise SettingsError("set ldap_bind_password or ldap_bind_password_file, not both")
    if (settings.ldap_bind_password or settings.ldap_bind_password_file) and not (
        settings.ldap_bind_dn
    ):
        raise SettingsError("a bind password is set but ldap_bind_dn is empty")
