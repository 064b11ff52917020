"""Hostile input against a real server (issue 13 §5): every case is a clear 4xx that
changes nothing, never a 500 and never a silent accept, on folder+SQLite and on
S3+PostgreSQL; and what people typed is printed escaped by the `depot` command.

One server per backend for the whole module: every test makes names of its own.
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Server, serve
from tests.fixtures.helpers import http_json

pytestmark = pytest.mark.e2e
PASSWORD = "a long passphrase for everyone"
#: What people may type into free text that a terminal would obey.
HOSTILE = "ok\x1b[2J\x1b]0;pwned\x07\u202egnp.exe\u2066x\u2069\x9b31m [/] [bold]b"


@pytest.fixture(scope="module", params=["folder+sqlite", "s3+postgresql"])
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    yield from serve(request, tmp_path_factory.mktemp("hostile"), {})


def call(
    server: Server,
    method: str,
    path: str,
    body: Any = None,
    *,
    token: str = "",
    raw: bytes | None = None,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    """One request; its status and JSON answer (errors included)."""
    data = raw if raw is not None else None if body is None else json.dumps(body).encode()
    sent = urllib.request.Request(server.url + path, data=data, method=method)
    if data is not None:
        sent.add_header("Content-Type", content_type)
    if token:
        sent.add_header("Authorization", f"Bearer {token}")
    for name, value in (headers or {}).items():
        sent.add_header(name, value)
    try:
        with urllib.request.urlopen(sent, timeout=60) as answer:
            status, text = answer.status, answer.read()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read()
    try:
        return status, json.loads(text) if text else None
    except ValueError:
        return status, text.decode(errors="replace")


def login(server: Server, user: str, password: str) -> str:
    found = http_json(
        "POST", f"{server.url}/api/v1/auth/login", {"username": user, "password": password}
    )
    return str(found["token"])


def admin_token(server: Server) -> str:
    return login(server, "admin", server.admin_password)


_TEAMS: dict[str, tuple[str, str, str]] = {}


def team(server: Server) -> tuple[str, str]:
    """The server's group with a software manager who is a member, a product ``app`` and
    a new draft version (:func:`fresh_version`): ``(group, manager's token)``."""
    if server.url not in _TEAMS:
        _TEAMS[server.url] = make_team(server)
    group, token, _ = _TEAMS[server.url]
    fresh_version(server, group, token)
    return group, token


def manager(server: Server) -> str:
    """The user name of the group's software manager."""
    return _TEAMS[server.url][2]


#: The newest draft version each server's group got (``fresh_version``).
_VERSIONS: dict[str, str] = {}


def fresh_version(server: Server, group: str, token: str) -> str:
    version = f"1.0.{len(_VERSIONS) + 1}-{uuid.uuid4().hex[:6]}"
    path = f"/api/v1/groups/{group}/products/app/versions"
    status, answer = call(server, "POST", path, {"version": version}, token=token)
    assert status == 201, answer
    _VERSIONS[server.url] = version
    return version


def draft(server: Server) -> str:
    """The version :func:`team` made last."""
    return _VERSIONS[server.url]


def make_team(server: Server) -> tuple[str, str, str]:
    suffix = uuid.uuid4().hex[:8]
    group, user = f"g-{suffix}", f"sm-{suffix}"
    server.admin("user", "create", user, "--password-stdin", input=PASSWORD + "\n")
    server.admin("group", "create", group)
    for role in ("software_manager", "member"):
        server.admin("group", "add-member", group, user, "--role", role)
    token = login(server, user, PASSWORD)
    base = f"/api/v1/groups/{group}/products"
    status, filed = call(
        server,
        "POST",
        base,
        {"name": "app", "category": "application", "origin": "in_house"},
        token=token,
    )
    assert status == 201, filed
    server.approve_registration(int(filed["registration_request"]))  # a version manager's
    return group, token, user


def files_of(server: Server, group: str, token: str) -> list[Any]:
    path = f"/api/v1/groups/{group}/products/app/versions/{draft(server)}/files"
    status, found = call(server, "GET", path, token=token)
    assert status == 200, found
    return list(found["files"])


@pytest.fixture(autouse=True)
def no_500(request: pytest.FixtureRequest) -> Iterator[None]:
    """No test leaves an unexpected error (a 500) in its server's log."""
    if "site" not in request.fixturenames:
        yield
        return
    server: Server = request.getfixturevalue("site")
    before = server.output().count("unexpected error")
    yield
    assert server.output().count("unexpected error") == before, server.output()[-4000:]


# -- bodies cut short ---------------------------------------------------------------------


def raw_request(server: Server, head: str, body: bytes) -> tuple[int, bytes]:
    """Send ``head`` and ``body`` on a socket, close the sending side (the body ends
    there), and read the answer: its status and body."""
    port = int(urllib.parse.urlsplit(server.url).port or 80)
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.startswith(b"HTTP/1."), answer[:200]
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


def test_a_chunked_upload_cut_mid_chunk_is_a_400_and_stores_nothing(site: Server) -> None:
    group, token = team(site)
    content = b"x" * 5000
    path = f"/api/v1/groups/{group}/products/app/versions/{draft(site)}/files/app.tar.gz"
    head = (
        f"PUT {path} HTTP/1.1\nHost: 127.0.0.1\nAuthorization: Bearer {token}\n"
        f"Content-Type: application/octet-stream\nTransfer-Encoding: chunked\n"
        f"X-Depot-Size: {len(content)}\nX-Checksum-Sha256: {hashlib.sha256(content).hexdigest()}\n"
        "Connection: close\n"
    )
    # The first chunk whole, the second announced as 4096 bytes and cut after 100.
    body = b"%x\r\n" % 1000 + content[:1000] + b"\r\n" + b"%x\r\n" % 4096 + content[1000:1100]
    status, answer = raw_request(site, head, body)
    assert status == 400, answer
    assert json.loads(answer)["error"] == "invalid_request"
    assert b"ended" in answer or b"chunk" in answer
    # A chunk size that is not hexadecimal: the same.
    status, answer = raw_request(site, head, b"zz\r\n" + content[:10])
    assert status == 400, answer
    assert files_of(site, group, token) == []
    assert not list(site.data_dir.rglob("*.part"))  # no temporary object left behind
    # The whole body, chunked, is stored.
    whole = b"%x\r\n" % len(content) + content + b"\r\n0\r\n\r\n"
    status, answer = raw_request(site, head, whole)
    assert status == 201, answer
    assert [f["name"] for f in files_of(site, group, token)] == ["app.tar.gz"]


def test_a_chunked_json_body_cut_mid_chunk_is_a_400(site: Server) -> None:
    token = admin_token(site)
    name = f"cut-{uuid.uuid4().hex[:8]}"
    data = json.dumps({"name": name, "description": "d" * 500}).encode()
    head = (
        f"POST /api/v1/groups HTTP/1.1\nHost: 127.0.0.1\nAuthorization: Bearer {token}\n"
        "Content-Type: application/json\nTransfer-Encoding: chunked\nConnection: close\n"
    )
    status, answer = raw_request(site, head, b"%x\r\n" % len(data) + data[:100])
    assert status == 400, answer
    assert call(site, "GET", f"/api/v1/groups/{name}", token=token)[0] == 404


# -- JSON that no route can take ------------------------------------------------------------


def test_json_nested_100000_deep_is_a_400_naming_the_limit(site: Server) -> None:
    token = admin_token(site)
    for deep in (b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 100_000 + b"1" + b"}" * 100_000):
        status, answer = call(site, "POST", "/api/v1/groups", raw=deep, token=token)
        assert status == 400, answer
        assert "nested deeper than 32" in answer["message"]
    # 33 levels inside a field the route takes is refused the same way; 32 is read.
    name = f"deep-{uuid.uuid4().hex[:8]}"
    nested: Any = "x"
    for _ in range(32):
        nested = [nested]
    status, answer = call(
        site, "POST", "/api/v1/groups", {"name": name, "extra": nested}, token=token
    )
    assert status == 400 and "nested deeper than 32" in answer["message"], answer
    status, answer = call(
        site, "POST", "/api/v1/groups", {"name": name, "extra": nested[0]}, token=token
    )
    assert status == 201, answer


def test_json_sent_as_another_media_type_is_a_415(site: Server) -> None:
    token = admin_token(site)
    name = f"plain-{uuid.uuid4().hex[:8]}"
    body = json.dumps({"name": name}).encode()
    for media_type in ("text/plain", "application/x-www-form-urlencoded", "application/jsonx"):
        status, answer = call(
            site, "POST", "/api/v1/groups", raw=body, content_type=media_type, token=token
        )
        assert status == 415, (media_type, answer)
        assert answer["error"] == "unsupported_media_type"
        assert "application/json" in answer["message"]
    assert call(site, "GET", f"/api/v1/groups/{name}", token=token)[0] == 404
    # JSON with its charset, or a +json type, is JSON.
    for media_type in ("application/json; charset=utf-8", "application/merge-patch+json"):
        status, answer = call(
            site, "PATCH", f"/api/v1/groups/{name}", raw=b"{}", content_type=media_type, token=token
        )
        assert status == 404, (media_type, answer)  # read, then: no such group
    status, answer = call(
        site,
        "POST",
        "/api/v1/groups",
        raw=body,
        content_type="application/json; charset=utf-8",
        token=token,
    )
    assert status == 201, answer


def test_huge_integers_in_json_bodies_are_a_400(site: Server) -> None:
    group, token = team(site)
    base = f"/api/v1/groups/{group}/products/app"
    for number in (2**64, 10**30, -(2**63) - 1):
        status, answer = call(
            site, "POST", f"{base}/versions", {"version": "2.0.0", "n": number}, token=token
        )
        assert status == 400, answer
        assert answer["field"] == "n"
    status, answer = call(
        site,
        "POST",
        "/api/v1/log/cosignatures",
        {"size": 2**64, "vkey": "x", "cosignature": "y"},
        token=token,
    )
    assert status == 400, answer
    status, answer = call(
        site,
        "POST",
        "/api/v1/tokens",
        {"group": group, "scope": "read", "expires_in_days": 2**70},
        token=token,
    )
    assert status == 400 and answer["field"] == "expires_in_days", answer
    status, answer = call(site, "GET", f"{base}/versions/2.0.0", token=token)
    assert status == 404


# -- ids in paths -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/requests/{n}",
        "/api/v1/requests/{n}/check",
        "/api/v1/trust/keyring/{n}",
        "/api/v1/log/entries/{n}",
        "/api/v1/log/checkpoints/{n}",
        "/api/v1/tokens/{n}",
        "/api/v1/groups/{group}/oidc-trusts/{n}",
        "/api/v1/groups/{group}/tokens/{n}",
    ],
)
def test_ids_beyond_the_database_integer_are_a_404(site: Server, path: str) -> None:
    group, _token = team(site)
    admin = admin_token(site)
    for number in (2**31, 2**32, 2**63, 2**64, 10**40):
        method = "DELETE" if "tokens/" in path or "oidc-trusts/" in path else "GET"
        if path.endswith("/check"):
            method = "POST"
        status, answer = call(
            site,
            method,
            path.format(n=number, group=group),
            {} if method == "POST" else None,
            token=admin,
        )
        assert status == 404, (number, answer)


