"""Helpers for tests that run a Depot app: settings, a running app and a small API caller.

``DatabaseTemplates`` lives in tests/fixtures/databases.py and is re-exported here, as are
the factories (tests/fixtures/factories.py) through ``World``'s own shortcuts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from repo_server.api.contract import dump
from repo_server.api.schemas.audit import AuditEvent
from repo_server.app import create_app
from repo_server.auth.principal import system
from repo_server.clock import FrozenClock
from repo_server.core import Depot
from repo_server.settings import Settings, load_settings
from tests.fixtures.databases import DatabaseTemplates
from tests.fixtures.keys import first_keyring

__all__ = [
    "PASSWORD",
    "TEST_SCRYPT_N",
    "DatabaseTemplates",
    "World",
    "body",
    "make_settings",
    "running_world",
]

# Tests make many accounts and sign them in; the lowest scrypt cost keeps that cheap
# (0.1 ms a hash instead of 4 ms at 2**10). The production default (2**15) and hashing at
# 2**10 are checked in tests/repo_server/test_auth.py.
TEST_SCRYPT_N = 1 << 4
PASSWORD = "correct horse battery staple"


def make_settings(
    data_dir: Path, database_url: str, storage_url: str = "", **overrides: Any
) -> Settings:
    return load_settings(
        {},
        data_dir=data_dir,
        database_url=database_url,
        storage_url=storage_url or f"file://{data_dir}/blobs",
        scrypt_n=TEST_SCRYPT_N,
        **overrides,
    )


@dataclass
class World:
    """A running app plus shortcuts to set up people and groups and to call the API."""

    app: Flask
    clock: FrozenClock
    client: FlaskClient = field(init=False)
    tokens: dict[str, str] = field(default_factory=dict)
    #: The root keys that signed the server's first keyring.
    root_keys: list[Any] = field(default_factory=list)
    #: The enrolment officers' keys (offline, like the roots).
    enrollment_keys: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.client = self.app.test_client()

    @property
    def depot(self) -> Depot:
        found: Depot = self.app.extensions["depot"]
        return found

    # -- setting up ------------------------------------------------------------------

    def user(self, name: str, *, roles: tuple[str, ...] = (), password: str = PASSWORD) -> str:
        """Create a local account and sign it in; return its token.

        The sign-in goes through the service the login route calls (same token, same audit
        record, as from 127.0.0.1), not over HTTP: tests of signing in use ``login``."""
        self.depot.accounts.create_user(system(), name, password, roles=roles)
        return self.sign_in(name, password)

    def sign_in(self, name: str, password: str = PASSWORD) -> str:
        """A sign-in token for ``name``, issued by the auth service; kept in ``tokens``."""
        issued = self.depot.auth.login(name, password, "127.0.0.1")
        self.tokens[name] = issued.token
        return issued.token

    def login(self, name: str, password: str = PASSWORD) -> str:
        """Sign ``name`` in over HTTP (``POST /api/v1/auth/login``); return its token."""
        response = self.call(
            "POST", "/api/v1/auth/login", json={"username": name, "password": password}
        )
        assert response.status_code == 201, response.json
        self.tokens[name] = response.json["token"]
        return self.tokens[name]

    def group(self, name: str, members: dict[str, str | tuple[str, ...]] | None = None) -> None:
        """Create a group with members, e.g. ``{"bob": ("member", "software_manager")}``."""
        self.depot.groups.create(system(), name)
        for username, roles in (members or {}).items():
            for role in (roles,) if isinstance(roles, str) else roles:
                self.depot.groups.add_member(system(), name, username, role)

    def product(
        self,
        group: str,
        name: str,
        token: str,
        *,
        origin: str = "in_house",
        vendor: str | None = None,
    ) -> None:
        """Register product ``group/name`` as the holder of ``token``: the registration
        request it files is approved by a version manager (``approve_registration``), as
        in the library; the product is then ready for versions."""
        body = {"name": name, "category": "application", "origin": origin, "vendor": vendor}
        response = self.call("POST", f"/api/v1/groups/{group}/products", token, json=body)
        assert response.status_code == 201, response.json
        if response.json["registration"] == "pending":
            self.approve_registration(response.json["registration_request"])

    def approve_registration(self, request: int, comment: str = "registered") -> None:
        """Approve registration request ``request`` as the library's registrar, a version
        manager who filed nothing (through the decision service, as the route does)."""
        from policies.access import Actor, GlobalRole
        from repo_server.auth.principal import Principal

        registrar = Principal(
            None,
            "registrar",
            Actor("registrar", global_roles=frozenset({GlobalRole.VERSION_MANAGER})),
            "127.0.0.1",
        )
        decided = self.depot.decisions.decide(registrar, request, approve=True, comment=comment)
        assert decided.state == "approved", decided

    def version(self, group: str, product: str, version: str, token: str) -> None:
        response = self.call(
            "POST",
            f"/api/v1/groups/{group}/products/{product}/versions",
            token,
            json={"version": version},
        )
        assert response.status_code == 201, response.json

    # -- calling ---------------------------------------------------------------------

    def call(
        self,
        method: str,
        path: str,
        token: str | None = None,
        *,
        json: Any = None,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> TestResponse:
        all_headers = dict(headers or {})
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        return self.client.open(path, method=method, json=json, data=data, headers=all_headers)

    def upload(
        self,
        ref: str,
        name: str,
        data: bytes,
        token: str | None,
        *,
        sha256: str | None = None,
        role: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> TestResponse:
        import hashlib

        group, rest = ref.split("/", 1)
        product, version = rest.split("@", 1)
        all_headers = {"X-Checksum-Sha256": sha256 or hashlib.sha256(data).hexdigest()}
        all_headers.update(headers or {})
        path = f"/api/v1/groups/{group}/products/{product}/versions/{version}/files/{name}"
        if role:
            path += f"?role={role}"
        return self.call("PUT", path, token, data=data, headers=all_headers)

    def audit(self, **filters: str) -> list[dict[str, Any]]:
        from repo_server.auth.principal import system as sys_principal

        return [
            dump(AuditEvent, e)
            for e in self.depot.audit.search(sys_principal(), **filters).items  # type: ignore[arg-type]
        ]


def init_keys(world: World, depot: Any, clock: FrozenClock) -> None:
    """Keyring 1 and enrolment document 1, signed by a root key and an enrolment key the
    test keeps (as officers would, offline); the keyring is made once per process for the
    same settings and time, and copied (tests/fixtures/keys.py)."""
    world.root_keys, world.enrollment_keys = first_keyring(depot, clock.now())


@contextmanager
def running_world(settings: Settings, clock: FrozenClock) -> Iterator[World]:
    """An app for ``settings`` with its first keyring, closed when the block ends."""
    app = create_app(settings, clock=clock)
    world = World(app, clock)
    init_keys(world, world.depot, clock)
    try:
        yield world
    finally:
        world.depot.close()


def body(response: TestResponse) -> dict[str, Any]:
    return json.loads(response.data)


def refused_sign_ins(records: list[Any]) -> list[dict[str, Any]]:
    """The structured ``sign-in refused`` log lines among ``caplog.records`` (a failed
    sign-in is a log line, not an audit record: docs/security.md)."""
    return [
        dict(r.msg)
        for r in records
        if isinstance(r.msg, dict) and r.msg.get("event") == "sign-in refused"
    ]


def csrf(html: str) -> str:
    """The CSRF token of the (first) form on a page, as a browser would send it back."""
    found = re.search(r'name="csrf_token"[^>]*? value="([^"]+)"', html)
    assert found, html
    return found.group(1)
