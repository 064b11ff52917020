"""The directory client: python-ldap against one or more servers.

Used by :mod:`repo_server.auth.ldap.sync` at sign-in, for re-checks and for full
synchronisation, and by ``depot-server ldap test``. Every connection is new (sign-ins and
re-checks are rare, and python-ldap connections are not shared between threads), uses
LDAPv3, no referrals, a network and an operation timeout, and TLS with the certificate
checked (StartTLS on ``ldap://``, or ``ldaps://``). Servers are tried in order, starting
with the one that answered last; a server that stops answering during an operation
makes the operation start again on the next one.

Every value put into a filter is escaped (:func:`ldap.filter.escape_filter_chars`), and
every value put into a DN too (:func:`ldap.dn.escape_dn_chars`).

Every subtree search is a paged search (RFC 2696 Simple Paged Results, ``ldap_page_size``
entries a page), so a directory with a size limit smaller than the answer (OpenLDAP's
``olcSizeLimit``, Active Directory's ``MaxPageSize``) still gives every entry. The control
is not critical: a server without it answers as before.

A person's entry carries a permanent id (``ldap_id_attribute``: ``entryUUID``,
``objectGUID``), the id the account is bound to (:attr:`DirectoryPerson.entry_id`).
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import ldap
import ldap.dn
import ldap.filter
from ldap.controls import SimplePagedResultsControl

from repo_server.auth.ldap.config import LdapConfig
from repo_server.auth.ldap.dn import BadDN, normalize_dn
from repo_server.auth.ldap.errors import DirectoryUnavailable, SignInRefused

log = logging.getLogger("depot.ldap")
T = TypeVar("T")

#: Errors that mean "this server cannot be used now": try the next one.
_DOWN: tuple[type[Exception], ...] = (ldap.SERVER_DOWN, ldap.TIMEOUT, ldap.CONNECT_ERROR)
#: Bind results that mean "these credentials do not sign in".
_REFUSED: tuple[type[Exception], ...] = (
    ldap.INVALID_CREDENTIALS,
    ldap.UNWILLING_TO_PERFORM,
    ldap.INAPPROPRIATE_AUTH,
    ldap.INVALID_DN_SYNTAX,
)
#: Largest number of DNs asked about in one group search.
_BATCH = 50


@dataclass(frozen=True)
class DirectoryPerson:
    """A person's entry as Depot uses it."""

    dn: str
    #: The sign-in name, lower-cased: the Depot user name.
    username: str
    #: The sign-in name as the directory spells it (``memberUid`` values match it exactly).
    name_in_directory: str
    display_name: str
    email: str
    disabled: bool
    #: The entry's permanent id (``ldap_id_attribute``), as :func:`entry_id` writes it;
    #: ``""`` when the entry has none (it cannot sign in then).
    entry_id: str = ""


@dataclass(frozen=True)
class ServerCheck:
    """How one server answered ``depot-server ldap test``."""

    url: str
    ok: bool
    detail: str


def describe(error: BaseException) -> str:
    """A python-ldap error as one line: its description and the server's extra info."""
    info = error.args[0] if error.args and isinstance(error.args[0], dict) else {}
    text = str(info.get("desc") or type(error).__name__)
    extra = str(info.get("info") or "").strip()
    return f"{text} ({extra})" if extra and extra != text else text


def entry_id(attribute: str, values: list[bytes]) -> str:
    """A permanent id as stored on the account: a UUID in its canonical lower-case form
    (``entryUUID``; ``objectGUID``'s 16 bytes read as Windows writes a GUID), other text
    as it is, other bytes as ``hex:`` and their hex digits. ``""`` without a value."""
    if not values:
        return ""
    raw = values[0]
    if attribute.lower() == "objectguid" and len(raw) == 16:
        return str(uuid.UUID(bytes_le=raw))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "hex:" + raw.hex()
    if not text.isprintable():
        return "hex:" + raw.hex()
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return text


def _escaped_bytes(raw: bytes) -> str:
    return "".join(f"\\{byte:02x}" for byte in raw)


