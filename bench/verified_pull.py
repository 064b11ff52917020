#!/usr/bin/env python3
"""Depot verified-pull benchmark: ``depot pull`` of a checked-in version, verified end to
end against a pinned root, against ``curl -o`` + ``openssl dgst -sha256`` of the very same
download from the same server (same URL, same token, same check-out).

The figure is the ratio of the median wall-clock times (Depot / baseline); the target is
at most 1.2. Run it with the venv's Python; see bench/README.md.
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

from transfer import MIB, NAME, PRODUCT, DepotServer, environment, make_data, run, stop, timed, tool

PASSWORD = "a long passphrase for the bench"
VERSION = "1.0.0"
REF = f"{PRODUCT}@{VERSION}"
TARGET = 1.2


class Library(DepotServer):
    """A server whose ``bench/big@1.0.0`` went through the whole lifecycle: pushed by alice,
    accepted by carol, checked in and checked out to alice by victor; alice pins the root."""

    def __init__(self, work: Path) -> None:
        super().__init__(work)
        self.work = work
        self.server_env["DEPOT_SCRYPT_N"] = "1024"
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


def one_rep(work: Path, lib: Library, token: str, rep: int, size: int) -> dict[str, float]:
    """One verified pull and one curl + openssl of the same file, order alternating."""
    url = (
        f"http://127.0.0.1:{lib.port}/api/v1/groups/bench/products/big/versions/{VERSION}"
        f"/files/{NAME}"
    )
    out = work / "out"
    figures: dict[str, float] = {}

    def depot() -> None:
        cmd = [tool("depot"), "-q", "pull", REF, NAME, "-o", str(out)]
        figures["depot_s"], figures["depot_cpu_s"], _ = timed([cmd], lib.people["alice"])
        if (out / NAME).stat().st_size != size:
            raise RuntimeError("depot pull wrote a file of the wrong size")

    def baseline() -> None:
        target = out / NAME
        curl = ["curl", "-sS", "--fail", "--noproxy", "*", "-H", f"Authorization: Bearer {token}",
                "-o", str(target), url]  # fmt: skip
        figures["baseline_s"], _, _ = timed(
            [curl, [tool("openssl"), "dgst", "-sha256", str(target)]]
        )

    for step in (depot, baseline) if rep % 2 else (baseline, depot):
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
    args = parser.parse_args(argv)
    size = args.size_mib * MIB
    work = Path(tempfile.mkdtemp(prefix="depot-bench-verified-", dir=args.workdir))
    lib = Library(work)
    reps: list[dict[str, Any]] = []
    try:
        print(f"scratch folder {work}; writing {args.size_mib} MiB of random data", flush=True)
        make_data(work / NAME, size)
        lib.start()
        lib.set_up(work / NAME)
        token = lib.token("alice")
        one_rep(work, lib, token, 0, size)  # warm-up: imports, first requests, page cache
        for rep in range(1, args.reps + 1):
            figures = one_rep(work, lib, token, rep, size)
            reps.append(figures)
            print(f"rep {rep}: depot pull {figures['depot_s']:.2f}s, curl + openssl "
                  f"{figures['baseline_s']:.2f}s", flush=True)  # fmt: skip
    finally:
        stop(lib.proc, signal.SIGTERM)
        shutil.rmtree(work, ignore_errors=True)
    depot = statistics.median(r["depot_s"] for r in reps)
    base = statistics.median(r["baseline_s"] for r in reps)
    ratio = depot / base
    ok = ratio <= TARGET
    print()
    print(f"{'measure':42} {'Depot':>10} {'baseline':>10} {'ratio':>7}  target   result")
    print(f"{'verified pull, median s (' + str(args.size_mib) + ' MiB)':42} {depot:10.2f} "
          f"{base:10.2f} {ratio:7.2f}  <= {TARGET}   {'PASS' if ok else 'MISS'}")  # fmt: skip
    print(f"{'verified pull, MiB/s':42} {args.size_mib / depot:10.0f} {args.size_mib / base:10.0f}")
    if args.json:
        summary = {"depot_median_s": depot, "baseline_median_s": base, "ratio": ratio}
        body = {"size_bytes": size, "environment": environment(), "reps": reps, "summary": summary}
        args.json.write_text(json.dumps(body, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
