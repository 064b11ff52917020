"""docker/compose.yaml, run as processes: the production shape cannot drift from what works.

There is no container engine on the development machines, so this test reads
docker/compose.yaml and docker/Dockerfile (tests/deploy/compose.py) and starts every service
as a process here, with the environment, command, volumes, dependencies and healthchecks
the files give it. Only host names, ports and paths are rewritten. Where a service's image
cannot run here, a real component stands in for it, and says so:

- ``db`` (postgres:15): the PostgreSQL server the suite runs on, with a fresh database
  owned by the compose file's ``POSTGRES_USER`` (as the image's entrypoint would make it);
  its own healthcheck (``pg_isready``) runs as written.
- ``minio`` (minio/minio): moto's S3 server as a process over HTTP (``mc`` is not here, so
  its readiness is an HTTP request instead of the healthcheck).
- ``ldap`` (osixia/openldap): a real slapd started by python-ldap's slapdtest (as
  tests/ldap does), with the base entry and the read-only service account the image makes
  from its environment, then the compose file's own seed (docker/ldap/seed.ldif); its
  healthcheck (``ldapsearch``) runs as written.
- ``redis`` (redis:7): the Redis server of these machines (127.0.0.1:6379); its
  healthcheck (``redis-cli ping``) runs as written.
- ``proxy`` (nginx:1.27): Debian's nginx with docker/nginx.conf as its ``conf.d`` file
  (addresses, ports and certificate paths rewritten) inside a minimal main configuration
  standing in for the image's, and a certificate made for 127.0.0.1 by a test CA.
- the app services (built from docker/Dockerfile): ``depot-server`` from this checkout.

The keys come from a key ceremony done as docs/operations.md says, on an "offline" folder
of its own; the deployment gets only what ``keys export`` wrote.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.deploy.compose import DOCKER, Rewrite, Service, read_compose, start_order
from tests.e2e.conftest import BIN, free_port
from tests.ldap.directory import Slapd, make_ca

pytestmark = pytest.mark.e2e

KEYS_PASSPHRASE = "online keys passphrase of the deployment"
ROOT_PASSPHRASE = "root keys passphrase of the officers"
#: The seed's demo people and their passwords (docker/ldap/seed.ldif).
SEED_PASSWORDS = {
    "alice": "alice-change-me",
    "carol": "carol-change-me",
    "victor": "victor-change-me",
}


def _base_env() -> dict[str, str]:
    """What a container has that is not Depot's: a PATH, a HOME, a locale."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TMP")
    return {key: os.environ[key] for key in keep if key in os.environ}


