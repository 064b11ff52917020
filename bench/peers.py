"""Depot beside nginx, pypiserver (waitress, cached) and devpi, measured in one run.

    .venv/bin/python bench/peers.py                       # 3 reps, 256 MiB, 1 GiB under load
    .venv/bin/python bench/peers.py --reps 1 --size-mib 64 --load-mib 256 --json /tmp/p.json
    make bench-peers

It installs pypiserver (``pypiserver[passlib,cache]``, waitress, ``watchdog<2.3``: the
cache that works, see shared notes/peer-servers.md) and devpi-server into a venv of its
own (``--peers-venv``, reused when present), installs wrk with apt-get when it is missing,
and starts nginx, pypiserver, devpi and a fresh ``depot-server run`` on free ports. In each
rep the systems are measured one after the other, in an order that rotates from rep to
rep; every upload sends fresh bytes (the head of the file is renewed), every timed step
starts after ``sync``. Rows:

- ``listing``: ``wrk -t2 -c16`` on a listing: Depot's authenticated files of a version and
  products of a group (``Authorization: Bearer``), the peers' simple page of the project,
  nginx a static copy of such a page; req/s and p99;
- ``listing during upload``: the same wrk while a ``--load-mib`` file goes up (p99);
- ``upload``/``download`` of ``--size-mib``: ``depot push``/``depot pull --unverified``
  (a draft; bench/verified_pull.py measures the verified pull of a checked-in version), and
  ``curl -T`` to Depot's API; ``curl -T`` to nginx (WebDAV PUT); ``curl -F`` (the upload
  form twine sends) to pypiserver and devpi; ``curl -o`` from each;
- ``memory``: Depot's server RSS growth (VmRSS sampled, VmHWM) while a ``--memory-mib``
  file goes up and comes down (once, after the reps; ``--memory-mib 0`` skips it).

The table gives the median [min–max] of each row and its ratio to nginx and to the best
Python peer (higher is better for rates, lower for latencies and memory); ``--json``
writes every figure. The figures are noisy on a shared machine: read the ratios.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import transfer as t  # the helpers of the transfer bench, beside this file

MIB = t.MIB
PROJECT = "bigpkg"
PEER_PACKAGES = ("pypiserver[passlib,cache]", "waitress", "watchdog<2.3", "devpi-server")
DEVPI_USER, DEVPI_PASSWORD = "bench", "bench"
FILES = "/api/v1/groups/bench/products/big/versions/0.0.1/files"
PRODUCTS = "/api/v1/groups/bench/products"
NGINX_CONF = """daemon off;
{user}worker_processes auto;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    default_type application/octet-stream;
    client_max_body_size 0;
    client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fcgi;
    uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
    server {{ listen 127.0.0.1:{port}; root {root}; dav_methods PUT DELETE;
             create_full_put_path on; }}
}}
"""
WAITRESS = """import sys, waitress, pypiserver
app = pypiserver.app(roots=[sys.argv[2]], authenticate=[], password_file=".")
waitress.serve(app, host="127.0.0.1", port=int(sys.argv[1]), threads=4,
               max_request_body_size=1 << 34, ident=None)
"""


# --- the peers -------------------------------------------------------------------------------


def peers_venv(folder: Path) -> Path:
    """A venv with pypiserver and devpi-server (made once, reused)."""
    python = folder / "bin" / "python"
    if not (folder / ".installed").exists():
        subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
        pip = [str(python), "-m", "pip", "--disable-pip-version-check", "-q", "install"]
        subprocess.run([*pip, *PEER_PACKAGES], check=True)
        (folder / ".installed").touch()
    return folder


def ensure_wrk() -> str | None:
    """wrk's path, installed with apt-get if missing and possible; ``None`` otherwise."""
    found = shutil.which("wrk")
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], capture_output=True)
        found = shutil.which("wrk")
    return found


