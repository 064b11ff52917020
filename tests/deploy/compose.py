"""Read docker/compose.yaml and docker/Dockerfile the way a container engine would, so that
tests/deploy can run the compose topology as processes on this machine.

What comes from the files: every service, its command, its environment (the image's
``ENV`` lines, then the service's ``environment``, with ``${X:-default}`` interpolation done
as compose does it), its volumes, published ports, dependencies and healthchecks. What the
test may change is only where things are: host names, ports and paths (:class:`Rewrite`).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DOCKER = Path(__file__).resolve().parents[2] / "docker"

_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))"
)


def interpolate(text: str, variables: Mapping[str, str]) -> str:
    """``text`` with ``$X``, ``${X}``, ``${X:-default}``, ``${X-default}``, ``${X:?error}``,
    ``${X:+alt}`` and ``$$`` resolved as compose resolves them from ``variables``."""

    def replace(match: re.Match[str]) -> str:
        if match.group("escaped"):
            return "$"
        name = match.group("braced") or match.group("plain")
        value = variables.get(name)
        op, arg = match.group("op"), match.group("arg") or ""
        if op in (":-", "-"):
            if value is None or (op == ":-" and value == ""):
                return interpolate(arg, variables)
        elif op in (":?", "?"):
            if value is None or (op == ":?" and value == ""):
                raise ValueError(f"compose: required variable {name} is not set: {arg}")
        elif op in (":+", "+"):
            present = value is not None and (op == "+" or value != "")
            return interpolate(arg, variables) if present else ""
        return value or ""

    return _VARIABLE.sub(replace, text)


def _resolve(value: Any, variables: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return interpolate(value, variables)
    if isinstance(value, list):
        return [_resolve(item, variables) for item in value]
    if isinstance(value, dict):
        return {key: _resolve(item, variables) for key, item in value.items()}
    return value


@dataclass(frozen=True)
class Image:
    """What the Dockerfile's final stage gives every container built from it."""

    env: dict[str, str]
    entrypoint: list[str]
    cmd: list[str]


def read_dockerfile(path: Path = DOCKER / "Dockerfile") -> Image:
    """The ``ENV``, ``ENTRYPOINT`` and ``CMD`` of the last stage of ``path``."""
    text = re.sub(r"\\\n", " ", path.read_text())
    env: dict[str, str] = {}
    entrypoint: list[str] = []
    cmd: list[str] = []
    import json

    for line in text.splitlines():
        words = line.strip().split(None, 1)
        if not words or words[0].startswith("#"):
            continue
        instruction, rest = words[0].upper(), words[1] if len(words) > 1 else ""
        if instruction == "FROM":
            env, entrypoint, cmd = {}, [], []
        elif instruction == "ENV":
            for pair in shlex.split(rest):
                key, _, value = pair.partition("=")
                env[key] = value
        elif instruction == "ENTRYPOINT":
            entrypoint = json.loads(rest)
        elif instruction == "CMD":
            cmd = json.loads(rest)
    return Image(env, entrypoint, cmd)


@dataclass(frozen=True)
class Volume:
    source: str
    target: str
    read_only: bool


@dataclass
class Service:
    """One service of the compose file, interpolated."""

    name: str
    image: str | None
    built: bool
    command: list[str]
    environment: dict[str, str]
    volumes: list[Volume]
    ports: list[tuple[int, int]]
    depends_on: dict[str, str]
    healthcheck: list[str] = field(default_factory=list)
    restart: str = ""


def _environment(raw: Any) -> dict[str, str]:
    if isinstance(raw, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in raw)
    return {key: "" if value is None else str(value) for key, value in (raw or {}).items()}


def _volume(raw: Any) -> Volume:
    if isinstance(raw, dict):
        return Volume(str(raw["source"]), str(raw["target"]), bool(raw.get("read_only")))
    parts = str(raw).split(":")
    read_only = len(parts) == 3 and "ro" in parts[2].split(",")
    return Volume(parts[0], parts[1], read_only)


def _ports(raw: list[Any]) -> list[tuple[int, int]]:
    ports = []
    for item in raw:
        host, _, container = str(item).rpartition(":")
        ports.append((int(host.rsplit(":", 1)[-1]), int(container.split("/")[0])))
    return ports


