"""What the pages and the API tell browsers and caches, and how long a page session
lasts (issue 13 §2), against a running server over HTTP and over TLS."""

from __future__ import annotations

import json
import re
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import urllib3
from flask import Flask
from werkzeug.serving import make_server

from repo_server.auth.principal import system
from repo_server.clock import FrozenClock
from tests.fixtures.servers import serve
from tests.ldap.directory import make_ca
from tests.support import PASSWORD, World, make_settings, running_world


class Browser:
    """A cookie jar over urllib3: what a browser would send and see."""

    def __init__(self, url: str, ca_file: str | None = None) -> None:
        self.url = url
        self.pool = urllib3.PoolManager(ca_certs=ca_file) if ca_file else urllib3.PoolManager()
        self.cookies: dict[str, str] = {}
        self.set_cookies: list[str] = []

    def open(
        self, method: str, path: str, headers: dict[str, str] | None = None, **kw: object
    ) -> urllib3.BaseHTTPResponse:
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        answer = self.pool.request(method, self.url + path, headers=sent, redirect=False, **kw)
        for cookie in answer.headers.getlist("Set-Cookie"):
            self.set_cookies.append(cookie)
            name, _, rest = cookie.partition("=")
            value = rest.split(";")[0]
            if value:
                self.cookies[name] = value
            else:
                self.cookies.pop(name, None)
        return answer

    def sign_in(
        self,
        username: str = "alice",
        headers: dict[str, str] | None = None,
        *,
        password: str = PASSWORD,
    ) -> urllib3.BaseHTTPResponse:
        form = self.open("GET", "/login", headers)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form.data.decode())
        assert token
        fields = {"csrf_token": token.group(1), "username": username, "password": password}
        # A browser names the page a form came from (Flask-WTF checks it over HTTPS).
        origin = self.url
        if (headers or {}).get("X-Forwarded-Proto") == "https":
            origin = origin.replace("http://", "https://")
        sent = {**(headers or {}), "Referer": origin + "/login"}
        answer = self.open("POST", "/login", sent, fields=fields, encode_multipart=False)
        assert answer.status == 302, answer.data.decode()
        return answer


@pytest.fixture
def site(tmp_path: Path, database_url: str, clock: FrozenClock) -> Iterator[tuple[World, str]]:
    with running_world(make_settings(tmp_path, database_url), clock) as world:
        world.depot.accounts.create_user(system(), "alice", PASSWORD)
        with serve(world.app) as url:
            yield world, url


def assert_hardened(answer: urllib3.BaseHTTPResponse) -> None:
    assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Referrer-Policy"] == "same-origin"


def test_pages_forbid_framing_and_signed_in_pages_are_never_stored(
    site: tuple[World, str],
) -> None:
    _, url = site
    browser = Browser(url)
    sign_in_page = browser.open("GET", "/login")
    assert_hardened(sign_in_page)
    assert "no-store" not in sign_in_page.headers.get("Cache-Control", "")
    browser.sign_in()
    inbox = browser.open("GET", "/inbox")
    assert inbox.status == 200
    assert_hardened(inbox)
    assert inbox.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert inbox.headers["Cache-Control"] == "no-store"
    # Plain HTTP: no HSTS, and a cookie a browser would also send over HTTP.
    assert "Strict-Transport-Security" not in inbox.headers
    assert not any("Secure" in c for c in browser.set_cookies)


def test_api_answers_with_a_token_are_never_stored(site: tuple[World, str]) -> None:
    _, url = site
    answer = urllib3.request(
        "POST",
        url + "/api/v1/auth/login",
        body=json.dumps({"username": "alice", "password": PASSWORD}),
        headers={"Content-Type": "application/json"},
    )
    assert answer.status == 201 and answer.json()["token"].startswith("depot_")
    assert answer.headers["Cache-Control"] == "no-store"
    assert_hardened(answer)
    assert "default-src 'none'" in answer.headers["Content-Security-Policy"]
    whoami = urllib3.request(
        "GET",
        url + "/api/v1/auth/whoami",
        headers={"Authorization": f"Bearer {answer.json()['token']}"},
    )
    assert whoami.status == 200 and whoami.headers["Cache-Control"] == "no-store"