class Topology:
    """The compose file's services as processes; stopped in reverse order on close."""

    def __init__(self, tmp: Path, stack: ExitStack, variables: dict[str, str]) -> None:
        self.tmp = tmp
        self.stack = stack
        self.services = read_compose(variables)
        self.rewrite = Rewrite()
        self.local: dict[str, dict[str, str]] = {}
        self.logs: dict[str, Path] = {}
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.outputs: dict[str, str] = {}
        #: Stand-ins whose image's healthcheck tool is not here: checked when started.
        self.ready: set[str] = set()

    # -- the stand-ins -------------------------------------------------------------------

    def start_db(self, service: Service, admin_url: str) -> None:
        import sqlalchemy as sa

        user = service.environment["POSTGRES_USER"]
        password = service.environment["POSTGRES_PASSWORD"]
        name = f"depot_compose_{uuid.uuid4().hex[:8]}"
        engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            exists = conn.scalar(sa.text("select 1 from pg_roles where rolname = :u"), {"u": user})
            if not exists:
                conn.execute(sa.text(f"CREATE ROLE \"{user}\" LOGIN PASSWORD '{password}'"))
            conn.execute(sa.text(f'CREATE DATABASE "{name}" OWNER "{user}"'))
        engine.dispose()

        def drop() -> None:
            engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
            with engine.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            engine.dispose()

        self.stack.callback(drop)
        database = service.environment["POSTGRES_DB"]
        host = admin_url.split("@", 1)[1].split("/", 1)[0]
        # The database name is the one path the URL holds: a fresh one per run.
        self.rewrite.addresses[f"{service.name}:5432/{database}"] = f"{host}/{name}"
        self.rewrite.addresses[f"{service.name}:5432"] = host

    def start_minio(self, service: Service) -> None:
        port = free_port()
        self.spawn(service.name, [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)], {})
        self.rewrite.addresses[f"{service.name}:9000"] = f"127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=2).close()
                self.ready.add(service.name)
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def start_redis(self, service: Service) -> None:
        """The Redis of these machines stands in for the redis image (its own key prefix
        per installation keeps the counters apart from other tests')."""
        self.rewrite.addresses[f"{service.name}:6379"] = "127.0.0.1:6379"

    def start_ldap(self, service: Service) -> None:
        env = service.environment
        suffix = ",".join(f"dc={part}" for part in env["LDAP_DOMAIN"].split("."))

        class ComposeSlapd(Slapd):  # type: ignore[misc]
            pass

        ComposeSlapd.suffix = suffix
        ComposeSlapd.root_pw = env["LDAP_ADMIN_PASSWORD"]
        ComposeSlapd.TMPDIR = str(self.tmp / "slapd")
        (self.tmp / "slapd").mkdir()
        slapd = ComposeSlapd()
        slapd.start()
        self.stack.callback(slapd.stop)
        first = env["LDAP_DOMAIN"].split(".")[0]
        # What osixia/openldap makes from its environment before it loads the seed.
        made_by_image = (
            f"dn: {suffix}\nobjectClass: dcObject\nobjectClass: organization\n"
            f"o: {env['LDAP_ORGANISATION']}\ndc: {first}\n\n"
        )
        if env.get("LDAP_READONLY_USER") == "true":
            made_by_image += (
                f"dn: cn={env['LDAP_READONLY_USER_USERNAME']},{suffix}\n"
                "objectClass: simpleSecurityObject\nobjectClass: organizationalRole\n"
                f"cn: {env['LDAP_READONLY_USER_USERNAME']}\n"
                f"userPassword: {env['LDAP_READONLY_USER_PASSWORD']}\n"
            )
        slapd.ldapadd(made_by_image)
        [seed] = [v for v in service.volumes if v.target.endswith(".ldif")]
        slapd.ldapadd((DOCKER / seed.source).read_text())
        port = int(str(slapd.ldap_uri).rstrip("/").rsplit(":", 1)[1])
        self.rewrite.addresses[f"{service.name}:389"] = f"127.0.0.1:{port}"
        self.local[service.name] = {"127.0.0.1:389": f"127.0.0.1:{port}"}

    def start_proxy(self, service: Service) -> None:
        folder = self.tmp / "nginx"
        folder.mkdir()
        [(published, inside)] = service.ports
        rewrite = self.rewrite.for_service(service, {}, DOCKER)
        [site] = [v for v in service.volumes if v.target.endswith(".conf")]
        text = (DOCKER / site.source).read_text()
        text = re.sub(rf"listen\s+{inside}\b", f"listen 127.0.0.1:{published}", text)
        text = rewrite.text_in(text)
        (folder / "default.conf").write_text(text)
        user = "user root;\n" if os.geteuid() == 0 else ""
        # Stands in for the image's /etc/nginx/nginx.conf, which includes conf.d/*.conf.
        (folder / "nginx.conf").write_text(
            f"{user}daemon off;\nworker_processes 2;\npid {folder}/nginx.pid;\n"
            f"error_log {folder}/error.log warn;\nevents {{ worker_connections 256; }}\n"
            f"http {{\n  access_log {folder}/access.log;\n"
            + "".join(
                f"  {kind}_temp_path {folder}/{kind}-temp;\n"
                for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
            )
            + f"  include {folder}/default.conf;\n}}\n"
        )
        self.spawn(
            service.name,
            ["/usr/sbin/nginx", "-p", str(folder), "-c", str(folder / "nginx.conf")],
            {},
            stop=signal.SIGQUIT,
        )
        self.local[service.name] = {f"127.0.0.1:{inside}": f"127.0.0.1:{published}"}

    # -- the app services ----------------------------------------------------------------

    def app_env(self, service: Service) -> dict[str, str]:
        """The service's environment with this machine's addresses and folders."""
        data = self.tmp / f"{service.name}-data"
        data.mkdir(exist_ok=True)
        environment = dict(service.environment)
        local = self.local.setdefault(service.name, {})
        if "DEPOT_PORT" in environment:
            if "127.0.0.1:8080" not in local:
                local["127.0.0.1:8080"] = f"127.0.0.1:{free_port()}"
            environment["DEPOT_PORT"] = local["127.0.0.1:8080"].rsplit(":", 1)[1]
            self.rewrite.addresses[f"{service.name}:8080"] = local["127.0.0.1:8080"]
        if environment.get("DEPOT_HOST") == "0.0.0.0":
            environment["DEPOT_HOST"] = "127.0.0.1"
        rewrite = self.rewrite.for_service(service, local, DOCKER)
        rewrite.paths[environment["DEPOT_DATA_DIR"]] = str(data)
        return {**_base_env(), **{k: rewrite.text(v) for k, v in environment.items()}}

    def command(self, service: Service) -> list[str]:
        executable, *args = service.command
        return [str(BIN / executable), *args]

    def run_once(self, service: Service) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            self.command(service),
            env=self.app_env(service),
            capture_output=True,
            text=True,
            timeout=180,
        )
        self.outputs[service.name] = result.stdout + result.stderr
        return result

    def start_app(self, service: Service) -> None:
        self.spawn(service.name, self.command(service), self.app_env(service))

    def spawn(
        self, name: str, argv: list[str], env: dict[str, str], stop: int = signal.SIGTERM
    ) -> None:
        log = self.tmp / f"{name}.log"
        self.logs[name] = log
        handle = log.open("wb")
        process = subprocess.Popen(argv, env=env or None, stdout=handle, stderr=subprocess.STDOUT)
        self.processes[name] = process

        def end() -> None:
            if process.poll() is None:
                process.send_signal(stop)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            handle.close()

        self.stack.callback(end)

    def healthy(self, service: Service, timeout: float = 120) -> None:
        """Wait until ``service``'s healthcheck (the compose file's or the image's) passes."""
        if service.name in self.ready:
            return
        rewrite = self.rewrite.for_service(service, self.local.get(service.name, {}), DOCKER)
        argv = [rewrite.text(arg) for arg in service.healthcheck]
        if argv and argv[0] == "python":
            argv[0] = sys.executable
        deadline = time.monotonic() + timeout
        while True:
            process = self.processes.get(service.name)
            if process is not None and process.poll() is not None:
                raise AssertionError(
                    f"{service.name} exited {process.returncode}:\n{self.tail(service.name)}"
                )
            if subprocess.run(argv, capture_output=True, timeout=30).returncode == 0:
                return
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{service.name} never became healthy:\n{self.tail(service.name)}"
                )
            time.sleep(0.5)

    def tail(self, name: str) -> str:
        log = self.logs.get(name)
        text = (
            log.read_text(errors="replace") if log and log.exists() else self.outputs.get(name, "")
        )
        return text[-4000:]


