#!/usr/bin/env python3
"""`depot push` of one large file against nginx's WebDAV `curl -T` of the same file, in one
run on one machine (issue 15 §2: target >= 0.7x), and `depot --help`'s start time.

Each rep pushes the file three ways, in an order that rotates every rep: `curl -T` to
nginx (the limit: a C server writing a file), `depot push` through an upload session
(hashed while sent: the file is read once), and `depot push` in one request
(`DEPOT_RESUMABLE_ABOVE` above the size: hashed first, then sent — the path every push
took before sessions). The first 4 KiB are renewed before each rep (a new blob each time)
and each timed step starts after an untimed `sync`. Prints median [min-max] MiB/s and the
ratios to nginx; `--json FILE` keeps every figure. Run it with the venv's Python.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from transfer import (
    MIB,
    NAME,
    PRODUCT,
    DepotServer,
    free_port,
    make_data,
    renew_head,
    spread,
    start,
    stop,
    tool,
    wait_http,
)

TARGET = 0.7
NGINX_DAV = """daemon off;
{user}worker_processes 2;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fcgi;
    uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        client_max_body_size 0;
        client_body_buffer_size 1m;
        dav_methods PUT DELETE;
        create_full_put_path on;
    }}
}}
"""


def start_dav(work: Path) -> tuple[subprocess.Popen[bytes], int]:
    """nginx accepting PUT into ``work/dav`` on a free port."""
    prefix, port, root = work / "nginx", free_port(), work / "dav"
    prefix.mkdir()
    root.mkdir()
    (root / "ready").write_text("ok")
    user = "user root;\n" if os.geteuid() == 0 else ""
    conf = prefix / "nginx.conf"
    conf.write_text(NGINX_DAV.format(user=user, d=prefix, port=port, root=root))
    cmd = [tool("nginx"), "-c", str(conf), "-p", str(prefix), "-e", str(prefix / "error.log")]
    proc = start(cmd, prefix / "stderr.log")
    wait_http(port, "/ready", proc, prefix / "stderr.log")
    return proc, port


def clock(cmd: list[str], env: dict[str, str] | None = None) -> float:
    """Wall-clock seconds of ``cmd`` after an untimed ``sync``."""
    os.sync()
    begin = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - begin


WAYS = ("nginx curl -T", "depot push (session)", "depot push (one request)")


def push_once(way: str, src: Path, ref: str, port: int, depot: DepotServer) -> float:
    """Seconds of one push of ``src`` the ``way`` named (one of :data:`WAYS`)."""
    if way == WAYS[0]:
        return clock(["curl", "-sf", "-T", str(src), f"http://127.0.0.1:{port}/{NAME}"])
    env = dict(depot.env)
    if way == WAYS[2]:  # above the threshold of sessions: hashed first, sent in one request
        env["DEPOT_RESUMABLE_ABOVE"] = str(src.stat().st_size + 1)
    return clock([tool("depot"), "-q", "push", ref, str(src), "--create"], env)


def help_start(reps: int) -> list[float]:
    """Seconds of `depot --help`, ``reps`` times."""
    found = []
    for _ in range(reps):
        begin = time.perf_counter()
        subprocess.run([tool("depot"), "--help"], check=True, stdout=subprocess.DEVNULL)
        found.append(time.perf_counter() - begin)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, action="append", help="sizes (256 and 1024)")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    sizes = args.size_mib or [256, 1024]
    work = Path(tempfile.mkdtemp(prefix="depot-push-", dir=args.workdir))
    depot = DepotServer(work)
    nginx = None
    results: dict[str, Any] = {"help_s": help_start(10), "sizes": {}}
    try:
        nginx, port = start_dav(work)
        depot.start()
        depot.warm_up(work)
        for size_mib in sizes:
            src = work / NAME
            make_data(src, size_mib * MIB)
            seconds: dict[str, list[float]] = {name: [] for name in WAYS}
            order = list(WAYS)
            serial = 0
            for rep in range(args.reps):
                for name in order[rep % len(order) :] + order[: rep % len(order)]:
                    serial += 1
                    ref = f"{PRODUCT}@{size_mib}.{rep}.{serial}"
                    renew_head(src)
                    seconds[name].append(push_once(name, src, ref, port, depot))
                    shutil.rmtree(work / "dav" / NAME, ignore_errors=True)
                    (work / "dav" / NAME).unlink(missing_ok=True)
                took = ", ".join(f"{n} {s[-1]:.2f}s" for n, s in seconds.items())
                print(f"{size_mib} MiB rep {rep + 1}: {took}", flush=True)
            results["sizes"][size_mib] = seconds
            src.unlink()
    finally:
        stop(depot.proc, signal.SIGTERM)
        stop(nginx, signal.SIGQUIT)
        shutil.rmtree(work, ignore_errors=True)
    ok = True
    print()
    helps = [s * 1000 for s in results["help_s"]]
    print(f"depot --help: {spread(helps)} ms (median [min-max] of {len(helps)}; target < 150)")
    ok = ok and statistics.median(helps) < 150
    for size_mib, seconds in results["sizes"].items():
        rates = {name: [size_mib / s for s in values] for name, values in seconds.items()}
        base = statistics.median(rates["nginx curl -T"])
        print(f"\n{size_mib} MiB, MiB/s, median [min-max] of {args.reps}:")
        for name, values in rates.items():
            ratio = statistics.median(values) / base
            print(f"  {name:26} {spread(values):>22}   {ratio:.2f}x nginx")
        session = statistics.median(rates["depot push (session)"]) / base
        ok = ok and session >= TARGET
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
