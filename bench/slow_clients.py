"""A listing's answer time while 200 connections hold half-sent headers, as a ratio to the
same listing on a quiet server.

Starts a fresh ``depot-server run`` (own data folder, free port, the default 2 workers ×
8 threads), signs in, then times ``GET /api/v1/groups`` (a new connection each time)
``--reps`` times with nothing else open (the baseline), then opens ``--held`` connections
that sent half of their headers, ``--idle`` that sent nothing and ``--idle`` kept alive
after one answer, and times the same listing again while they are all open. Target: the
worst answer below 1 s, the median ratio below 2.

    .venv/bin/python bench/slow_clients.py
    .venv/bin/python bench/slow_clients.py --held 500 --reps 50 --json /tmp/slow.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(folder: Path, port: int) -> tuple[subprocess.Popen[str], str]:
    env = {
        **os.environ,
        "DEPOT_DATA_DIR": str(folder),
        "DEPOT_PORT": str(port),
        "DEPOT_HEADER_TIMEOUT": "600",
        "DEPOT_PLUGINS": "",
    }
    process = subprocess.Popen(
        [str(BIN / "depot-server"), "run"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    seen = ""
    for line in process.stdout:
        seen += line
        if "Listening at" in line or "Booting worker" in line:
            break
    found = re.search(r"password:\s+(\S+)", seen)
    if not found:
        process.kill()
        raise SystemExit("no admin password in the server's output:\n" + seen)
    # Keep reading its output, so that the server never blocks on a full pipe.
    subprocess.Popen(["cat"], stdin=process.stdout, stdout=subprocess.DEVNULL)
    return process, found.group(1)


def wait_up(url: str) -> None:
    for _ in range(200):
        try:
            with urllib.request.urlopen(f"{url}/api/v1/health", timeout=2):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the server did not come up")


def sign_in(url: str, password: str) -> str:
    body = json.dumps({"username": "admin", "password": password}).encode()
    request = urllib.request.Request(
        f"{url}/api/v1/auth/login", body, {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return str(json.loads(response.read())["token"])


def listing_seconds(url: str, token: str, reps: int) -> list[float]:
    times = []
    for _ in range(reps):
        request = urllib.request.Request(
            f"{url}/api/v1/groups", headers={"Authorization": f"Bearer {token}"}
        )
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
        times.append(time.perf_counter() - started)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--held", type=int, default=200)
    parser.add_argument("--idle", type=int, default=50)
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="depot-bench-slow-") as scratch:
        process, password = start(Path(scratch) / "server", port)
        try:
            wait_up(url)
            token = sign_in(url, password)
            listing_seconds(url, token, 3)  # warm-up
            quiet = listing_seconds(url, token, args.reps)
            with contextlib.ExitStack() as held:
                for n in range(args.held):
                    sock = held.enter_context(socket.create_connection(("127.0.0.1", port)))
                    sock.sendall(f"GET /api/v1/groups?n={n} HTTP/1.1\r\nHost: b\r\nX-A: ".encode())
                for _ in range(args.idle):
                    held.enter_context(socket.create_connection(("127.0.0.1", port)))
                for _ in range(args.idle):
                    sock = held.enter_context(socket.create_connection(("127.0.0.1", port)))
                    sock.sendall(b"GET /api/v1/health/live HTTP/1.1\r\nHost: b\r\n\r\n")
                    sock.recv(65536)
                loaded = listing_seconds(url, token, args.reps)
        finally:
            process.terminate()
            process.wait(30)
    ratio = statistics.median(loaded) / statistics.median(quiet)
    result = {
        "held": args.held,
        "idle": args.idle,
        "reps": args.reps,
        "quiet_median_ms": round(statistics.median(quiet) * 1000, 2),
        "held_median_ms": round(statistics.median(loaded) * 1000, 2),
        "held_worst_ms": round(max(loaded) * 1000, 2),
        "ratio": round(ratio, 2),
    }
    print(
        f"listing, quiet: median {result['quiet_median_ms']} ms\n"
        f"listing, {args.held} half-sent + {2 * args.idle} idle connections open: "
        f"median {result['held_median_ms']} ms, worst {result['held_worst_ms']} ms\n"
        f"ratio (median held / median quiet): {result['ratio']} (target < 2, worst < 1 s)"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0 if ratio < 2 and max(loaded) < 1 else 1


if __name__ == "__main__":
    sys.exit(main())