def ceremony(tmp: Path, public_url: str, keys_folder: Path) -> str:
    """The offline key ceremony of docs/operations.md, on a folder standing in for the
    offline machine; returns the root fingerprint clients pin."""
    offline = tmp / "offline-machine"
    env = {
        **_base_env(),
        "DEPOT_DATA_DIR": str(offline / "ceremony"),
        "DEPOT_PUBLIC_URL": public_url,
        "DEPOT_KEYS_PASSPHRASE": KEYS_PASSPHRASE,
        "DEPOT_ROOT_KEY_PASSPHRASE": ROOT_PASSPHRASE,
    }

    def server(*args: str) -> str:
        result = subprocess.run(
            [str(BIN / "depot-server"), *args], env=env, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    (offline / "ceremony").mkdir(parents=True)
    server("db", "upgrade")  # the ceremony's own database holds only the keyrings
    for officer in (1, 2, 3):
        server("keys", "generate-roots", str(offline / f"usb-{officer}"), "--count", "1")
    roots = [f"--root-key={offline / f'usb-{n}' / 'root-1.pem'}" for n in (1, 2, 3)]
    # The enrolment officers' keys (they sign whose personal keys count), offline too.
    server("keys", "generate-roots", str(offline / "usb-enrolment"), "--count", "2",
           "--role", "enrollment")  # fmt: skip
    enrollers = [
        f"--enrollment-key={key}" for key in sorted((offline / "usb-enrolment").glob("*.pem"))
    ]
    shown = server("--json", "keys", "init", *roots, "--threshold", "2", *enrollers)
    exported = server("keys", "export", str(keys_folder))
    assert "root" not in " ".join(p.name for p in keys_folder.iterdir())
    fingerprint = re.search(r'"root_fingerprint": "([0-9a-f]{64})"', shown)
    assert fingerprint and fingerprint.group(1) in exported
    return fingerprint.group(1)


@pytest.fixture
def topology(tmp_path: Path, postgres_server: str) -> Iterator[Topology]:
    if not Path("/usr/sbin/nginx").exists():
        pytest.fail(
            "Debian's nginx is missing: `make test` installs it (scripts/ensure-services.sh)"
        )
    tls = make_ca(tmp_path / "tls", name="Depot Test Proxy CA")
    shutil.copy(tls.server_cert, tls.server_cert.with_name("server.crt"))
    (tmp_path / "keys").mkdir()
    variables = {  # the operator's .env beside compose.yaml
        "DEPOT_KEYS_FOLDER": str(tmp_path / "keys"),
        "DEPOT_TLS_FOLDER": str(tmp_path / "tls"),
        "DEPOT_KEYS_PASSPHRASE": KEYS_PASSPHRASE,
        "DEPOT_HTTPS_PORT": str(free_port()),
    }
    with ExitStack() as stack:
        yield Topology(tmp_path, stack, variables)


def test_the_compose_file_runs_a_whole_lifecycle_through_the_tls_proxy(
    topology: Topology, tmp_path: Path, postgres_server: str
) -> None:
    services = topology.services
    assert services["app1"].environment["DEPOT_PLUGINS"] == "quality,product_service"
    assert all(v.read_only for v in services["app1"].volumes if v.target == "/etc/depot/keys")
    order = start_order(services)
    one_shot = {
        dependency
        for service in services.values()
        for dependency, condition in service.depends_on.items()
        if condition == "service_completed_successfully"
    }
    starters = {
        "db": lambda s: topology.start_db(s, postgres_server),
        "minio": topology.start_minio,
        "ldap": topology.start_ldap,
        "redis": topology.start_redis,
        "proxy": topology.start_proxy,
    }
    [(published, _)] = services["proxy"].ports
    url = f"https://127.0.0.1:{published}"
    public = services["app1"].environment["DEPOT_PUBLIC_URL"]
    topology.rewrite.addresses[public.removeprefix("https://")] = url.removeprefix("https://")

    keys_folder = tmp_path / "keys"
    fingerprint = ""
    for name in order:
        service = services[name]
        for dependency, condition in service.depends_on.items():
            if condition == "service_healthy" and services[dependency].healthcheck:
                topology.healthy(services[dependency])
        if name in starters:
            starters[name](service)
        elif name in one_shot:
            if name == "keys" and not fingerprint:
                # As shipped before the ceremony: the import refuses, so `init` never
                # runs and no root key is ever made inside a container.
                refused = topology.run_once(service)
                assert refused.returncode == 4, topology.outputs[name]
                assert "holds no keyring" in topology.outputs[name]
                fingerprint = ceremony(tmp_path, url, keys_folder)
            result = topology.run_once(service)
            assert result.returncode == 0, f"{name}: {topology.outputs[name]}"
        else:
            topology.start_app(service)
    topology.healthy(services["proxy"])
    # The enrolment officers bring their keys to the deployment and sign its first
    # enrolment document (docs/trust.md, "Key ceremonies"): clients require one.
    enrollers = sorted((tmp_path / "offline-machine" / "usb-enrolment").glob("*.pem"))
    enrolled = subprocess.run(
        [str(BIN / "depot-server"), "keys", "enroll", "--all",
         *(f"--enrollment-key={key}" for key in enrollers)],
        env=topology.app_env(services["app2"]), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert enrolled.returncode == 0, enrolled.stdout + enrolled.stderr
    exported = sorted(p.name for p in keys_folder.iterdir())
    password = re.search(r"password:\s+(\S+)", topology.outputs["init"])
    assert password, topology.outputs["init"]

    lifecycle(url, tmp_path, password.group(1), fingerprint, topology)

    # Nothing was written into the keys folder, and no root key exists on any node.
    assert sorted(p.name for p in keys_folder.iterdir()) == exported
    assert not list(tmp_path.glob("*-data/root-keys"))
    for command in (("audit", "verify"), ("scrub",)):
        app = services["app2"]
        result = subprocess.run(
            [str(BIN / "depot-server"), *command],
            env=topology.app_env(app),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stdout + result.stderr


def lifecycle(
    url: str, tmp: Path, admin_password: str, fingerprint: str, topology: Topology
) -> None:
    """Sign in through the directory, push, accept, check in, check out, pull verified —
    every request through the TLS proxy, one app node stopped half-way."""
    ca = tmp / "tls" / "ca.pem"

    def depot(person: str, *args: str, input: str | None = None) -> str:
        env = {**_base_env(), "DEPOT_CONFIG_DIR": str(tmp / f"cli-{person}"),
               "SSL_CERT_FILE": str(ca), "COLUMNS": "200"}  # fmt: skip
        result = subprocess.run(
            [str(BIN / "depot"), *args], env=env, input=input, capture_output=True, text=True,
            timeout=120,
        )  # fmt: skip
        assert result.returncode == 0, f"depot {' '.join(args)}: {result.stdout}{result.stderr}"
        return result.stdout

    depot("admin", "login", "--server", url, "--user", "admin", "--password-stdin",
          input=admin_password + "\n")  # fmt: skip
    depot("admin", "group", "create", "payments")
    for person, secret in SEED_PASSWORDS.items():
        signed_in = depot(person, "login", "--server", url, "--user", person, "--password-stdin",
                          input=secret + "\n")  # fmt: skip
        assert f"as {person}" in signed_in
    ref = "payments/core@1.0.0"
    # A new product is a registration request: victor, the version manager, approves it.
    registration = re.search(r'"registration_request": (\d+)', depot(
        "alice", "--json", "product", "create", "payments/core", "--category", "application",
        "--origin", "in_house"))  # fmt: skip
    assert registration
    depot("victor", "approve", registration.group(1), "--comment", "registered")
    build = tmp / "core-1.0.0.tar.gz"
    build.write_bytes(os.urandom(3 << 20))
    depot("alice", "push", ref, str(build), "--create")
    depot("alice", "submit", ref, "--to", "carol")
    report = tmp / "report.txt"
    report.write_text("every test passes\n")
    depot("carol", "accept", ref, "--report", str(report))
    checkin = re.search(r'"id": (\d+)', depot("alice", "--json", "checkin", "request", ref,
                                               "--notes", "GA"))  # fmt: skip
    assert checkin
    depot("victor", "approve", checkin.group(1), "--comment", "archived")

    # One app node goes away: the proxy sends everything to the other.
    topology.processes["app1"].send_signal(signal.SIGTERM)
    topology.processes["app1"].wait(timeout=30)
    checkout = re.search(r'"id": (\d+)', depot("alice", "--json", "checkout", "request", ref,
                                                "--purpose", "deploy"))  # fmt: skip
    assert checkout
    depot("victor", "approve", checkout.group(1))
    depot("alice", "trust", "init", url, "--root-fingerprint", fingerprint)
    out = tmp / "out"
    pulled = depot("alice", "--json", "pull", ref, "-o", str(out))
    assert '"library_number": 1' in pulled
    assert (out / build.name).read_bytes() == build.read_bytes()
