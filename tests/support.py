"""Helpers for tests that run a Depot app: databases, apps and a small API caller."""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from repo_server.api.contract import dump
from repo_server.api.schemas.audit import AuditEvent
from repo_server.app import create_app
from repo_server.auth.principal import system
from repo_server.clock import FrozenClock
from repo_server.core import Depot
from repo_server.db import Database
from repo_server.migrate import upgrade
from repo_server.settings import Settings, load_settings

# Tests make many accounts; a lower scrypt cost keeps them fast. The production default
# (2**15) is checked in tests/repo_server/test_auth.py.
TEST_SCRYPT_N = 1 << 10
PASSWORD = "correct horse battery staple"


class DatabaseTemplates:
    """Migrated empty databases, copied for each test (much faster than migrating each time)."""

    def __init__(self, tmp: Path, postgres_admin_url: str | None) -> None:
        self.tmp = tmp
        self.postgres_admin_url = postgres_admin_url
        self._sqlite: Path | None = None
        self._pg_template: str | None = None

    def sqlite(self, folder: Path) -> str:
        if self._sqlite is None:
            self._sqlite = self.tmp / "template.sqlite3"
            db = Database(f"sqlite:///{self._sqlite}")
            upgrade(db)
            db.dispose()
        target = folder / "depot.sqlite3"
        shutil.copy(self._sqlite, target)
        return f"sqlite:///{target}"

    def postgres(self) -> str:
        assert self.postgres_admin_url
        admin = sa.create_engine(self.postgres_admin_url, isolation_level="AUTOCOMMIT")
        base = self.postgres_admin_url.rsplit("/", 1)[0]
        if self._pg_template is None:
            self._pg_template = f"depot_tpl_{uuid.uuid4().hex[:10]}"
            with admin.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{self._pg_template}"'))
            db = Database(f"{base}/{self._pg_template}")
            upgrade(db)
            db.dispose()
        name = f"depot_t_{uuid.uuid4().hex[:10]}"
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{self._pg_template}"'))
        admin.dispose()
        return f"{base}/{name}"

    def drop(self, url: str) -> None:
        if not url.startswith("postgresql"):
            return
        assert self.postgres_admin_url
        admin = sa.create_engine(self.postgres_admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
        admin.dispose()

    def close(self) -> None:
        if self._pg_template:
            self.drop(f"{self.postgres_admin_url.rsplit('/', 1)[0]}/{self._pg_template}")  # type: ignore[union-attr]


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

    def __post_init__(self) -> None:
        self.client = self.app.test_client()

    @property
    def depot(self) -> Depot:
        found: Depot = self.app.extensions["depot"]
        return found

    # -- setting up ------------------------------------------------------------------

    def user(self, name: str, *, roles: tuple[str, ...] = (), password: str = PASSWORD) -> str:
        """Create a local account and sign it in; return its token."""
        self.depot.accounts.create_user(system(), name, password, roles=roles)
        return self.login(name, password)

    def login(self, name: str, password: str = PASSWORD) -> str:
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
        body = {"name": name, "category": "application", "origin": origin, "vendor": vendor}
        response = self.call("POST", f"/api/v1/groups/{group}/products", token, json=body)
        assert response.status_code == 201, response.json

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
            for e in self.depot.audit.search(sys_principal(), limit=1000, **filters)
        ]  # type: ignore[arg-type]


@contextmanager
def running_world(settings: Settings, clock: FrozenClock) -> Iterator[World]:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    app = create_app(settings, clock=clock)
    world = World(app, clock)
    # Keyring 1, signed by one root key the test keeps (as an operator would, offline).
    world.root_keys = [Ed25519PrivateKey.generate()]
    with world.depot.db.write() as session:
        world.depot.keys.create(session, world.root_keys, 1, clock.now())
    try:
        yield world
    finally:
        world.depot.close()


def body(response: TestResponse) -> dict[str, Any]:
    return json.loads(response.data)
