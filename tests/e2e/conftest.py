"""The real thing: `depot-server run` (gunicorn) as a process, the `depot` command as a process.

Each server runs on its own data folder, on the folder blob store or on moto's S3 server
over HTTP, and on SQLite or PostgreSQL.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.helpers import http_json
from tests.fixtures.services import create_postgres_database, drop_postgres_database
from tests.support import TEST_SCRYPT_N

BIN = Path(sys.executable).parent
#: How many of a server's newest output lines a test keeps.
LOG_TAIL = 5000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A running `depot-server run` and a `depot` CLI pointed at it."""

    process: subprocess.Popen[str]
    url: str
    env: dict[str, str]
    admin_password: str
    data_dir: Path
    config_dir: Path
    #: The newest lines the server wrote (stdout and stderr), drained by a thread all along.
    log: deque[str] = field(default_factory=lambda: deque(maxlen=LOG_TAIL))
    #: The root fingerprint the first start printed (to pin with `depot trust init`).
    fingerprint: str = ""
    #: The sign-in of the version manager who approves the tests' product registrations.
    registrar_token: str = ""

    def output(self) -> str:
        """The tail of what the server wrote so far (for assertions and failure messages)."""
        return "".join(list(self.log))

    def wait_for_output(self, done: Callable[[str], bool], timeout: float = 10) -> str:
        """The output once ``done(output)`` holds, or as it is after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        text = self.output()
        while not done(text) and time.monotonic() < deadline:
            time.sleep(0.05)
            text = self.output()
        return text

    def depot(
        self,
        *args: str,
        input: str | None = None,
        env: dict[str, str] | None = None,
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        full_env = {
            **os.environ,
            "DEPOT_CONFIG_DIR": str(self.config_dir),
            "COLUMNS": "200",
            **(env or {}),
        }
        result = subprocess.run(
            [str(BIN / "depot"), *args],
            input=input,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"depot {' '.join(args)} exited {result.returncode}:\n"
                f"{result.stdout}\n{result.stderr}"
            )
        return result

    def depot_json(self, *args: str, **kwargs: Any) -> Any:
        return json.loads(self.depot("--json", *args, **kwargs).stdout)

    def create_product(
        self, ref: str, *args: str, env: dict[str, str] | None = None, approver: Any = None
    ) -> Any:
        """`depot product create REF ARGS` (as ``env``'s person) and, as a new product is a
        registration request, its approval: by ``approver`` (a version manager's env) with
        `depot approve`, else by the library's registrar (:meth:`approve_registration`)."""
        answer = self.depot_json("product", "create", ref, *args, env=env)
        if answer["registration"] == "pending":
            number = str(answer["registration_request"])
            if approver is not None:
                self.depot("approve", number, "--comment", "registered", env=approver)
            else:
                self.approve_registration(int(number))
        return answer

    def approve_registration(self, number: int) -> None:
        """Approve registration request ``number`` as ``registrar``, a version manager made
        on first use (`depot-server user create registrar --role version_manager`)."""
        if not self.registrar_token:
            self.admin("user", "create", "registrar", "--role", "version_manager",
                       "--password-stdin", input=self.admin_password + "\n")  # fmt: skip
            self.registrar_token = str(
                http_json("POST", f"{self.url}/api/v1/auth/login",
                          {"username": "registrar", "password": self.admin_password})["token"]
            )  # fmt: skip
        http_json("POST", f"{self.url}/api/v1/requests/{number}/approve",
                  {"comment": "registered"}, self.registrar_token)  # fmt: skip

    def admin(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "depot-server"), *args],
            input=input,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )

    def workers(self) -> list[int]:
        children = (
            Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        )
        return [int(pid) for pid in children]

    def health(self, timeout: float = 5) -> int:
        with urllib.request.urlopen(f"{self.url}/api/v1/health", timeout=timeout) as response:
            return int(response.status)