def wait_answer(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Wait (at most 120 s) until ``GET /`` gets any HTTP answer."""
    import http.client

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        with contextlib.suppress(OSError, http.client.HTTPException), contextlib.closing(conn):
            conn.request("GET", "/")
            conn.getresponse().read()
            return
        time.sleep(0.2)
    raise RuntimeError(f"no server on port {port}:\n{log.read_text(errors='replace')[-2000:]}")


def wheel_name(rep: int) -> str:
    return f"{PROJECT}-1.0.{rep}-py3-none-any.whl"


class Peer:
    """One system under test: how to list, upload and download on it."""

    name = ""
    proc: subprocess.Popen[bytes] | None = None
    port = 0

    def listing_urls(self) -> dict[str, tuple[str, list[str]]]:
        """``{row: (url, extra wrk arguments)}``."""
        raise NotImplementedError

    def upload(self, path: Path, rep: int) -> list[str]:
        """The command that uploads ``path`` (as the ``rep``-th version)."""
        raise NotImplementedError

    def download(self, rep: int, out: Path) -> list[str]:
        raise NotImplementedError

    def pids(self) -> list[int]:
        return t.server_pids(self.proc.pid) if self.proc else []

    def stop(self) -> None:
        t.stop(self.proc, t.signal.SIGTERM)


class Nginx(Peer):
    name = "nginx"

    def __init__(self, work: Path) -> None:
        self.work = work
        (work / "simple" / PROJECT).mkdir(parents=True)
        (work / "packages").mkdir()
        # The static page a PEP 503 index answers for the project.
        page = f'<html><body><a href="/packages/{wheel_name(0)}">{wheel_name(0)}</a></body></html>'
        (work / "simple" / PROJECT / "index.html").write_text(page)
        t.make_data(work / t.NAME, MIB)
        prefix, self.port = work / "nginx", t.free_port()
        prefix.mkdir()
        user = "user root;\n" if os.geteuid() == 0 else ""
        conf = prefix / "nginx.conf"
        conf.write_text(NGINX_CONF.format(user=user, d=prefix, port=self.port, root=work))
        cmd = [t.tool("nginx"), "-c", str(conf), "-p", str(prefix), "-e", str(prefix / "error.log")]
        self.proc = t.start(cmd, prefix / "stderr.log")
        t.wait_http(self.port, f"/{t.NAME}", self.proc, prefix / "stderr.log")

    def listing_urls(self) -> dict[str, tuple[str, list[str]]]:
        return {"listing": (f"http://127.0.0.1:{self.port}/simple/{PROJECT}/index.html", [])}

    def upload(self, path: Path, rep: int) -> list[str]:
        url = f"http://127.0.0.1:{self.port}/packages/{wheel_name(rep)}"
        return ["curl", "-sf", "-H", "Expect:", "-T", str(path), url, "-o", "/dev/null"]

    def download(self, rep: int, out: Path) -> list[str]:
        url = f"http://127.0.0.1:{self.port}/packages/{wheel_name(rep)}"
        return ["curl", "-sf", "-o", str(out), url]


def form_upload(url: str, path: Path, rep: int, auth: str = "x:x") -> list[str]:
    """``curl -F`` of the upload form twine sends (the file under its wheel name)."""
    return [
        "curl", "-sf", "-H", "Expect:", "-u", auth, "-o", "/dev/null",
        "-F", ":action=file_upload", "-F", "protocol_version=1", "-F", f"name={PROJECT}",
        "-F", f"version=1.0.{rep}", "-F", "filetype=bdist_wheel", "-F", "pyversion=py3",
        "-F", "metadata_version=2.1",
        "-F", f"content=@{path};filename={wheel_name(rep)};type=application/octet-stream",
        url,
    ]  # fmt: skip


class PypiServer(Peer):
    name = "pypiserver"

    def __init__(self, work: Path, venv: Path) -> None:
        self.root = work / "packages"
        self.root.mkdir(parents=True)
        launcher = work / "pypiserver_waitress.py"
        launcher.write_text(WAITRESS)
        self.port = t.free_port()
        cmd = [str(venv / "bin" / "python"), str(launcher), str(self.port), str(self.root)]
        self.proc = t.start(cmd, work / "pypiserver.log")
        t.wait_http(self.port, "/simple/", self.proc, work / "pypiserver.log")

    def listing_urls(self) -> dict[str, tuple[str, list[str]]]:
        return {"listing": (f"http://127.0.0.1:{self.port}/simple/{PROJECT}/", [])}

    def upload(self, path: Path, rep: int) -> list[str]:
        return form_upload(f"http://127.0.0.1:{self.port}/", path, rep)

    def download(self, rep: int, out: Path) -> list[str]:
        return [
            "curl",
            "-sf",
            "-o",
            str(out),
            f"http://127.0.0.1:{self.port}/packages/{wheel_name(rep)}",
        ]


class Devpi(Peer):
    name = "devpi"

    def __init__(self, work: Path, venv: Path) -> None:
        work.mkdir(parents=True)
        folder, bin_ = work / "devpi", venv / "bin"
        self.port = t.free_port()
        t.run([str(bin_ / "devpi-init"), "--serverdir", str(folder), "--no-root-pypi"])
        cmd = [
            str(bin_ / "devpi-server"), "--host", "127.0.0.1", "--port", str(self.port),
            "--serverdir", str(folder), "--max-request-body-size", str(1 << 34),
        ]  # fmt: skip
        self.proc = t.start(cmd, work / "devpi.log")
        wait_answer(self.port, self.proc, work / "devpi.log")
        base = f"http://127.0.0.1:{self.port}"
        self.base = base
        body = json.dumps({"password": DEVPI_PASSWORD}).encode()
        self._call("PUT", f"{base}/{DEVPI_USER}", body, auth=False)
        index = json.dumps({"bases": [], "volatile": True}).encode()
        self._call("PUT", f"{base}/{DEVPI_USER}/dev", index)

    def _call(self, method: str, url: str, body: bytes, auth: bool = True) -> None:
        cmd = [
            "curl",
            "-sf",
            "-X",
            method,
            "-H",
            "Content-Type: application/json",
            "-o",
            "/dev/null",
        ]
        if auth:
            cmd += ["-u", f"{DEVPI_USER}:{DEVPI_PASSWORD}"]
        subprocess.run([*cmd, "--data-binary", "@-", url], input=body, check=True)

    def listing_urls(self) -> dict[str, tuple[str, list[str]]]:
        return {"listing": (f"{self.base}/{DEVPI_USER}/dev/+simple/{PROJECT}/", [])}

    def upload(self, path: Path, rep: int) -> list[str]:
        return form_upload(
            f"{self.base}/{DEVPI_USER}/dev/", path, rep, f"{DEVPI_USER}:{DEVPI_PASSWORD}"
        )

    def download(self, rep: int, out: Path) -> list[str]:
        # The file's path holds its digest: ask the simple page for the link.
        page = subprocess.run(
            ["curl", "-sf", f"{self.base}/{DEVPI_USER}/dev/+simple/{PROJECT}/"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        found = re.search(r'href="([^"#]*' + re.escape(wheel_name(rep)) + ")", page)
        if not found:
            raise RuntimeError(f"devpi lists no {wheel_name(rep)}")
        link = found[1]
        url = (
            link
            if link.startswith("http")
            else f"{self.base}/{DEVPI_USER}/dev/+simple/{PROJECT}/{link}"
        )
        return ["curl", "-sfL", "-o", str(out), url]


class Depot(Peer):
    name = "Depot"

    def __init__(self, work: Path) -> None:
        work.mkdir(parents=True)
        self.server = t.DepotServer(work)
        self.server.start()
        self.server.warm_up(work)
        self.proc, self.port = self.server.proc, self.server.port
        config = "".join(p.read_text() for p in (work / "client-config").rglob("*") if p.is_file())
        found = re.search(r"depot_[0-9a-f]{16}_[A-Za-z0-9_-]{43}", config)
        if not found:
            raise RuntimeError("no token in the client configuration")
        self.token = found[0]
        self.auth = ["-H", f"Authorization: Bearer {self.token}"]

    def listing_urls(self) -> dict[str, tuple[str, list[str]]]:
        base = f"http://127.0.0.1:{self.port}"
        return {"listing": (base + FILES, self.auth), "group listing": (base + PRODUCTS, self.auth)}

    def upload(self, path: Path, rep: int) -> list[str]:
        return [t.tool("depot"), "-q", "push", f"{t.PRODUCT}@1.0.{rep}", str(path), "--create"]

    def curl_upload(self, path: Path, rep: int) -> list[str]:
        """``curl -T`` to the files route, into a version made first (untimed)."""
        ref = f"{t.PRODUCT}@2.0.{rep}"
        self.server.cli("version", "create", ref)
        url = f"http://127.0.0.1:{self.port}/api/v1/groups/bench/products/big/versions/2.0.{rep}/files/{t.NAME}"
        digest = subprocess.run(
            ["sha256sum", str(path)], capture_output=True, text=True
        ).stdout.split()[0]
        return ["curl", "-sf", "-H", "Expect:", *self.auth, "-H", f"X-Checksum-Sha256: {digest}",
                "-T", str(path), url, "-o", "/dev/null"]  # fmt: skip

    def download(self, rep: int, out: Path) -> list[str]:
        # A draft: nothing signed vouches for it yet (bench/verified_pull.py measures the
        # verified pull of a checked-in version); the client still checks each digest.
        return [t.tool("depot"), "-q", "pull", f"{t.PRODUCT}@1.0.{rep}", "-o", str(out), "--force",
                "--unverified"]  # fmt: skip


# --- measuring -------------------------------------------------------------------------------


def wrk(binary: str | None, url: str, extra: list[str], seconds: int) -> dict[str, float]:
    """req/s and p99 (ms) of ``url`` under 16 connections on 2 threads."""
    if binary is None:
        return small_load(url, extra, seconds)
    out = subprocess.run(
        [binary, "-t2", "-c16", f"-d{seconds}s", "--timeout", "10s", "--latency", *extra, url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {
        "rps": rate,
        "p99_ms": float(p99[1]) * scale[p99[2]] if p99 else float("nan"),
        "non_2xx": float(errors[1]) if errors else 0.0,
    }


def small_load(url: str, extra: list[str], seconds: int) -> dict[str, float]:
    """The fallback when wrk cannot be had: 16 threads of keep-alive GETs."""
    import http.client
    import threading
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    headers = dict(h.split(": ", 1) for h in extra[1::2])
    latencies: list[float] = []
    stop = time.monotonic() + seconds

    def worker() -> None:
        conn = http.client.HTTPConnection(parts.hostname or "", parts.port)
        while time.monotonic() < stop:
            began = time.perf_counter()
            conn.request("GET", parts.path, headers=headers)
            conn.getresponse().read()
            latencies.append(time.perf_counter() - began)

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies.sort()
    return {"rps": len(latencies) / seconds, "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000}


def timed_run(cmd: list[str], env: dict[str, str] | None = None) -> float:
    os.sync()
    began = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - began


@contextlib.contextmanager
def background(cmd: list[str], env: dict[str, str] | None) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL)
    try:
        yield proc
    finally:
        proc.wait()


def one_rep(
    systems: Sequence[Peer], work: Path, args: argparse.Namespace, rep: int, wrk_bin: str | None
) -> dict[str, dict[str, float]]:
    """Every row for every system, in this rep's order."""
    figures: dict[str, dict[str, float]] = {}
    order = list(systems[rep % len(systems) :]) + list(systems[: rep % len(systems)])
    data, load = work / "data.bin", work / "load.bin"
    for system in order:
        env = system.server.env if isinstance(system, Depot) else None
        found = figures.setdefault(system.name, {})
        for row, (url, extra) in system.listing_urls().items():
            got = wrk(wrk_bin, url, extra, args.seconds)
            found[f"{row}, req/s"], found[f"{row} p99, ms"] = got["rps"], got["p99_ms"]
        # Uploads and downloads of fresh bytes.
        number = rep * 10 + 1
        t.renew_head(data)
        found["upload, MiB/s"] = args.size_mib / timed_run(system.upload(data, number), env)
        out = work / "out"
        out.mkdir(exist_ok=True)
        target = out / (t.NAME if isinstance(system, Depot) else "file")
        seconds = timed_run(
            system.download(number, out if isinstance(system, Depot) else target), env
        )
        found["download, MiB/s"] = args.size_mib / seconds
        shutil.rmtree(out)
        if isinstance(system, Depot):
            t.renew_head(data)
            found["upload curl -T, MiB/s"] = args.size_mib / timed_run(
                system.curl_upload(data, rep), env
            )
        # The listing's p99 while a large file goes up.
        t.renew_head(load)
        url, extra = system.listing_urls()["listing"]
        with background(system.upload(load, number + 1), env):
            found["listing p99 during upload, ms"] = wrk(wrk_bin, url, extra, 3)["p99_ms"]
    return figures


def memory(depot: Depot, work: Path, size_mib: int) -> dict[str, float]:
    """Server RSS growth while a ``size_mib`` file goes up and comes down."""
    big = work / "memory.bin"
    t.make_data(big, size_mib * MIB)
    idle = t.summed(depot.pids(), "status", "VmRSS")
    push = depot.server.measure(["push", f"{t.PRODUCT}@3.0.0", str(big), "--create"], idle, False)
    big.unlink()
    out = work / "memory-out"
    pull = depot.server.measure(
        ["pull", f"{t.PRODUCT}@3.0.0", "-o", str(out), "--unverified"], idle, False
    )
    shutil.rmtree(out, ignore_errors=True)
    return {
        "idle RSS, MiB": idle / MIB,
        "RSS growth push, MiB": push["rss_growth"] / MIB,
        "RSS growth pull, MiB": pull["rss_growth"] / MIB,
    }


# --- the table -------------------------------------------------------------------------------

#: Rows where a lower figure is better.
LOWER = ("p99",)


def table(reps: list[dict[str, dict[str, float]]], names: list[str]) -> list[dict[str, Any]]:
    rows: dict[str, dict[str, list[float]]] = {}
    for rep in reps:
        for system, found in rep.items():
            for row, value in found.items():
                rows.setdefault(row, {}).setdefault(system, []).append(value)
    out = []
    for row, per in rows.items():
        lower = any(word in row for word in LOWER)
        median = {s: statistics.median(v) for s, v in per.items()}
        python = [median[s] for s in ("pypiserver", "devpi") if s in median]
        best = (min(python) if lower else max(python)) if python else None
        depot = median.get("Depot")
        entry = {"row": row, "median": median, "min": {s: min(v) for s, v in per.items()},
                 "max": {s: max(v) for s, v in per.items()}}  # fmt: skip
        if depot is not None and median.get("nginx"):
            entry["Depot/nginx"] = depot / median["nginx"]
        if depot is not None and best:
            entry["Depot/best Python peer"] = depot / best
        out.append(entry)
    return out


def print_table(rows: list[dict[str, Any]], names: list[str]) -> None:
    head = (
        f"{'measure':34}"
        + "".join(f"{n:>22}" for n in names)
        + f"{'Depot/nginx':>13}{'Depot/peer':>12}"
    )
    print(head)
    for row in rows:
        cells = []
        for n in names:
            if n in row["median"]:
                m, lo, hi = row["median"][n], row["min"][n], row["max"][n]
                cells.append(
                    f"{m:,.1f} [{lo:,.0f}–{hi:,.0f}]"
                    if m < 100
                    else f"{m:,.0f} [{lo:,.0f}–{hi:,.0f}]"
                )
            else:
                cells.append("–")
        ratio_n = f"{row['Depot/nginx']:.2f}" if "Depot/nginx" in row else "–"
        ratio_p = f"{row['Depot/best Python peer']:.2f}" if "Depot/best Python peer" in row else "–"
        print(
            f"{row['row']:34}" + "".join(f"{c:>22}" for c in cells) + f"{ratio_n:>13}{ratio_p:>12}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--load-mib", type=int, default=1024)
    parser.add_argument("--memory-mib", type=int, default=4096)
    parser.add_argument("--seconds", type=int, default=10, help="of each wrk run")
    parser.add_argument("--workdir", default="/tmp")
    parser.add_argument(
        "--peers-venv", default=str(Path(tempfile.gettempdir()) / "depot-bench-peers")
    )
    parser.add_argument("--only", default="", help="comma-separated: nginx,Depot,pypiserver,devpi")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--json", default="")
    args = parser.parse_args(argv)
    wanted = set(filter(None, args.only.split(",")))
    wrk_bin = ensure_wrk()
    work = Path(tempfile.mkdtemp(prefix="depot-peers-", dir=args.workdir))
    systems: list[Peer] = []
    try:
        venv = (
            peers_venv(Path(args.peers_venv))
            if not wanted or wanted & {"pypiserver", "devpi"}
            else None
        )
        makers: list[tuple[str, Callable[[], Peer]]] = [
            ("nginx", lambda: Nginx(work / "nginx-root")),
            ("Depot", lambda: Depot(work / "depot")),
            ("pypiserver", lambda: PypiServer(work / "pypi", venv)),  # type: ignore[arg-type]
            ("devpi", lambda: Devpi(work / "devpi-root", venv)),  # type: ignore[arg-type]
        ]
        for name, make in makers:
            if not wanted or name in wanted:
                systems.append(make())
        t.make_data(work / "data.bin", args.size_mib * MIB)
        t.make_data(work / "load.bin", args.load_mib * MIB)
        reps = [one_rep(systems, work, args, rep, wrk_bin) for rep in range(args.reps)]
        names = [s.name for s in systems]
        rows = table(reps, names)
        print_table(rows, names)
        depot = next((s for s in systems if isinstance(s, Depot)), None)
        mem = memory(depot, work, args.memory_mib) if depot and args.memory_mib else {}
        for key, value in mem.items():
            print(f"{key:34}{value:>22,.1f}")
        if args.json:
            Path(args.json).write_text(json.dumps(
                {"args": vars(args), "reps": reps, "table": rows, "memory": mem,
                 "wrk": wrk_bin or "built-in load", "environment": t.environment()}, indent=2
            ))  # fmt: skip
    finally:
        for system in systems:
            system.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
