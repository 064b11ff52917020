"""The mapping file: which directory groups give which project groups and roles.

A TOML file (``ldap_mapping_file``) of ``[[map]]`` entries, read once when the server is
wired; a mistake stops the server at start with the entry's number::

    [[map]]
    directory_group = "cn=payments-dev,ou=groups,dc=bank,dc=example"
    project_group = "payments"
    roles = ["member"]

    [[map]]
    directory_group = "cn=depot-admins,ou=groups,dc=bank,dc=example"
    global_roles = ["admin"]

A person holds the union of what every entry of every group they are in (directly or
through nested groups) gives. See docs/ldap.md.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from policies.access import GlobalRole, GroupRole
from policies.errors import PolicyError
from policies.names import validate_group_name
from repo_server.auth.ldap.dn import BadDN, normalize_dn
from repo_server.settings import SettingsError

_KEYS = frozenset({"directory_group", "project_group", "roles", "global_roles"})


@dataclass(frozen=True)
class MappingRule:
    """One ``[[map]]`` entry: a directory group and what it gives."""

    directory_group: str
    project_group: str | None
    roles: frozenset[GroupRole]
    global_roles: frozenset[GlobalRole]


@dataclass(frozen=True)
class Grants:
    """What the directory gives one person: roles in project groups, and global roles.

    ``because`` names, for each grant, the directory groups that give it (for the
    audit trail): keys are ``"group:role"`` for group roles and ``"role"`` for global ones.
    """

    memberships: frozenset[tuple[str, GroupRole]] = frozenset()
    global_roles: frozenset[GlobalRole] = frozenset()
    because: Mapping[str, tuple[str, ...]] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class GroupMapping:
    """Every rule of the mapping file, by normalized directory group DN."""

    rules: tuple[MappingRule, ...] = ()

    @property
    def directory_groups(self) -> tuple[str, ...]:
        """The mapped directory groups (normalized DNs), each once, in file order."""
        return tuple(dict.fromkeys(rule.directory_group for rule in self.rules))

    @property
    def project_groups(self) -> frozenset[str]:
        """The project groups the mapping names."""
        return frozenset(r.project_group for r in self.rules if r.project_group is not None)

    def grants_for(self, directory_groups: Iterable[str]) -> Grants:
        """What membership of ``directory_groups`` (normalized DNs) gives."""
        held = frozenset(directory_groups)
        memberships: set[tuple[str, GroupRole]] = set()
        roles: set[GlobalRole] = set()
        because: dict[str, list[str]] = {}
        for rule in self.rules:
            if rule.directory_group not in held:
                continue
            if rule.project_group is not None:
                for role in rule.roles:
                    memberships.add((rule.project_group, role))
                    because.setdefault(f"{rule.project_group}:{role}", []).append(
                        rule.directory_group
                    )
            for global_role in rule.global_roles:
                roles.add(global_role)
                because.setdefault(str(global_role), []).append(rule.directory_group)
        return Grants(
            frozenset(memberships),
            frozenset(roles),
            {key: tuple(dict.fromkeys(dns)) for key, dns in because.items()},
        )


def _roles(
    where: str, raw: Any, kind: type[GroupRole] | type[GlobalRole], key: str
) -> frozenset[Any]:
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise SettingsError(f"{where}: {key} must be a list of strings")
    found = set()
    for item in raw:
        try:
            found.add(kind(item))
        except ValueError:
            raise SettingsError(
                f"{where}: unknown role {item!r} in {key}; use "
                f"{', '.join(role.value for role in kind)}"
            ) from None
    return frozenset(found)


def parse_mapping(document: Mapping[str, Any], source: str = "the mapping file") -> GroupMapping:
    """The rules of a parsed mapping document; :class:`SettingsError` names any mistake."""
    unknown = set(document) - {"map"}
    if unknown:
        raise SettingsError(
            f"{source}: unknown table(s) {', '.join(sorted(unknown))}; "
            "write each entry as a map table (see docs/ldap.md)"
        )
    entries = document.get("map", [])
    if not isinstance(entries, list):
        raise SettingsError(f"{source}: 'map' must be a list of map tables (see docs/ldap.md)")
    rules = []
    for number, entry in enumerate(entries, start=1):
        where = f"{source}, map entry {number}"
        if not isinstance(entry, dict):
            raise SettingsError(f"{where}: must be a table")
        extra = set(entry) - _KEYS
        if extra:
            raise SettingsError(
                f"{where}: unknown key(s) {', '.join(sorted(extra))}; "
                f"use {', '.join(sorted(_KEYS))}"
            )
        dn = entry.get("directory_group")
        if not isinstance(dn, str) or not dn.strip():
            raise SettingsError(f"{where}: directory_group (the group's DN) is missing")
        try:
            directory_group = normalize_dn(dn)
        except BadDN as error:
            raise SettingsError(f"{where}: directory_group: {error}") from None
        project = entry.get("project_group")
        roles = _roles(where, entry.get("roles", []), GroupRole, "roles")
        global_roles = _roles(where, entry.get("global_roles", []), GlobalRole, "global_roles")
        if project is not None:
            if not isinstance(project, str):
                raise SettingsError(f"{where}: project_group must be a group name")
            try:
                validate_group_name(project)
            except PolicyError as error:
                raise SettingsError(f"{where}: {error.message}") from None
            if not roles:
                raise SettingsError(
                    f'{where}: project_group {project!r} needs roles, e.g. roles = ["member"]'
                )
        elif roles:
            raise SettingsError(f"{where}: roles are given but project_group is missing")
        if project is None and not global_roles:
            raise SettingsError(f"{where}: give project_group and roles, or global_roles")
        rules.append(MappingRule(directory_group, project, roles, global_roles))
    return GroupMapping(tuple(rules))


def load_mapping(path: str) -> GroupMapping:
    """The mapping file at ``path`` (empty path: a mapping that gives nothing)."""
    if not path:
        return GroupMapping()
    try:
        with Path(path).open("rb") as handle:
            document = tomllib.load(handle)
    except OSError as error:
        raise SettingsError(f"ldap_mapping_file: cannot read {path}: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(f"ldap_mapping_file: {path} is not valid TOML: {error}") from None
    return parse_mapping(document, path)