def test_the_pages_refuse_huge_ids_and_nul(site: Server) -> None:
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    with opener.open(f"{site.url}/login") as page:
        form = page.read().decode()
    csrf = form.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    # NUL in a page's form field: a 400 on the error page, never a 500.
    data = urllib.parse.urlencode(
        {"csrf_token": csrf, "username": "admin\x00", "password": "x"}
    ).encode()
    with pytest.raises(urllib.error.HTTPError) as refused:
        opener.open(f"{site.url}/login", data)
    assert refused.value.code == 400
    assert "NUL" in refused.value.read().decode()
    data = urllib.parse.urlencode(
        {"csrf_token": csrf, "username": "admin", "password": site.admin_password}
    ).encode()
    with opener.open(f"{site.url}/login", data) as page:
        assert page.status == 200
    for number in (2**31, 2**64):
        with pytest.raises(urllib.error.HTTPError) as refused:
            opener.open(f"{site.url}/requests/{number}")
        assert refused.value.code == 404


# -- the declared digest ------------------------------------------------------------------


def test_checksum_headers_that_disagree_are_a_400_and_store_nothing(site: Server) -> None:
    group, token = team(site)
    content, other = b"the build\n" * 100, b"another build\n"
    path = f"/api/v1/groups/{group}/products/app/versions/{draft(site)}/files/app.bin"

    def digest(data: bytes) -> str:
        return "sha-256=:" + base64.b64encode(hashlib.sha256(data).digest()).decode() + ":"

    def put(headers: dict[str, str]) -> tuple[int, Any]:
        return call(
            site,
            "PUT",
            path,
            raw=content,
            content_type="application/octet-stream",
            token=token,
            headers=headers,
        )

    status, answer = put(
        {"X-Checksum-Sha256": hashlib.sha256(content).hexdigest(), "Content-Digest": digest(other)}
    )
    assert status == 400, answer
    assert "disagree" in answer["message"] and answer["field"] == "sha256"
    # Two sha-256 values in Content-Digest that disagree: the same.
    status, answer = put({"Content-Digest": f"{digest(content)}, {digest(other)}"})
    assert status == 400, answer
    assert files_of(site, group, token) == []
    # Both, agreeing (the hex in capitals, another algorithm beside): stored.
    sha512 = "sha-512=:" + base64.b64encode(hashlib.sha512(content).digest()).decode() + ":"
    status, answer = put(
        {
            "X-Checksum-Sha256": hashlib.sha256(content).hexdigest().upper(),
            "Content-Digest": f"{sha512}, {digest(content)}",
        }
    )
    assert status == 201, answer
    assert [f["sha256"] for f in files_of(site, group, token)] == [
        hashlib.sha256(content).hexdigest()
    ]


