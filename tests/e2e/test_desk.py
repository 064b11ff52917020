"""The version manager's desk against the real server and the real CLI (issue 12 §1, §3):
she opens every file of what she decides, from the CLI and from the request page; people
who see a group are refused by the rule's name, never "not found"; a refused step
changes nothing and is audited; she allocates storage areas and names their software
managers."""

from __future__ import annotations

import hashlib
import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from tests.e2e.conftest import Server
from tests.e2e.test_integrity import PASSWORD, REF, payments_team, person

BUILD = b"release build " * 5000
MANUAL = b"%PDF-1.4 operations manual"
REPORT = b"all 212 tests pass\n"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def team(server: Server, tmp_path: Path) -> dict[str, dict[str, str]]:
    """payments (alice software manager, carol officer), victor the version manager, ivy
    the auditor, olga a second officer of payments and dave, a member of cards only."""
    alice, carol, victor, ivy = payments_team(server, tmp_path, ("ivy", "auditor"))
    for name in ("olga", "dave"):
        server.admin("user", "create", name, "--password-stdin", input=PASSWORD + "\n")
    server.admin("group", "add-member", "payments", "olga", "--role", "acceptance_officer")
    server.admin("group", "create", "cards")
    server.admin("group", "add-member", "cards", "dave", "--role", "member")
    olga, dave = (person(server, tmp_path, name) for name in ("olga", "dave"))
    return {"alice": alice, "carol": carol, "victor": victor, "ivy": ivy, "olga": olga,
            "dave": dave}  # fmt: skip


def delivered(server: Server, tmp_path: Path, people: dict[str, dict[str, str]]) -> None:
    """payments/core@3.0.0 with a build and a manual, delivered to carol."""
    alice = people["alice"]
    server.create_product("payments/core", "--category", "application",
                 "--origin", "in_house", env=alice, approver=people["victor"])  # fmt: skip
    build, manual = tmp_path / "core.tar.gz", tmp_path / "manual.pdf"
    build.write_bytes(BUILD)
    manual.write_bytes(MANUAL)
    server.depot("push", REF, str(build), "--create", env=alice)
    server.depot("push", REF, str(manual), "--role", "document", env=alice)
    server.depot("submit", REF, "--to", "carol", env=alice)


def audit(server: Server, ivy: dict[str, str], **filters: str) -> list[dict[str, Any]]:
    args = [item for key, value in filters.items() for item in (f"--{key}", value)]
    events: list[dict[str, Any]] = server.depot_json("audit", *args, env=ivy)
    return events


class Browser:
    """A person's browser session on the pages (cookies, the CSRF token of the form)."""

    def __init__(self, server: Server, name: str) -> None:
        self.server = server
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        form = self.get("/login")
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form.decode())
        assert token, form
        body = urllib.parse.urlencode(
            {"username": name, "password": PASSWORD, "csrf_token": token.group(1)}
        ).encode()
        self.opener.open(f"{server.url}/login", data=body, timeout=10)

    def get(self, path: str) -> bytes:
        with self.opener.open(self.server.url + path, timeout=10) as answer:
            return bytes(answer.read())


def test_the_decider_opens_every_file_of_a_request_from_the_cli_and_the_page(
    server: Server, tmp_path: Path
) -> None:
    people = team(server, tmp_path)
    alice, carol, victor, ivy = (people[n] for n in ("alice", "carol", "victor", "ivy"))
    delivered(server, tmp_path, people)
    report = tmp_path / "report.txt"
    report.write_bytes(REPORT)
    server.depot("accept", REF, "--report", str(report), env=carol)
    request = server.depot_json("checkin", "request", REF, "--notes", "GA",
                                "--document", "manual.pdf", env=alice)  # fmt: skip
    number = str(request["id"])
    files = {"core.tar.gz": BUILD, "manual.pdf": MANUAL, "report.txt": REPORT}

    shown = server.depot("request", "show", number, env=victor).stdout
    for name, data in files.items():
        assert name in shown and f"sha256:{sha(data)}" in shown, shown
    assert "download: depot pull payments/core@3.0.0" in shown
    # She pulls what she decides on: before the fix, "group 'payments' not found".
    pulled = server.depot_json("pull", REF, "-o", str(tmp_path / "desk"), "--unverified",
                               env=victor)  # fmt: skip
    assert {f["name"] for f in pulled["files"]} == set(files)
    for name, data in files.items():
        assert (tmp_path / "desk" / name).read_bytes() == data

    # The request page links every file with its size and sha256; the links download.
    page = Browser(server, "victor")
    html = page.get(f"/requests/{number}").decode()
    for name, data in files.items():
        link = f"/groups/payments/core/3.0.0/files/{name}"
        assert f'href="{link}"' in html and sha(data) in html
        assert page.get(link) == data
    assert "12.2 KiB" in html or "68.4 KiB" in html  # the build's size, as the page says it

    # Afterwards, for the record: the version is in the library, she holds no check-out.
    server.depot("approve", number, "--comment", "archived", env=victor)
    later = server.depot_json("pull", REF, "core.tar.gz", "-o", str(tmp_path / "later"),
                              "--unverified", env=victor)  # fmt: skip
    assert later["files"][0]["sha256"] == sha(BUILD)

    reads = audit(server, ivy, actor="victor", action="file.download")
    assert len(reads) == 3 + 3 + 1
    assert {e["details"]["review"] for e in reads} == {request["id"]}
    assert {e["outcome"] for e in reads} == {"ok"}
    # The auditor sees the records and is refused the bytes by name, not "not found".
    refused = server.depot("pull", REF, "-o", str(tmp_path / "ivy"), "--unverified", env=ivy,
                           check=False)  # fmt: skip
    assert refused.returncode == 7 and "(rule group.member)" in refused.stderr