def entry_id_filter(attribute: str, value: str) -> str:
    """The filter term ``(attribute=value)`` finding the entry whose :func:`entry_id` is
    ``value``, the value escaped (bytes as ``\\hh``)."""
    raw: bytes | None = None
    if attribute.lower() == "objectguid":
        with contextlib.suppress(ValueError):
            raw = uuid.UUID(value).bytes_le
    if raw is None and value.startswith("hex:"):
        with contextlib.suppress(ValueError):
            raw = bytes.fromhex(value[4:])
    if raw is not None:
        return f"({attribute}={_escaped_bytes(raw)})"
    return f"({attribute}={ldap.filter.escape_filter_chars(value)})"


def _text(value: bytes) -> str:
    return value.decode("utf-8", "replace")


def _first(attrs: dict[str, list[bytes]], name: str) -> str:
    values = attrs.get(name.lower()) or []
    return _text(values[0]) if values else ""


class DirectorySession:
    """One connection to one server, bound as the service account (or anonymously)."""

    def __init__(self, directory: Directory, conn: Any, url: str) -> None:
        self.directory = directory
        self.config = directory.config
        self.conn = conn
        self.url = url

    # -- reading ---------------------------------------------------------------------

    def search(
        self, base: str, scope: int, ldap_filter: str, attrs: list[str], *, sizelimit: int = 0
    ) -> list[tuple[str, dict[str, list[bytes]]]]:
        """Entries under ``base`` matching ``ldap_filter``; attribute names lower-cased.

        A base-scope read of an entry that does not exist gives ``[]``; a search under a
        base that does not exist, or one the server refuses, is
        :class:`DirectoryUnavailable` (the settings need fixing).
        """
        try:
            if scope == ldap.SCOPE_BASE:
                found = self.conn.search_ext_s(
                    base, scope, ldap_filter, attrlist=attrs, sizelimit=sizelimit
                )
            else:
                found = self._paged(base, scope, ldap_filter, attrs, sizelimit)
        except ldap.NO_SUCH_OBJECT:
            if scope == ldap.SCOPE_BASE:
                return []
            raise DirectoryUnavailable(
                f"{self.url}: the search base {base!r} does not exist"
            ) from None
        except ldap.SIZELIMIT_EXCEEDED:
            raise
        except _DOWN:
            raise
        except ldap.LDAPError as error:
            raise DirectoryUnavailable(
                f"{self.url}: search for {ldap_filter} under {base!r} failed: {describe(error)}"
            ) from None
        return [
            (dn, {key.lower(): values for key, values in entry.items()})
            for dn, entry in found
            if dn is not None  # search references
        ]

    def _paged(
        self, base: str, scope: int, ldap_filter: str, attrs: list[str], sizelimit: int
    ) -> list[tuple[str | None, dict[str, list[bytes]]]]:
        """Every entry of a search, ``ldap_page_size`` at a time (RFC 2696)."""
        control = SimplePagedResultsControl(False, size=self.config.page_size, cookie=b"")
        found: list[tuple[str | None, dict[str, list[bytes]]]] = []
        while True:
            msgid = self.conn.search_ext(
                base, scope, ldap_filter, attrlist=attrs, serverctrls=[control], sizelimit=sizelimit
            )
            _, page, _, controls = self.conn.result3(msgid)
            found.extend(page)
            cookie = next(
                (
                    c.cookie
                    for c in controls or ()
                    if c.controlType == SimplePagedResultsControl.controlType
                ),
                b"",
            )
            if not cookie:
                return found
            control.cookie = cookie

    def _person(self, dn: str, attrs: dict[str, list[bytes]], wanted: str = "") -> DirectoryPerson:
        names = [_text(v) for v in attrs.get(self.config.username_attribute.lower(), [])]
        # With several values, the one the person typed (at sign-in) is their name.
        name = next((n for n in names if wanted and n.lower() == wanted.lower()), "")
        name = name or (names[0] if names else "")
        disabled = False
        if self.config.disabled_filter:
            disabled = bool(self.search(dn, ldap.SCOPE_BASE, self.config.disabled_filter, ["1.1"]))
        return DirectoryPerson(
            dn=dn,
            username=name.lower(),
            name_in_directory=name,
            display_name=_first(attrs, "displayName") or _first(attrs, "cn"),
            email=_first(attrs, "mail"),
            disabled=disabled,
            entry_id=entry_id(
                self.config.id_attribute, attrs.get(self.config.id_attribute.lower(), [])
            ),
        )

    def _attrs(self) -> list[str]:
        # The id is an operational attribute: it is only returned when asked for.
        return [
            self.config.username_attribute,
            "displayName",
            "cn",
            "mail",
            self.config.id_attribute,
        ]

    def find(self, username: str) -> DirectoryPerson | None:
        """The person signing in as ``username``, or ``None``.

        Raises :class:`SignInRefused` when several entries have that name (a directory
        fault that must not let either of them in).
        """
        if self.config.user_dn_template:
            return self.read_person(self.user_dn(username), wanted=username)
        attribute = self.config.username_attribute
        ldap_filter = (
            f"(&{self.config.user_filter}({attribute}={ldap.filter.escape_filter_chars(username)}))"
        )
        try:
            found = self.search(
                self.config.user_base, ldap.SCOPE_SUBTREE, ldap_filter, self._attrs(), sizelimit=2
            )
        except ldap.SIZELIMIT_EXCEEDED:
            found = [("", {}), ("", {})]
        if len(found) > 1:
            log.warning(
                "%d directory entries have %s=%s: nobody signs in", len(found), attribute, username
            )
            raise SignInRefused(f"several directory entries have {attribute}={username}")
        if not found:
            return None
        dn, attrs = found[0]
        return self._person(dn, attrs, wanted=username)

    def find_by_id(self, entry_id: str, username: str, dn: str = "") -> DirectoryPerson | None:
        """The person whose entry has the permanent id ``entry_id`` (whatever its name or
        DN now), or ``None`` when no entry has it: the person is gone, even if a new entry
        has their name. With ``ldap_user_dn_template`` (no search base), the entry at
        ``dn`` (the account's last known DN; else ``username``'s), if its id is ``entry_id``.
        """
        if self.config.user_dn_template:
            person = self.read_person(dn or self.user_dn(username), wanted=username)
            return person if person is not None and person.entry_id == entry_id else None
        ldap_filter = (
            f"(&{self.config.user_filter}{entry_id_filter(self.config.id_attribute, entry_id)})"
        )
        try:
            found = self.search(
                self.config.user_base, ldap.SCOPE_SUBTREE, ldap_filter, self._attrs(), sizelimit=2
            )
        except ldap.SIZELIMIT_EXCEEDED:
            found = [("", {}), ("", {})]
        if len(found) != 1:
            if found:
                log.warning("%d directory entries have the id %s", len(found), entry_id)
            return None
        dn, attrs = found[0]
        person = self._person(dn, attrs, wanted=username)
        return person if person.username and person.entry_id == entry_id else None

    def read_person(self, dn: str, *, wanted: str = "") -> DirectoryPerson | None:
        """The person whose entry is ``dn``, or ``None`` if it is gone or not a person."""
        found = self.search(dn, ldap.SCOPE_BASE, self.config.user_filter, self._attrs())
        if not found:
            return None
        entry_dn, attrs = found[0]
        person = self._person(entry_dn, attrs, wanted=wanted)
        return person if person.username else None

    def user_dn(self, username: str) -> str:
        """The DN of ``ldap_user_dn_template`` for ``username``, its value escaped."""
        return self.config.user_dn_template.replace("{username}", ldap.dn.escape_dn_chars(username))

    # -- groups ----------------------------------------------------------------------

    def _groups_with_members(self, members: list[str]) -> list[str]:
        attribute = self.config.member_attribute
        found: list[str] = []
        for start in range(0, len(members), _BATCH):
            terms = "".join(
                f"({attribute}={ldap.filter.escape_filter_chars(member)})"
                for member in members[start : start + _BATCH]
            )
            ldap_filter = f"(&{self.config.group_filter}(|{terms}))"
            found.extend(
                dn
                for dn, _ in self.search(
                    self.config.group_base, ldap.SCOPE_SUBTREE, ldap_filter, ["1.1"]
                )
            )
        return found

    def groups_of(self, person: DirectoryPerson) -> frozenset[str]:
        """The normalized DNs of every group ``person`` is in, nested groups included.

        A group inside a group counts up to ``ldap_nesting_depth`` levels; a cycle of
        groups is followed once. ``memberUid`` groups list names, so they do not nest.
        """
        if self.config.member_is_name:
            return frozenset(
                normalize_dn(dn) for dn in self._groups_with_members([person.name_in_directory])
            )
        seen: set[str] = set()
        frontier = [person.dn]
        for _level in range(self.config.nesting_depth + 1):
            parents = []
            for dn in self._groups_with_members(frontier):
                key = normalize_dn(dn)
                if key not in seen:
                    seen.add(key)
                    parents.append(dn)
            frontier = parents
            if not frontier:
                break
        else:
            if self._groups_with_members(frontier):
                log.warning(
                    "groups of %s nest deeper than ldap_nesting_depth=%d; the deeper ones "
                    "do not count",
                    person.dn,
                    self.config.nesting_depth,
                )
        return frozenset(seen)

    def members_of(self, group_dn: str) -> list[bytes] | None:
        """The member values of one group, ``None`` when it is no group.

        Active Directory answers a group of more than ``MaxValRange`` members (1500) with
        the first of them as ``member;range=0-1499``; the rest are asked for range by
        range until one ends in ``*``.
        """
        attribute = self.config.member_attribute
        entries = self.search(group_dn, ldap.SCOPE_BASE, self.config.group_filter, [attribute])
        if not entries:
            return None
        attrs = entries[0][1]
        values = list(attrs.get(attribute.lower(), []))
        ranged = _ranged(attrs, attribute)
        while ranged is not None:
            end, part = ranged
            values.extend(part)
            if end == "*":
                break
            wanted = f"{attribute};range={int(end) + 1}-*"
            more = self.search(group_dn, ldap.SCOPE_BASE, "(objectClass=*)", [wanted])
            ranged = _ranged(more[0][1], attribute) if more else None
        return values

    def people_in(self, group_dns: Iterable[str]) -> dict[str, DirectoryPerson]:
        """Every enabled or disabled person in these groups or their nested groups, by
        normalized DN (used by the full synchronisation to find people who never signed in).
        """
        people: dict[str, DirectoryPerson] = {}
        seen: set[str] = set()
        pending = [(dn, 0) for dn in group_dns]
        attribute = self.config.member_attribute
        while pending:
            group_dn, depth = pending.pop()
            key = normalize_dn(group_dn)
            if key in seen:
                continue
            seen.add(key)
            members = self.members_of(group_dn)
            if members is None:
                continue
            for raw in members:
                value = _text(raw)
                if self.config.member_is_name:
                    try:
                        person = self.find(value)
                    except SignInRefused:
                        continue  # several entries with this name: nobody is chosen
                else:
                    # uniqueMember may carry an optional "#'0101'B" unique identifier.
                    value = value.split("#'", 1)[0] if attribute == "uniqueMember" else value
                    try:
                        member_key = normalize_dn(value)
                    except BadDN:
                        continue
                    if member_key in seen or member_key in people:
                        continue
                    person = self.read_person(value)
                    if person is None and depth < self.config.nesting_depth:
                        pending.append((value, depth + 1))
                        continue
                if person is not None:
                    people[normalize_dn(person.dn)] = person
        return people

    def group_exists(self, dn: str) -> bool:
        """True when ``dn`` is an entry matching ``ldap_group_filter``."""
        return bool(self.search(dn, ldap.SCOPE_BASE, self.config.group_filter, ["1.1"]))

    # -- binding as the person -----------------------------------------------------------

    def check_password(self, dn: str, password: str) -> DirectorySession:
        """A session on this server bound as ``dn`` with ``password``.

        Raises :class:`SignInRefused` for a wrong password, an unknown DN, or an empty
        password (an unauthenticated bind, which slapd answers with "unwilling to
        perform"; :meth:`Directory.authenticate` never sends one).
        """
        conn = self.directory.open(self.url)
        try:
            conn.simple_bind_s(dn, password)
        except _REFUSED as error:
            _unbind(conn)
            raise SignInRefused(f"the directory refused the password: {describe(error)}") from None
        except _DOWN:
            _unbind(conn)
            raise
        except ldap.LDAPError as error:
            _unbind(conn)
            raise DirectoryUnavailable(f"{self.url}: bind failed: {describe(error)}") from None
        return DirectorySession(self.directory, conn, self.url)