# -- control characters -------------------------------------------------------------------


def test_nul_in_any_json_string_is_a_400_naming_the_field(site: Server) -> None:
    group, token = team(site)
    admin = admin_token(site)
    base = f"/api/v1/groups/{group}/products/app"
    cases = [
        (
            "POST",
            "/api/v1/groups",
            {"name": f"n-{uuid.uuid4().hex[:8]}", "description": "a\x00b"},
            "description",
        ),
        ("PATCH", f"/api/v1/groups/{group}", {"description": "\x00"}, "description"),
        (
            "POST",
            f"{base}/upgrades",
            {"target_version": "2.0.0", "reason": "because\x00"},
            "reason",
        ),
        ("POST", f"{base}/versions", {"version": "2.0.0\x00"}, "version"),
        ("POST", f"{base}/versions", {"version": "2.0.0", "x": {"deep": ["\x00"]}}, "x.deep.0"),
        ("POST", f"{base}/versions", {"version": "2.0.0", "a\x00b": 1}, "a\\x00b"),
        ("POST", "/api/v1/auth/login", {"username": "admin\x00", "password": "x"}, "username"),
    ]
    for method, path, body, field in cases:
        status, answer = call(
            site,
            method,
            path,
            body,
            token=admin if "upgrades" not in path and "versions" not in path else token,
        )
        assert status == 400, (path, answer)
        assert answer["field"] == field and "NUL" in answer["message"], answer
    # A lone surrogate cannot be stored either.
    status, answer = call(
        site, "PATCH", f"/api/v1/groups/{group}", raw=b'{"description": "\\ud800"}', token=admin
    )
    assert status == 400 and answer["field"] == "description", answer
    # NUL in a query string or a path: 400 and 404.
    status, answer = call(site, "GET", "/api/v1/search?q=a%00b", token=token)
    assert status == 400 and answer["field"] == "q", answer
    status, answer = call(site, "GET", f"{base}/versions/{draft(site)}%00", token=token)
    assert status == 404, answer
    status, found = call(site, "GET", f"/api/v1/groups/{group}", token=token)
    assert status == 200 and found["description"] == "", found
    status, found = call(site, "GET", f"{base}/upgrades", token=token)
    assert status == 200, found
    assert not [r for r in found["requests"] if "because" in str(r["details"])], found