def start_server(tmp_path: Path, extra_env: dict[str, str]) -> Server:
    """A server on ``tmp_path/server`` with ``extra_env`` (``DEPOT_PORT`` there: on that port,
    as a restarted server comes back where its clients know it; else on a free one)."""
    port = int(extra_env.get("DEPOT_PORT") or free_port())
    data = tmp_path / "server"
    env = {
        **os.environ,
        "DEPOT_DATA_DIR": str(data),
        "DEPOT_PORT": str(port),
        "DEPOT_WORKERS": "2",
        "DEPOT_THREADS": "4",
        "DEPOT_SCRYPT_N": str(TEST_SCRYPT_N),
        **extra_env,
    }
    process = subprocess.Popen(
        [str(BIN / "depot-server"), "run"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    log: deque[str] = deque(maxlen=LOG_TAIL)
    booted = threading.Event()
    threading.Thread(target=_drain, args=(process, log, booted), daemon=True).start()
    booted.wait(60)
    text = "".join(list(log))
    found = re.search(r"password:\s+(\S+)", text)
    pinned = re.search(r"root fingerprint:\s+([0-9a-f]{64})", text)
    server = Server(
        process,
        f"http://127.0.0.1:{port}",
        env,
        found.group(1) if found else "",
        data,
        tmp_path / "cli",
        log,
        pinned.group(1) if pinned else "",
    )
    for _ in range(100):
        try:
            if server.health() == 200:
                return server
        except OSError:
            time.sleep(0.1)
    stop_server(server)
    raise AssertionError("server did not come up:\n" + server.output())


def _drain(process: subprocess.Popen[str], log: deque[str], booted: threading.Event) -> None:
    """Read the server's output until it ends, keeping the newest lines in ``log``.

    Read all along, not only until the server is up: a pipe holds 64 KiB, and a server
    that logs a line per request would block on its next write once it is full.
    ``booted`` is set when a worker has booted (or the output ended)."""
    assert process.stdout is not None
    for line in process.stdout:
        log.append(line)
        if "Booting worker" in line:
            booted.set()
    booted.set()


def stop_server(server: Server) -> None:
    """Stop ``server`` as an operator would (SIGTERM: gunicorn's graceful stop), without
    waiting for its processes to tear their interpreters down.

    A worker logs "Worker exiting" once it has answered every request it had; the master
    logs "Shutting down" once every worker is gone. What follows is Python freeing a large
    heap — seconds per process on a busy machine, for nothing a test can see — so each
    process is killed once it has said so. A process that never says so is waited for."""
    process = server.process
    try:
        workers = server.workers()
    except OSError:  # the master is already gone
        workers = []
    process.send_signal(signal.SIGTERM)
    for pid in workers:
        server.wait_for_output(lambda text, pid=pid: f"Worker exiting (pid: {pid})" in text, 30)
        _kill(pid)
    if "Shutting down: Master" in server.wait_for_output(
        lambda text: "Shutting down: Master" in text, 30
    ):
        _kill(process.pid)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


@pytest.fixture(params=["folder+sqlite", "s3+postgresql"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    yield from serve(request, tmp_path, {})


def serve(
    request: pytest.FixtureRequest, tmp_path: Path, extra: dict[str, str]
) -> Iterator[Server]:
    """Run a server for ``request.param`` (``folder+sqlite`` or ``s3+postgresql``) with
    the environment ``extra`` until the test ends."""
    env: dict[str, str] = dict(extra)
    database = None
    if request.param.startswith("s3"):
        endpoint = request.getfixturevalue("moto_endpoint")
        bucket = f"depot-e2e-{uuid.uuid4().hex[:8]}"
        env["DEPOT_STORAGE_URL"] = f"s3://{bucket}/depot?endpoint_url={endpoint}&create_bucket=true"
        admin_url = request.getfixturevalue("postgres_server")
        database = create_postgres_database(admin_url)
        env["DEPOT_DATABASE_URL"] = database
    running = start_server(tmp_path, env)
    running.kind = request.param  # type: ignore[attr-defined]
    try:
        yield running
    finally:
        stop_server(running)
        if database:
            drop_postgres_database(request.getfixturevalue("postgres_server"), database)