def test_behind_a_trusted_tls_proxy_answers_carry_hsts_and_a_secure_cookie(
    tmp_path: Path, database_url: str, clock: FrozenClock
) -> None:
    settings = make_settings(tmp_path, database_url, trusted_proxies=1)
    https = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "10.0.0.7"}
    with running_world(settings, clock) as world, serve(world.app) as url:
        world.depot.accounts.create_user(system(), "alice", PASSWORD)
        browser = Browser(url)
        browser.sign_in(headers=https)
        inbox = browser.open("GET", "/inbox", https)
        assert inbox.status == 200
        assert inbox.headers["Strict-Transport-Security"].startswith("max-age=31536000")
        session_cookies = [c for c in browser.set_cookies if c.startswith("session=")]
        assert session_cookies and all("; Secure" in c for c in session_cookies)
        # Without the proxy's word the request was plain HTTP.
        assert "Strict-Transport-Security" not in browser.open("GET", "/inbox").headers


def test_a_forwarded_proto_from_an_untrusted_client_changes_nothing(
    site: tuple[World, str],
) -> None:
    _, url = site
    answer = urllib3.request("GET", url + "/login", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in answer.headers
    assert not any("Secure" in c for c in answer.headers.getlist("Set-Cookie"))


@contextmanager
def serve_tls(app: Flask, cert: Path, key: Path) -> Iterator[str]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = make_server("127.0.0.1", 0, app, threaded=True, ssl_context=context)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


def test_over_tls_answers_carry_hsts_and_a_secure_cookie(
    tmp_path: Path, database_url: str, clock: FrozenClock
) -> None:
    ca = make_ca(tmp_path / "ca")
    with (
        running_world(make_settings(tmp_path, database_url), clock) as world,
        serve_tls(world.app, ca.server_cert, ca.server_key) as url,
    ):
        world.depot.accounts.create_user(system(), "alice", PASSWORD)
        browser = Browser(url, str(ca.ca_file))
        browser.sign_in()
        inbox = browser.open("GET", "/inbox")
        assert inbox.status == 200
        assert inbox.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
        assert all("; Secure" in c for c in browser.set_cookies if c.startswith("session="))


def test_a_page_session_ends_after_the_idle_timeout(
    site: tuple[World, str], clock: FrozenClock
) -> None:
    world, url = site
    browser = Browser(url)
    browser.sign_in()
    clock.advance(seconds=world.depot.settings.session_idle_timeout - 1)
    assert browser.open("GET", "/inbox").status == 200
    clock.advance(seconds=world.depot.settings.session_idle_timeout)
    ended = browser.open("GET", "/inbox")
    assert ended.status == 302 and "/login" in ended.headers["Location"]
    page = browser.open("GET", ended.headers["Location"].removeprefix(url))
    assert "Your session has ended (nothing happened in it for 30 minutes)" in page.data.decode()
    # Signed out for good: the old cookie does not come back to life.
    assert browser.open("GET", "/inbox").status == 302


def test_a_page_session_ends_after_its_lifetime_even_when_busy(
    site: tuple[World, str], clock: FrozenClock
) -> None:
    world, url = site
    browser = Browser(url)
    browser.sign_in()
    for _ in range(world.depot.settings.session_lifetime // 1200 - 1):
        clock.advance(minutes=20)
        assert browser.open("GET", "/inbox").status == 200
    clock.advance(minutes=20)
    ended = browser.open("GET", "/inbox")
    assert ended.status == 302
    page = browser.open("GET", ended.headers["Location"].removeprefix(url))
    assert "sessions last at most 8 hours" in page.data.decode()
