#!/usr/bin/env python3
"""Depot transfer benchmark: pull, push, server memory, disk writes, responsiveness.

Every figure is a ratio against a baseline run in the same process on the same machine
(nginx + ``curl`` + ``openssl`` for a download, ``openssl`` + ``cp`` + ``sync`` for an
upload), never an absolute time. Run it with the venv's Python; see bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.client
import json
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Self

MIB = 1 << 20
NAME = "big.bin"
PRODUCT = "bench/big"
HEALTH = "/api/v1/health"
REPO = Path(__file__).resolve().parents[1]
NGINX_CONF = """daemon off;
{user}worker_processes 2;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    sendfile on;
    default_type application/octet-stream;
    client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fcgi;
    uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
    server {{ listen 127.0.0.1:{port}; root {root}; }}
}}
"""


def tool(name: str) -> str:
    """The path of command ``name``: next to this Python (the venv) first, then on PATH."""
    local = Path(sys.executable).parent / name
    found = str(local) if local.exists() else shutil.which(name, path=f"{os.defpath}:/usr/sbin")
    if not found:
        raise SystemExit(f"bench: command {name!r} not found")
    return found


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run(cmd: Sequence[str], *, env: dict[str, str] | None = None, stdin: str = "") -> str:
    """Run ``cmd`` to completion and return its stdout; a failure raises with its stderr."""
    done = subprocess.run(cmd, env=env, input=stdin, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {done.returncode}: {done.stderr.strip()}")
    return done.stdout


def timed(
    cmds: Sequence[Sequence[str]], env: dict[str, str] | None = None
) -> tuple[float, float, list[str]]:
    """Run ``cmds`` one after the other after an untimed ``sync``; time them together.

    Returns the wall-clock seconds, the CPU seconds of the commands and their outputs.
    """
    os.sync()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    outputs = [run(cmd, env=env) for cmd in cmds]
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return seconds, cpu, outputs


def make_data(path: Path, size: int) -> None:
    """Write ``size`` random bytes to ``path`` (os.urandom, 8 MiB at a time)."""
    with open(path, "wb") as handle:
        for offset in range(0, size, 8 * MIB):
            handle.write(os.urandom(min(8 * MIB, size - offset)))


def renew_head(path: Path) -> str:
    """New random first 4 KiB, so that each rep uploads a new blob; the file's sha256."""
    with open(path, "r+b") as handle:
        handle.write(os.urandom(4096))
        handle.seek(0)
        return hashlib.file_digest(handle, "sha256").hexdigest()


def fresh(folder: Path) -> Path:
    """``folder``, emptied: the output of the previous operation is dropped."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    return folder


# --- the server's processes, read from /proc ---------------------------------------------


def server_pids(master: int) -> list[int]:
    """The gunicorn master and its children (the workers)."""
    pids = [master]
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{master}/task"):
            with contextlib.suppress(OSError):
                pids += map(int, Path(f"/proc/{master}/task/{task}/children").read_text().split())
    return pids


def summed(pids: Sequence[int], file: str, key: str) -> int:
    """A numeric ``key:`` line of /proc/PID/FILE (kB in bytes) summed over ``pids``."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            found = re.search(
                rf"^{key}:\s+(\d+)( kB)?", Path(f"/proc/{pid}/{file}").read_text(), re.M
            )
            total += int(found.group(1)) * (1024 if found.group(2) else 1) if found else 0
    return total


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU seconds of ``pids`` (all their threads, running and ended)."""
    ticks = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def clear_refs(pid: int) -> bool:
    """Reset VmHWM of ``pid`` to its current RSS; False where that is not permitted."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


class Sampler:
    """Calls ``sample`` in a thread every ``interval`` seconds while the block runs."""

    interval = 0.05

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> None:
        """One measurement (subclasses)."""

    def _run(self) -> None:
        while not self._stop.is_set():
            start = time.perf_counter()
            self.sample()
            self._stop.wait(max(0.0, self.interval - (time.perf_counter() - start)))

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


class RssMonitor(Sampler):
    """Peak summed RSS of the server's processes: VmRSS every 50 ms, and VmHWM after."""

    def __init__(self, master: int) -> None:
        super().__init__()
        self.master, self.peak, self.hwm = master, 0, 0
        self.hwm_used = all([clear_refs(pid) for pid in server_pids(master)])  # noqa: C419

    def sample(self) -> None:
        self.peak = max(self.peak, summed(server_pids(self.master), "status", "VmRSS"))

    def __exit__(self, *_: object) -> None:
        super().__exit__()
        if self.hwm_used:
            self.hwm = summed(server_pids(self.master), "status", "VmHWM")