def test_who_sees_a_group_is_refused_by_rule_who_does_not_gets_not_found(
    server: Server, tmp_path: Path
) -> None:
    people = team(server, tmp_path)
    victor, dave = people["victor"], people["dave"]
    delivered(server, tmp_path, people)
    build = tmp_path / "core.tar.gz"
    out = tmp_path / "out"
    for args in (
        ("push", "payments/core@3.0.1", str(build), "--create"),
        ("pull", "payments/core@3.0.0", "-o", str(out), "--unverified"),
    ):
        result = server.depot(*args, env=victor, check=False)
        assert result.returncode == 7, result.stderr
        assert "(rule group.member)" in result.stderr and "not found" not in result.stderr
    added = server.depot("group", "add-member", "payments", "dave", "--role", "member",
                         env=victor, check=False)  # fmt: skip
    assert added.returncode == 7 and "(rule members.software_manager)" in added.stderr
    assert not out.exists() or not any(out.iterdir())

    # Dave is in another group: to him payments is exactly a name that does not exist.
    for group in ("payments", "nosuch"):
        for args in (
            ("push", f"{group}/core@3.0.1", str(build), "--create"),
            ("pull", f"{group}/core@3.0.0", "-o", str(out), "--unverified"),
            ("group", "add-member", group, "dave", "--role", "member"),
        ):
            result = server.depot(*args, env=dave, check=False)
            assert result.returncode == 4, result.stderr
            assert result.stderr.replace(group, "G") == server.depot(
                *(a.replace(group, "nosuch") for a in args), env=dave, check=False
            ).stderr.replace("nosuch", "G")


def test_a_refused_acceptance_stores_nothing_and_is_audited(server: Server, tmp_path: Path) -> None:
    people = team(server, tmp_path)
    carol, olga, ivy = people["carol"], people["olga"], people["ivy"]
    delivered(server, tmp_path, people)
    report = tmp_path / "report.txt"
    report.write_bytes(REPORT)

    rejected = server.depot("reject", REF, "--report", str(report), "--comment", "",
                            env=carol, check=False)  # fmt: skip
    assert rejected.returncode == 7, rejected.stderr
    assert "(rule decision.comment)" in rejected.stderr
    accepted = server.depot("accept", REF, "--report", str(report), env=olga, check=False)
    assert accepted.returncode == 7 and "(rule acceptance.assigned)" in accepted.stderr
    listing = server.depot_json("ls", REF, env=carol)
    assert listing["state"] == "submitted"
    assert [f["name"] for f in listing["files"]] == ["core.tar.gz", "manual.pdf"]

    refusals = {
        (e["actor"], e["action"], e["rule"])
        for e in audit(server, ivy, target=REF)
        if e["outcome"] == "refused"
    }
    assert ("carol", "acceptance.fail", "decision.comment") in refusals
    assert ("olga", "acceptance.pass", "acceptance.assigned") in refusals
    assert not [e for e in audit(server, ivy, action="file.upload") if "report" in e["target"]]

    # With a comment she rejects, with the report.
    server.depot("reject", REF, "--report", str(report), "--comment", "fails on RHEL 9",
                 env=carol)  # fmt: skip
    assert server.depot_json("ls", REF, env=carol)["state"] == "rejected"


def test_the_version_manager_allocates_areas_and_names_their_software_managers(
    server: Server, tmp_path: Path
) -> None:
    people = team(server, tmp_path)
    alice, victor, dave, ivy = (people[n] for n in ("alice", "victor", "dave", "ivy"))
    server.depot("group", "create", "web", "--display-name", "Web banking", env=victor)
    server.depot("group", "add-member", "web", "alice", "--role", "software_manager",
                 env=victor)  # fmt: skip
    # The software manager controls membership from then on; the version manager does not.
    server.depot("group", "add-member", "web", "dave", "--role", "member", env=alice)
    refused = server.depot("group", "add-member", "web", "dave", "--role",
                           "acceptance_officer", env=victor, check=False)  # fmt: skip
    assert refused.returncode == 7 and "(rule members.software_manager)" in refused.stderr
    granted = server.depot("group", "add-member", "web", "dave", "--role", "software_manager",
                           env=alice, check=False)  # fmt: skip
    assert granted.returncode == 7 and "(rule members.grant_software_manager)" in granted.stderr
    members = server.depot_json("group", "members", "web", env=victor)
    assert {(m["username"], tuple(m["roles"])) for m in members} == {
        ("alice", ("software_manager",)),
        ("dave", ("member",)),
    }
    not_hers = server.depot("group", "create", "ops", env=dave, check=False)
    assert not_hers.returncode == 7 and "(rule groups.version_manager)" in not_hers.stderr

    trail = [(e["actor"], e["role"], e["action"], e["outcome"], e["target"])
             for e in audit(server, ivy, group="web")]  # fmt: skip
    assert ("victor", "version_manager", "group.create", "ok", "web") in trail
    assert ("victor", "version_manager", "group.member.add", "ok", "web:user:alice") in trail
    assert ("alice", "software_manager", "group.member.add", "ok", "web:user:dave") in trail
    assert ("victor", "", "group.member.add", "refused", "web:user:dave") in trail
    assert ("dave", "", "group.create", "refused", "ops") in audit_rows(server, ivy, "ops")


def audit_rows(server: Server, ivy: dict[str, str], group: str) -> list[tuple[str, ...]]:
    return [(e["actor"], e["role"], e["action"], e["outcome"], e["target"])
            for e in audit(server, ivy, group=group)]  # fmt: skip
