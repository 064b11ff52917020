#!/usr/bin/env python3
"""Depot verified-pull benchmark: ``depot pull`` of a checked-in version, verified end to
end against a pinned root, against ``curl -o`` + ``openssl dgst -sha256`` of the very same
download from the same server (same URL, same token, same check-out), and against nginx
serving the same bytes: ``curl -o`` + ``openssl dgst -sha256``, and ``curl -o`` alone.

The figures are ratios of the median wall-clock times. Targets: Depot / (curl + openssl
from Depot) at most 1.2 (issue 10); throughput against curl + openssl from nginx at least
1.0 and against plain ``curl -o`` from nginx at least 0.9 (issue 15 §3). Run it with the
venv's Python; see bench/README.md.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from transfer import (
    MIB,
    NAME,
    PRODUCT,
    DepotServer,
    environment,
    make_data,
    run,
    start_nginx,
    stop,
    timed,
    tool,
)

PASSWORD = "a long passphrase for the bench"
VERSION = "1.0.0"
REF = f"{PRODUCT}@{VERSION}"
TARGET = 1.2
#: Issue 15 §3: Depot's throughput over curl + openssl from nginx, and over curl alone.
TARGET_NGINX_OPENSSL = 1.0
TARGET_NGINX_CURL = 0.9


class Library(DepotServer):
    """A server whose ``bench/big@1.0.0`` went through the whole lifecycle: pushed by alice,
    accepted by carol, checked in and checked out to alice by victor; alice pins the root."""

    def __init__(self, work: Path) -> None:
        super().__init__(work)
        self.work = work
        self.server_env["DEPOT_SCRYPT_N"] = "1024"
        # As installed: with bytecode cached (a wheel's install compiles it); with
        # PYTHONDONTWRITEBYTECODE every `depot` would compile its modules again.
        for env in (self.env, self.server_env):
            env.pop("PYTHONDONTWRITEBYTECODE", None)
        self.people: dict[str, dict[str, str]] = {}

    def admin(self, *args: str, stdin: str = "") -> str:
        return run([tool("depot-server"), *args], env=self.server_env, stdin=stdin)

    def as_(self, who: str, *args: str) -> str:
        return run([tool("depot"), *args], env=self.people[who])

    def set_up(self, source: Path) -> None:
        url = f"http://127.0.0.1:{self.port}"
        for name, role in (("alice", None), ("carol", None), ("victor", "version_manager")):
            extra = ["--role", role] if role else []
            self.admin("user", "create", name, "--password-stdin", *extra, stdin=PASSWORD + "\n")
            self.people[name] = self.env | {"DEPOT_CONFIG_DIR": str(self.work / f"cli-{name}")}
            run([tool("depot"), "login", "--server", url, "--user", name, "--password-stdin"],
                env=self.people[name], stdin=PASSWORD + "\n")  # fmt: skip
        for name, role in (("alice", "software_manager"), ("alice", "member"),
                           ("carol", "acceptance_officer")):  # fmt: skip
            self.admin("group", "add-member", "bench", name, "--role", role)
        self.as_("alice", "-q", "push", REF, str(source), "--create")
        self.as_("alice", "submit", REF, "--to", "carol")
        report = self.work / "report.txt"
        report.write_text("all tests pass\n")
        self.as_("carol", "accept", REF, "--report", str(report))
        checkin = json.loads(
            self.as_("alice", "--json", "checkin", "request", REF, "--notes", "GA")
        )
        self.as_("victor", "approve", str(checkin["id"]), "--comment", "archived")
        checkout = json.loads(
            self.as_("alice", "--json", "checkout", "request", REF, "--purpose", "bench")
        )
        self.as_("victor", "approve", str(checkout["id"]))
        found = re.search(r"root fingerprint:\s+([0-9a-f]{64})", self.log.read_text())
        if not found:
            raise RuntimeError(f"no root fingerprint in {self.log}")
        self.as_("alice", "trust", "init", url, "--root-fingerprint", found[1])

    def token(self, who: str) -> str:
        """A fresh API token of ``who`` (for curl)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        body = json.dumps({"username": who, "password": PASSWORD, "client": "bench curl"})
        connection.request("POST", "/api/v1/auth/login", body, {"Content-Type": "application/json"})
        answer = connection.getresponse()
        if answer.status != 201:
            raise RuntimeError(f"login of {who} answered {answer.status}")
        return str(json.loads(answer.read())["token"])