class HealthPoller(Sampler):
    """GET the health endpoint every 100 ms on a new connection; keep every latency."""

    interval = 0.1

    def __init__(self, port: int) -> None:
        super().__init__()
        self.port, self.latencies, self.errors = port, list[float](), list[str]()

    def sample(self) -> None:
        start = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            conn.request("GET", HEALTH)
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                self.errors.append(f"HTTP {response.status}")
        except (OSError, http.client.HTTPException) as error:
            self.errors.append(repr(error))
        finally:
            conn.close()
        self.latencies.append(time.perf_counter() - start)


# --- the two servers -----------------------------------------------------------------------


def wait_http(port: int, path: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Wait (at most 60 s) until HEAD ``path`` answers 200, or fail with the log's tail."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        with contextlib.suppress(OSError, http.client.HTTPException), contextlib.closing(conn):
            conn.request("HEAD", path)
            if conn.getresponse().status == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"no server on port {port}:\n{log.read_text(errors='replace')[-2000:]}")


def start(cmd: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start a server process with its output going to ``log``."""
    with open(log, "wb") as out:
        return subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out)


def stop(proc: subprocess.Popen[bytes] | None, sig: signal.Signals) -> None:
    """Send ``sig`` to a server's master process and wait for it (kill it after 60 s)."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def start_nginx(work: Path) -> tuple[subprocess.Popen[bytes], int]:
    """nginx serving ``work`` on a free port, with every path of its own under ``work``."""
    prefix, port = work / "nginx", free_port()
    prefix.mkdir()
    user = "user root;\n" if os.geteuid() == 0 else ""  # its workers must read a 0700 folder
    conf = prefix / "nginx.conf"
    conf.write_text(NGINX_CONF.format(user=user, d=prefix, port=port, root=work))
    cmd = [tool("nginx"), "-c", str(conf), "-p", str(prefix), "-e", str(prefix / "error.log")]
    proc = start(cmd, prefix / "stderr.log")
    wait_http(port, f"/{NAME}", proc, prefix / "stderr.log")
    return proc, port


class DepotServer:
    """A fresh ``depot-server run`` and a ``depot`` client configuration signed in to it."""

    def __init__(self, work: Path, plugins: str = "") -> None:
        self.port, self.log = free_port(), work / "depot-server.log"
        clean = {k: v for k, v in os.environ.items() if not k.startswith("DEPOT_")}
        self.server_env = clean | {
            "DEPOT_DATA_DIR": str(work / "data"),
            "DEPOT_PLUGINS": plugins,
            "PYTHONUNBUFFERED": "1",
        }
        self.env = clean | {"DEPOT_CONFIG_DIR": str(work / "client-config")}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the server, read the admin password it prints, sign in, make the product."""
        cmd = [tool("depot-server"), "run", "--port", str(self.port)]
        self.proc = start(cmd, self.log, self.server_env)
        wait_http(self.port, HEALTH, self.proc, self.log)
        found = re.search(r"password:\s+(\S+)", self.log.read_text())
        if not found:
            raise RuntimeError(f"no admin password in {self.log}")
        url = f"http://127.0.0.1:{self.port}"
        self.cli("login", "--server", url, "--user", "admin", "--password-stdin", stdin=found[1])
        self.cli("group", "create", "bench")
        self.cli("group", "add-member", "bench", "admin")
        # The bench measures transfers: its group registers products without a review.
        self.cli("group", "update", "bench", "--waive-product-review")
        self.cli("product", "create", PRODUCT, "--category", "application", "--origin", "in_house")

    def cli(self, *args: str, stdin: str = "") -> str:
        """Run ``depot ARGS`` against this server."""
        return run([tool("depot"), *args], env=self.env, stdin=stdin)

    def warm_up(self, work: Path) -> None:
        """Push and pull a small file, so that first requests and imports are not measured."""
        small, out = work / "warm.bin", work / "out"
        make_data(small, MIB)
        self.cli("-q", "push", f"{PRODUCT}@0.0.1", str(small), "--create")
        for _ in range(4):
            self.cli("-q", "pull", f"{PRODUCT}@0.0.1", "-o", str(out), "--force", "--unverified")
        small.unlink()

    def measure(self, args: list[str], idle: int, poll: bool) -> dict[str, Any]:
        """Time ``depot ARGS``, watching the server's memory, CPU, writes (and health)."""
        assert self.proc is not None
        os.sync()
        pids = server_pids(self.proc.pid)
        writes, cpu = summed(pids, "io", "write_bytes"), cpu_seconds(pids)
        health = HealthPoller(self.port)
        with RssMonitor(self.proc.pid) as mem, health if poll else contextlib.nullcontext():
            seconds, client_cpu, _ = timed([[tool("depot"), "-q", *args]], self.env)
        pids = server_pids(self.proc.pid)
        return {
            "s": seconds,
            "client_cpu_s": client_cpu,
            "server_cpu_s": cpu_seconds(pids) - cpu,
            "disk_write_bytes": summed(pids, "io", "write_bytes") - writes,
            "rss_growth": max(mem.peak, mem.hwm) - idle,
            "hwm_used": mem.hwm_used,
            "health_latencies_s": health.latencies,
            "health_errors": health.errors,
        }


# --- one repetition --------------------------------------------------------------------------


def one_rep(work: Path, depot: DepotServer, nginx_port: int, rep: int) -> dict[str, Any]:
    """Push and pull the file once with Depot and once with the baselines; raw figures."""
    assert depot.proc is not None
    master, src, ref, openssl = depot.proc.pid, work / NAME, f"{PRODUCT}@1.0.{rep}", tool("openssl")
    sha = renew_head(src)
    raw: dict[str, Any] = {"rep": rep, "sha256": sha}

    def baseline(key: str, cmds: list[list[str]]) -> None:
        raw[key], _, outputs = timed(cmds)
        if not any(output.strip().endswith(sha) for output in outputs):
            raise RuntimeError(f"{key}: the baseline's digest is not {sha}")

    def push_baseline() -> None:
        copy = fresh(work / "copy") / NAME
        dgst = [openssl, "dgst", "-sha256", str(src)]
        baseline("push_baseline_s", [dgst, ["cp", str(src), str(copy)], ["sync"]])
        fresh(work / "copy")

    def push_depot() -> None:
        os.sync()
        raw["idle_rss"] = summed(server_pids(master), "status", "VmRSS")
        raw["push"] = depot.measure(["push", ref, str(src), "--create"], raw["idle_rss"], True)

    def pull_baseline() -> None:
        out, url = fresh(work / "out") / NAME, f"http://127.0.0.1:{nginx_port}/{NAME}"
        curl = ["curl", "-sS", "--fail", "--noproxy", "*", "-o", str(out), url]
        baseline("pull_baseline_s", [curl, [openssl, "dgst", "-sha256", str(out)]])
        fresh(work / "out")

    def pull_depot() -> None:
        out = fresh(work / "out")
        raw["pull"] = depot.measure(
            ["pull", ref, "-o", str(out), "--unverified"], raw["idle_rss"], False
        )
        if (out / NAME).stat().st_size != src.stat().st_size:
            raise RuntimeError("depot pull wrote a file of the wrong size")
        fresh(out)

    # Alternate which side goes first, so that drift in the machine's speed evens out.
    for pair in ((push_baseline, push_depot), (pull_baseline, pull_depot)):
        for step in pair if rep % 2 else pair[::-1]:
            step()
    return raw


# --- the report --------------------------------------------------------------------------------


@dataclass
class Row:
    """One line of the final table."""

    measure: str
    depot: str
    baseline: str
    ratio: str
    target: str
    ok: bool


def spread(values: Sequence[float], spec: str = ".0f") -> str:
    """``median [min–max]`` of ``values`` (just the value for a single rep)."""
    med, low, high = (
        format(v, spec) for v in (statistics.median(values), min(values), max(values))
    )
    return med if len(values) == 1 else f"{med} [{low}–{high}]"


def summarize(reps: list[dict[str, Any]], size: int) -> list[Row]:
    """The table's rows: ratios are judged on the median, bounds on the worst rep."""
    mib, rows, median = size / MIB, list[Row](), statistics.median
    for op, tools, goal in (("pull", "curl+openssl", 0.8), ("push", "openssl+cp+sync", 0.5)):
        ratio = [r[f"{op}_baseline_s"] / r[op]["s"] for r in reps]
        ours = spread([mib / r[op]["s"] for r in reps])
        base = f"{spread([mib / r[f'{op}_baseline_s'] for r in reps])} {tools}"
        target, ok = f">= {goal} median", median(ratio) >= goal
        rows.append(Row(f"depot {op}, MiB/s", ours, base, spread(ratio, ".2f"), target, ok))
    growth = [max(r["push"]["rss_growth"], r["pull"]["rss_growth"]) / MIB for r in reps]
    how = "VmHWM+VmRSS" if all(r["push"]["hwm_used"] for r in reps) else "VmRSS only"
    idle = f"idle {spread([r['idle_rss'] / MIB for r in reps])} MiB"
    name, target, ok = f"server RSS growth, MiB ({how})", "< 64 MiB worst", max(growth) < 64
    rows.append(Row(name, spread(growth, ".1f"), idle, "-", target, ok))
    times = [r["push"]["disk_write_bytes"] / size for r in reps]
    ours, base, ok = spread([t * mib for t in times]), f"file {mib:.0f} MiB", median(times) <= 1.1
    multiple, target = spread(times, ".2f") + "x", "1x (<= 1.1x) median"
    rows.append(Row("server disk writes/upload, MiB", ours, base, multiple, target, ok))
    worst = [max(r["push"]["health_latencies_s"], default=float("inf")) * 1000 for r in reps]
    errors = sum(len(r["push"]["health_errors"]) for r in reps)
    polls = f"{sum(len(r['push']['health_latencies_s']) for r in reps)} polls, {errors} errors"
    target, ok = "answers, < 1 s worst", errors == 0 and max(worst) < 1000
    rows.append(Row("worst health GET in upload, ms", spread(worst, ".1f"), polls, "-", target, ok))
    return rows


def print_table(rows: list[Row], reps: list[dict[str, Any]], size: int) -> None:
    """The final table, then the CPU seconds that help explain it."""
    header = ["measure", "Depot", "baseline", "ratio", "target", "result"]
    cells = [header] + [[*list(asdict(r).values())[:5], "PASS" if r.ok else "FAIL"] for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(6)]
    for n, cell in enumerate(cells):
        print("  ".join(c.ljust(w) for c, w in zip(cell, widths, strict=True)).rstrip())
        if n == 0:
            print("-" * (sum(widths) + 10))
    print(f"\n{len(reps)} rep(s) of {size / MIB:.0f} MiB, median [min–max]; seconds:")
    for op in ("push", "pull"):
        wall, client, server = (
            [r[op][k] for r in reps] for k in ("s", "client_cpu_s", "server_cpu_s")
        )
        print(
            f"  depot {op}: wall {spread(wall, '.2f')}, client CPU {spread(client, '.2f')}, "
            f"server CPU {spread(server, '.2f')}"
        )


def environment() -> dict[str, str]:
    """Versions of what was measured, for the JSON file."""
    commands = {
        "depot_commit": ["git", "-C", str(REPO), "rev-parse", "HEAD"],
        "nginx": [tool("nginx"), "-v"],
        "curl": ["curl", "-V"],
        "openssl": [tool("openssl"), "version"],
        "python": [sys.executable, "-V"],
    }
    found = {k: subprocess.run(c, capture_output=True, text=True) for k, c in commands.items()}
    return {k: (d.stdout + d.stderr).strip().split("\n")[0] for k, d in found.items()}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the table; exit 1 if any target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="file size (default 1024)")
    parser.add_argument("--reps", type=int, default=3, help="repetitions (default 3)")
    parser.add_argument("--workdir", type=Path, help="parent of the scratch folder (default /tmp)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    parser.add_argument("--json", type=Path, help="write the raw results to this file")
    parser.add_argument(
        "--plugins",
        default="",
        help="DEPOT_PLUGINS of the server, e.g. quality,product_service (default: none): "
        "downloads are then streamed and re-checked instead of sent with sendfile",
    )
    args = parser.parse_args(argv)
    size = args.size_mib * MIB
    if not shutil.which("nginx", path="/usr/sbin:/usr/bin"):
        env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "install", "-y", "-q", "nginx"], check=True, env=env)
    work = Path(tempfile.mkdtemp(prefix="depot-bench-", dir=args.workdir))
    nginx, depot, reps = None, DepotServer(work, args.plugins), list[dict[str, Any]]()
    try:
        print(f"scratch folder {work}; writing {args.size_mib} MiB of random data", flush=True)
        make_data(work / NAME, size)
        nginx, nginx_port = start_nginx(work)
        depot.start()
        depot.warm_up(work)
        for rep in range(1, args.reps + 1):
            r = one_rep(work, depot, nginx_port, rep)
            reps.append(r)
            print(
                f"rep {rep}: push {r['push']['s']:.2f}s (baseline {r['push_baseline_s']:.2f}s), "
                f"pull {r['pull']['s']:.2f}s (baseline {r['pull_baseline_s']:.2f}s)",
                flush=True,
            )
    finally:
        stop(depot.proc, signal.SIGTERM)
        stop(nginx, signal.SIGQUIT)
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    rows = summarize(reps, size)
    print()
    print_table(rows, reps, size)
    if args.json:
        body = {"size_bytes": size, "environment": environment(), "reps": reps}
        args.json.write_text(json.dumps(body | {"summary": [asdict(r) for r in rows]}, indent=2))
    return 0 if all(row.ok for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