def test_control_characters_in_names_are_a_400_naming_the_field(site: Server) -> None:
    group, token = team(site)
    admin = admin_token(site)
    suffix = uuid.uuid4().hex[:8]
    for bad in (
        "a\x1b[31mb",
        "right\u202eleft",
        "tab\there",
        "line\nbreak",
        "c1\x9bx",
        "iso\u2066x",
    ):
        cases = [
            (
                "POST",
                "/api/v1/groups",
                {"name": f"n-{suffix}", "display_name": bad},
                "display_name",
                admin,
            ),
            ("POST", "/api/v1/groups", {"name": f"n{bad}", "display_name": "x"}, "name", admin),
            ("PATCH", f"/api/v1/groups/{group}", {"display_name": bad}, "display_name", admin),
            (
                "POST",
                "/api/v1/users",
                {"username": f"u-{suffix}", "display_name": bad},
                "display_name",
                admin,
            ),
            ("POST", "/api/v1/users", {"username": f"u{bad}"}, "username", admin),
            (
                "POST",
                f"/api/v1/groups/{group}/products",
                {"name": f"p{bad}", "category": "application", "origin": "in_house"},
                "name",
                token,
            ),
            (
                "POST",
                f"/api/v1/groups/{group}/products",
                {
                    "name": f"p-{suffix}",
                    "category": "application",
                    "origin": "purchased",
                    "vendor": bad,
                },
                "vendor",
                token,
            ),
            (
                "POST",
                f"/api/v1/groups/{group}/products/app/versions",
                {"version": f"2.0.0{bad}"},
                "version",
                token,
            ),
            (
                "POST",
                "/api/v1/tokens",
                {"group": group, "scope": "read", "name": bad},
                "name",
                token,
            ),
        ]
        for method, path, body, field, who in cases:
            status, answer = call(site, method, path, body, token=who)
            assert status == 400, (path, bad, answer)
            assert answer["field"] == field, (path, bad, answer)
    assert call(site, "GET", f"/api/v1/groups/n-{suffix}", token=admin)[0] == 404
    assert call(site, "GET", f"/api/v1/users/u-{suffix}", token=admin)[0] == 404
    status, found = call(site, "GET", f"/api/v1/groups/{group}", token=token)
    assert status == 200 and found["display_name"] == group, found