def one_rep(
    work: Path,
    lib: Library,
    token: str,
    rep: int,
    size: int,
    nginx_port: int,
    before: Path | None = None,
) -> dict[str, float]:
    """One verified pull, one curl + openssl of the same file from Depot, one from nginx
    and one plain curl from nginx; the order rotates from one rep to the next."""
    url = (
        f"http://127.0.0.1:{lib.port}/api/v1/groups/bench/products/big/versions/{VERSION}"
        f"/files/{NAME}"
    )
    out = work / "out"
    figures: dict[str, float] = {}

    def pull(key: str, env: dict[str, str]) -> None:
        cmd = [tool("depot"), "-q", "pull", REF, NAME, "-o", str(out)]
        figures[f"{key}_s"], figures[f"{key}_cpu_s"], _ = timed([cmd], env)
        if (out / NAME).stat().st_size != size:
            raise RuntimeError("depot pull wrote a file of the wrong size")

    def depot() -> None:
        pull("depot", lib.people["alice"])

    def earlier() -> None:
        assert before is not None
        pull("before", lib.people["alice"] | {"PYTHONPATH": str(before)})

    def baseline() -> None:
        target = out / NAME
        curl = ["curl", "-sS", "--fail", "--noproxy", "*", "-H", f"Authorization: Bearer {token}",
                "-o", str(target), url]  # fmt: skip
        figures["baseline_s"], _, _ = timed(
            [curl, [tool("openssl"), "dgst", "-sha256", str(target)]]
        )

    def from_nginx(key: str, digest: bool) -> None:
        target = out / NAME
        curl = ["curl", "-sS", "--fail", "--noproxy", "*", "-o", str(target),
                f"http://127.0.0.1:{nginx_port}/{NAME}"]  # fmt: skip
        cmds = [curl, [tool("openssl"), "dgst", "-sha256", str(target)]] if digest else [curl]
        figures[key], _, _ = timed(cmds)

    def nginx_openssl() -> None:
        from_nginx("nginx_openssl_s", True)

    def nginx_curl() -> None:
        from_nginx("nginx_curl_s", False)

    steps = [depot, baseline, nginx_openssl, nginx_curl, *([earlier] if before else [])]
    shift = rep % len(steps)
    for step in steps[shift:] + steps[:shift]:
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir()
        os.sync()
        step()
    shutil.rmtree(out, ignore_errors=True)
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the figures; exit 1 if the target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=256, help="file size (default 256)")
    parser.add_argument("--reps", type=int, default=3, help="repetitions (default 3)")
    parser.add_argument("--workdir", type=Path, help="parent of the scratch folder (default /tmp)")
    parser.add_argument("--json", type=Path, help="write the raw results to this file")
    parser.add_argument(
        "--before",
        type=Path,
        help="a source tree of an earlier client (`git archive main | tar -x -C DIR`): its "
        "`depot pull` is timed in the same reps, against the same server",
    )
    args = parser.parse_args(argv)
    size = args.size_mib * MIB
    work = Path(tempfile.mkdtemp(prefix="depot-bench-verified-", dir=args.workdir))
    lib = Library(work)
    reps: list[dict[str, Any]] = []
    nginx = None
    try:
        print(f"scratch folder {work}; writing {args.size_mib} MiB of random data", flush=True)
        make_data(work / NAME, size)
        nginx, nginx_port = start_nginx(work)
        lib.start()
        lib.set_up(work / NAME)
        token = lib.token("alice")
        one_rep(work, lib, token, 0, size, nginx_port, args.before)  # warm-up
        for rep in range(1, args.reps + 1):
            figures = one_rep(work, lib, token, rep, size, nginx_port, args.before)
            reps.append(figures)
            print(f"rep {rep}: depot pull {figures['depot_s']:.2f}s "
                  f"(client CPU {figures['depot_cpu_s']:.2f}s), curl + openssl "
                  f"{figures['baseline_s']:.2f}s; nginx: curl + openssl "
                  f"{figures['nginx_openssl_s']:.2f}s, curl {figures['nginx_curl_s']:.2f}s",
                  flush=True)  # fmt: skip
    finally:
        stop(nginx, signal.SIGQUIT)
        stop(lib.proc, signal.SIGTERM)
        shutil.rmtree(work, ignore_errors=True)
    depot = statistics.median(r["depot_s"] for r in reps)
    base = statistics.median(r["baseline_s"] for r in reps)
    nginx_openssl = statistics.median(r["nginx_openssl_s"] for r in reps)
    nginx_curl = statistics.median(r["nginx_curl_s"] for r in reps)
    cpu = statistics.median(r["depot_cpu_s"] for r in reps)
    ratio = depot / base
    rows = [
        # (what, Depot, baseline, figure, target, passed)
        ("verified pull / curl+openssl (Depot), time", depot, base, ratio, f"<= {TARGET}",
         ratio <= TARGET),
        ("throughput / curl+openssl (nginx)", depot, nginx_openssl, nginx_openssl / depot,
         f">= {TARGET_NGINX_OPENSSL}", nginx_openssl / depot >= TARGET_NGINX_OPENSSL),
        ("throughput / curl -o (nginx)", depot, nginx_curl, nginx_curl / depot,
         f">= {TARGET_NGINX_CURL}", nginx_curl / depot >= TARGET_NGINX_CURL),
    ]  # fmt: skip
    ok = all(row[5] for row in rows)
    print()
    print(f"{args.size_mib} MiB, median of {len(reps)}; depot client CPU {cpu:.2f}s")
    print(f"{'measure':44} {'Depot s':>8} {'base s':>8} {'ratio':>6}  {'target':7} result")
    for what, mine, theirs, figure, target, passed in rows:
        print(f"{what:44} {mine:8.2f} {theirs:8.2f} {figure:6.2f}  {target:7} "
              f"{'PASS' if passed else 'MISS'}")  # fmt: skip
    print(f"{'verified pull, MiB/s':44} {args.size_mib / depot:8.0f} {args.size_mib / base:8.0f}")
    if args.before:
        earlier = statistics.median(r["before_s"] for r in reps)
        earlier_cpu = statistics.median(r["before_cpu_s"] for r in reps)
        print(f"{'earlier client (--before), s / CPU s':44} {earlier:8.2f} {earlier_cpu:8.2f}")
        print(f"{'  its ratio to curl+openssl (Depot)':44} {earlier / base:8.2f}")
        print(f"{'  to curl+openssl, curl (nginx), throughput':44} "
              f"{nginx_openssl / earlier:8.2f} {nginx_curl / earlier:8.2f}")  # fmt: skip
    if args.json:
        summary = {
            "depot_median_s": depot,
            "baseline_median_s": base,
            "nginx_openssl_median_s": nginx_openssl,
            "nginx_curl_median_s": nginx_curl,
            "depot_cpu_median_s": cpu,
            "ratio": ratio,
        }
        body = {"size_bytes": size, "environment": environment(), "reps": reps, "summary": summary}
        args.json.write_text(json.dumps(body, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