def _healthcheck(raw: dict[str, Any] | None) -> list[str]:
    if not raw:
        return []
    test = raw["test"]
    if isinstance(test, str):
        return ["sh", "-c", test]
    if test[0] == "CMD":
        return [str(word) for word in test[1:]]
    if test[0] == "CMD-SHELL":
        return ["sh", "-c", str(test[1])]
    return []


def read_compose(
    variables: Mapping[str, str], path: Path = DOCKER / "compose.yaml"
) -> dict[str, Service]:
    """The services of ``path`` with ``variables`` (an ``.env`` file's contents) applied."""
    document = yaml.safe_load(path.read_text())
    image = read_dockerfile()
    services: dict[str, Service] = {}
    for name, raw in document["services"].items():
        raw = _resolve(raw, variables)
        built = "build" in raw
        command = raw.get("command") or (image.cmd if built else [])
        if isinstance(command, str):
            command = shlex.split(command)
        depends = raw.get("depends_on") or {}
        if isinstance(depends, list):
            depends = dict.fromkeys(depends, "service_started")
        else:
            depends = {
                key: value.get("condition", "service_started") for key, value in depends.items()
            }
        services[name] = Service(
            name=name,
            image=raw.get("image"),
            built=built,
            command=[*(image.entrypoint if built else []), *map(str, command)],
            environment={
                **(image.env if built else {}),
                **_environment(raw.get("environment")),
            },
            volumes=[_volume(item) for item in raw.get("volumes") or []],
            ports=_ports(raw.get("ports") or []),
            depends_on=depends,
            healthcheck=_healthcheck(raw.get("healthcheck"))
            or (_image_healthcheck() if built else []),
            restart=str(raw.get("restart", "")),
        )
    return services


def _image_healthcheck() -> list[str]:
    import json

    text = (DOCKER / "Dockerfile").read_text()
    found = re.search(r"^HEALTHCHECK .*?CMD (\[.*\])$", text, re.M)
    return list(json.loads(found.group(1))) if found else []


def start_order(services: Mapping[str, Service]) -> list[str]:
    """The services in an order that starts every dependency first (as compose does)."""
    order: list[str] = []

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in order:
            return
        if name in path:
            raise ValueError(f"compose: dependency cycle {' -> '.join((*path, name))}")
        for dependency in services[name].depends_on:
            visit(dependency, (*path, name))
        order.append(name)

    for name in services:
        visit(name, ())
    return order


@dataclass
class Rewrite:
    """Where things are on this machine instead of in the containers' network.

    ``addresses`` maps ``service:container_port`` to ``host:port``; ``paths`` maps a path
    inside a container to a folder or file here (per service, see :meth:`for_service`).
    """

    addresses: dict[str, str] = field(default_factory=dict)
    paths: dict[str, str] = field(default_factory=dict)

    def text(self, value: str) -> str:
        """``value`` with every known address and path replaced."""
        for inside, outside in self.addresses.items():
            value = re.sub(rf"(?<![\w.-]){re.escape(inside)}(?!\d)", outside, value)
        for inside, outside in sorted(self.paths.items(), key=lambda item: -len(item[0])):
            if value == inside or value.startswith(inside.rstrip("/") + "/"):
                value = outside + value[len(inside) :]
        return value

    def text_in(self, text: str) -> str:
        """Every known address and container path inside a whole configuration file."""
        for inside, outside in self.addresses.items():
            text = re.sub(rf"(?<![\w.-]){re.escape(inside)}(?!\d)", outside, text)
        for inside, outside in sorted(self.paths.items(), key=lambda item: -len(item[0])):
            text = text.replace(inside, outside)
        return text

    def for_service(self, service: Service, local: dict[str, str], base: Path) -> Rewrite:
        """This rewrite plus ``service``'s own mounts and its ``127.0.0.1:port`` → here."""
        paths = dict(self.paths)
        for volume in service.volumes:
            source = volume.source
            if source.startswith((".", "/")):
                paths[volume.target] = str((base / source).resolve())
        return Rewrite({**self.addresses, **local}, paths)