def test_free_text_is_stored_as_sent_and_printed_escaped(site: Server, tmp_path: Path) -> None:
    group, token = team(site)
    base = f"/api/v1/groups/{group}/products/app"
    status, upgrade = call(
        site,
        "POST",
        f"{base}/upgrades",
        {"target_version": "2.0.0", "reason": HOSTILE},
        token=token,
    )
    assert status == 201, upgrade
    assert upgrade["details"]["reason"] == HOSTILE  # stored as sent
    status, found = call(
        site, "PATCH", f"/api/v1/groups/{group}", {"description": HOSTILE}, token=admin_token(site)
    )
    assert status == 200 and found["description"] == HOSTILE
    version = f"{base}/versions/{draft(site)}"
    status, _ = call(
        site,
        "PUT",
        f"{version}/files/app.bin",
        raw=b"build",
        content_type="application/octet-stream",
        token=token,
        headers={"X-Checksum-Sha256": hashlib.sha256(b"build").hexdigest()},
    )
    assert status == 201
    status, answer = call(site, "POST", f"{version}/submit", {"comment": HOSTILE}, token=token)
    assert status in (200, 201), answer
    # A version manager refuses the upgrade, saying why (the audit record's reason).
    decider = f"vm-{uuid.uuid4().hex[:8]}"
    site.admin(
        "user", "create", decider, "--password-stdin", "--role", "version_manager",
        input=PASSWORD + "\n",
    )  # fmt: skip
    refused = f"/api/v1/requests/{upgrade['id']}/refuse"
    status, answer = call(
        site, "POST", refused, {"comment": HOSTILE}, token=login(site, decider, PASSWORD)
    )
    assert status == 200, answer
    user = manager(site)
    env = {"DEPOT_CONFIG_DIR": str(tmp_path / "cli")}
    site.depot(
        "login",
        "--server",
        site.url,
        "--user",
        user,
        "--password-stdin",
        input=PASSWORD + "\n",
        env=env,
    )
    admin_env = {"DEPOT_CONFIG_DIR": str(tmp_path / "cli-admin")}
    site.depot(
        "login",
        "--server",
        site.url,
        "--user",
        "admin",
        "--password-stdin",
        input=site.admin_password + "\n",
        env=admin_env,
    )
    shown = {
        "request show": site.depot("request", "show", str(upgrade["id"]), env=env).stdout,
        "requests": site.depot("requests", "--all", env=env).stdout,
        "history": site.depot("history", f"{group}/app@{draft(site)}", env=env).stdout,
        "audit": site.depot("audit", "--group", group, env=admin_env).stdout,
        "group list": site.depot("group", "list", "--all", env=admin_env).stdout,
    }
    for command, out in shown.items():
        for raw in ("\x1b", "\x07", "\x9b", "\u202e", "\u2066", "\u2069"):
            assert raw not in out, (command, raw, out)
    escaped = "ok\\x1b[2J\\x1b]0;pwned\\x07\\u202egnp.exe\\u2066x\\u2069\\x9b31m [/] [bold]b"
    assert escaped in shown["request show"]  # rich markup in it shown as typed, too
    assert escaped in shown["audit"]
    for command in ("history", "audit"):
        assert "\\x1b" in shown[command], (command, shown[command])
    # --json keeps the data (the same string once decoded), written in escapes.
    out = site.depot("--json", "request", "show", str(upgrade["id"]), env=env).stdout
    assert "\u202e" not in out and "\x1b" not in out
    assert json.loads(out)["details"]["reason"] == HOSTILE
