"""Fixtures shared by every test package: real components started once per session.

- ``moto_endpoint``: moto's S3 server over real HTTP on 127.0.0.1 (in-process thread).
- ``postgres_url``: a fresh database on the PostgreSQL server at 127.0.0.1:5432.
- ``browser``: Debian's Chromium driven by Playwright (one per session: Playwright's sync
  API runs once per process), for tests/browser and the modules' pages in tests/plugins.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

# Dummy credentials for moto; nothing here ever talks to a real AWS endpoint.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "depot-test")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "depot-test")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

POSTGRES_ADMIN_URL = os.environ.get(
    "DEPOT_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """The URL of a moto S3 server (real HTTP, bound to 127.0.0.1)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_bucket(moto_endpoint: str) -> str:
    """A new, empty bucket on the moto server."""
    import boto3

    name = f"depot-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=moto_endpoint).create_bucket(Bucket=name)
    return name


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The admin URL of the PostgreSQL server the suite runs on (fails if it is down)."""
    import sqlalchemy as sa

    engine = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
    except sa.exc.OperationalError as error:
        pytest.fail(
            f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}: {error}. "
            "`make test` starts it; see docs/development.md."
        )
    finally:
        engine.dispose()
    return POSTGRES_ADMIN_URL


def create_postgres_database(admin_url: str) -> str:
    """Create an empty database and return its URL (dropped by ``drop_postgres_database``)."""
    import sqlalchemy as sa

    name = f"depot_test_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return admin_url.rsplit("/", 1)[0] + "/" + name


def drop_postgres_database(admin_url: str, url: str) -> None:
    """Drop a database made by ``create_postgres_database``."""
    import sqlalchemy as sa

    name = url.rsplit("/", 1)[1]
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


CHROMIUM = os.environ.get("DEPOT_TEST_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One Chromium for the whole session (`make test` installs the Debian package)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()