def _ranged(attrs: dict[str, list[bytes]], attribute: str) -> tuple[str, list[bytes]] | None:
    """``(end, values)`` of an ``attribute;range=start-end`` answer, or ``None``."""
    prefix = f"{attribute.lower()};range="
    for key, values in attrs.items():
        if key.startswith(prefix):
            return key[len(prefix) :].partition("-")[2], values
    return None


def _unbind(conn: Any) -> None:
    with contextlib.suppress(ldap.LDAPError):  # closing a connection that already broke
        conn.unbind_s()


def _untimed(outcome: str, seconds: float) -> None:
    """What a request is timed with when nothing records it (commands, tests)."""


def _uncounted(server: str) -> None:
    """What a server's failure is counted with when nothing counts (commands, tests)."""


class Directory:
    """The directory servers of ``ldap_url``."""

    def __init__(self, config: LdapConfig) -> None:
        self.config = config
        self._last_good = 0
        #: Told each request's outcome and seconds, and each server that did not answer
        #: (the metrics set them).
        self.timed: Callable[[str, float], None] = _untimed
        self.failed: Callable[[str], None] = _uncounted

    def open(self, url: str) -> Any:
        """A new, unbound connection to ``url`` (StartTLS done when configured)."""
        conn = ldap.initialize(url)
        conn.set_option(ldap.OPT_PROTOCOL_VERSION, ldap.VERSION3)
        conn.set_option(ldap.OPT_REFERRALS, 0)
        conn.set_option(ldap.OPT_NETWORK_TIMEOUT, self.config.timeout)
        conn.set_option(ldap.OPT_TIMEOUT, self.config.timeout)
        tls = self.config.starttls or url.lower().startswith("ldaps://")
        if tls:
            conn.set_option(ldap.OPT_X_TLS_REQUIRE_CERT, ldap.OPT_X_TLS_DEMAND)
            if self.config.ca_file:
                conn.set_option(ldap.OPT_X_TLS_CACERTFILE, self.config.ca_file)
            conn.set_option(ldap.OPT_X_TLS_NEWCTX, 0)  # must come after the other TLS options
        if self.config.starttls and url.lower().startswith("ldap://"):
            try:
                conn.start_tls_s()
            except BaseException:
                _unbind(conn)
                raise
        return conn

    def _order(self) -> list[str]:
        urls = list(self.config.urls)
        first = self._last_good % len(urls)
        return urls[first:] + urls[:first]

    def _connect(self, url: str) -> Any:
        """A connection to ``url`` bound as the service account (or anonymously)."""
        conn = self.open(url)
        try:
            conn.simple_bind_s(self.config.bind_dn, self.config.bind_password)
        except _DOWN:
            _unbind(conn)
            raise
        except ldap.LDAPError as error:
            _unbind(conn)
            who = (
                f"the service account {self.config.bind_dn!r}"
                if self.config.bind_dn
                else "an anonymous bind"
            )
            raise DirectoryUnavailable(f"{url}: {who} was refused: {describe(error)}") from None
        return conn

    def _remember(self, url: str) -> None:
        self._last_good = self.config.urls.index(url)

    def run(self, work: Callable[[DirectorySession], T]) -> T:
        """``work`` on a session with the first server that answers.

        If the server stops answering during ``work``, ``work`` starts again on the next
        one; :class:`DirectoryUnavailable` when none is left. ``work`` must only read
        (and bind), so running it twice does no harm. Timed, by outcome (``timed``).
        """
        started = time.perf_counter()
        outcome = "error"
        try:
            result = self._run(work)
            outcome = "ok"
            return result
        except SignInRefused:
            outcome = "refused"
            raise
        except DirectoryUnavailable:
            outcome = "unavailable"
            raise
        finally:
            self.timed(outcome, time.perf_counter() - started)

    def _run(self, work: Callable[[DirectorySession], T]) -> T:
        failures: list[str] = []
        for url in self._order():
            try:
                conn = self._connect(url)
            except _DOWN as error:
                log.warning("directory server %s is not answering: %s", url, describe(error))
                self.failed(url)
                failures.append(f"{url}: {describe(error)}")
                continue
            try:
                result = work(DirectorySession(self, conn, url))
            except _DOWN as error:
                log.warning("directory server %s stopped answering: %s", url, describe(error))
                self.failed(url)
                failures.append(f"{url}: {describe(error)}")
                continue
            finally:
                _unbind(conn)
            self._remember(url)
            return result
        raise DirectoryUnavailable("no directory server answered: " + "; ".join(failures))

    @contextmanager
    def session(self) -> Iterator[DirectorySession]:
        """A session for a long job (the full synchronisation) with the first server that
        answers; if it stops answering, the job stops with :class:`DirectoryUnavailable`."""
        failures: list[str] = []
        for url in self._order():
            try:
                conn = self._connect(url)
            except _DOWN as error:
                failures.append(f"{url}: {describe(error)}")
                continue
            self._remember(url)
            try:
                yield DirectorySession(self, conn, url)
            except _DOWN as error:
                raise DirectoryUnavailable(f"{url} stopped answering: {describe(error)}") from None
            finally:
                _unbind(conn)
            return
        raise DirectoryUnavailable("no directory server answered: " + "; ".join(failures))

    def authenticate(self, username: str, password: str) -> tuple[DirectoryPerson, frozenset[str]]:
        """Check ``username``'s password by binding as them; their entry and groups.

        Raises :class:`SignInRefused` (unknown, disabled, wrong or empty password: the
        reason is for the audit trail) or :class:`DirectoryUnavailable`.
        """
        if not password:
            raise SignInRefused("empty password")

        def attempt(session: DirectorySession) -> tuple[DirectoryPerson, frozenset[str]]:
            if self.config.user_dn_template:
                as_user = session.check_password(session.user_dn(username), password)
                try:
                    # Without a service account, the person reads their own entry and groups.
                    reader = session if self.config.bind_dn else as_user
                    person = reader.read_person(session.user_dn(username), wanted=username)
                    if person is None:
                        raise SignInRefused("the entry does not match ldap_user_filter")
                    if person.disabled:
                        raise SignInRefused("disabled in the directory")
                    return person, reader.groups_of(person)
                finally:
                    _unbind(as_user.conn)
            person = session.find(username)
            if person is None:
                raise SignInRefused("unknown user")
            if person.disabled:
                raise SignInRefused("disabled in the directory")
            _unbind(session.check_password(person.dn, password).conn)
            return person, session.groups_of(person)

        return self.run(attempt)

    def check(self) -> list[ServerCheck]:
        """Connect to every server in turn: TLS, the service account's bind, who it is."""
        checks = []
        for url in self.config.urls:
            try:
                conn = self._connect(url)
            except DirectoryUnavailable as error:
                checks.append(ServerCheck(url, False, str(error)))
                continue
            except _DOWN as error:
                checks.append(ServerCheck(url, False, describe(error)))
                continue
            try:
                who = conn.whoami_s() or "anonymous"
            except ldap.LDAPError as error:
                who = f"(whoami failed: {describe(error)})"
            finally:
                _unbind(conn)
            tls = (
                "StartTLS"
                if self.config.starttls and url.lower().startswith("ldap://")
                else ("TLS" if url.lower().startswith("ldaps://") else "no TLS")
            )
            checks.append(ServerCheck(url, True, f"{tls}, bound as {who}"))
        return checks
