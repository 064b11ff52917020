"""The server's layers hold (docs/development.md): the hook specifications are a leaf,
the plugin API only re-exports and the core never imports it, the plugin host only
dispatches, and no service depends on the host.

The import-linter contracts of ``pyproject.toml`` and ``scripts/check_cycles.py`` keep the
whole graph in order (``make imports``); these tests pin the promises a newcomer reads.
"""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

from repo_server.artifacts.transfers import TransferService
from repo_server.hooks import NO_PLUGINS
from repo_server.lifecycle.decisions import DecisionService
from repo_server.lifecycle.library import LibraryService
from repo_server.lifecycle.services import LifecycleService
from repo_server.trust.queries import TrustQueries

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("repo_server", include_external_packages=True, cache_dir=None)


def test_the_hooks_import_only_pluggy_and_the_standard_library() -> None:
    probe = (
        "import sys; before = set(sys.modules); import repo_server.hooks; "
        "print('\\n'.join(sorted(set(sys.modules) - before)))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.split()
    ours = {m for m in loaded if m.split(".")[0] == "repo_server"}
    assert ours == {"repo_server", "repo_server.hooks"}
    others = {m.split(".")[0] for m in loaded} - {"repo_server", "pluggy"}
    assert others <= set(sys.stdlib_module_names) | {"_virtualenv"}, others


def test_the_plugin_api_only_re_exports() -> None:
    tree = ast.parse((ROOT / "repo_server" / "plugin_api.py").read_text())
    kinds = set()
    for node in tree.body[1:]:  # after the docstring
        if isinstance(node, ast.ImportFrom | ast.Import):
            continue
        targets = node.targets if isinstance(node, ast.Assign) else []
        if [getattr(t, "id", None) for t in targets] == ["__all__"]:
            continue
        kinds.add(type(node).__name__)
    assert kinds == set(), f"plugin_api defines something: {kinds}"


def test_only_the_plugins_import_the_plugin_api(graph: grimp.ImportGraph) -> None:
    importers = graph.find_modules_that_directly_import("repo_server.plugin_api")
    assert {m for m in importers if not m.startswith("repo_server.plugins.")} == set()


def test_the_host_dispatches_and_the_web_layer_mounts(graph: grimp.ImportGraph) -> None:
    imported = graph.find_modules_directly_imported_by("repo_server.plugin_host")
    assert not imported & {"flask", "flask_login", "flask_wtf", "werkzeug"}, imported
    assert "repo_server.plugin_host" in graph.find_modules_directly_imported_by(
        "repo_server.web.plugins"
    )


@pytest.mark.parametrize(
    "service", [TransferService, LifecycleService, DecisionService, LibraryService, TrustQueries]
)
def test_services_ask_the_plugins_through_a_protocol_not_the_host(
    graph: grimp.ImportGraph, service: type
) -> None:
    parameter = inspect.signature(service).parameters["plugins"]
    assert (parameter.annotation, parameter.default) == ("Plugins", NO_PLUGINS)
    module = service.__module__
    assert not graph.chain_exists(importer=module, imported="repo_server.plugin_host")
