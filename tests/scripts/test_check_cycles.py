"""``scripts/check_cycles.py``: the import-cycle check of ``make imports``.

It must name a cycle made on purpose in a throw-away package (directly, through a
function-level import and through an import for type checking only), pass a package
without one, and pass our own four packages.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "check_cycles.py"


def run(*packages: str, path: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {"PYTHONPATH": str(path or ROOT), "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, str(SCRIPT), *packages],
        capture_output=True,
        text=True,
        env=env,
        cwd=path or ROOT,
        check=False,
    )


def package(tmp_path: Path, name: str, modules: dict[str, str]) -> Path:
    root = tmp_path / name
    root.mkdir()
    (root / "__init__.py").write_text("")
    for module, source in modules.items():
        (root / f"{module}.py").write_text(textwrap.dedent(source))
    return tmp_path


def test_a_cycle_made_on_purpose_is_reported_with_its_lines(tmp_path: Path) -> None:
    path = package(
        tmp_path,
        "loopy",
        {
            "a": "from loopy.b import B\nA = 1\n",
            "b": "def later():\n    from loopy.c import C\n    return C\nB = 2\n",
            "c": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import loopy.a\nC = 3\n",
            "d": "import loopy.a\n",
        },
    )
    result = run("loopy", path=path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 import cycle" in result.stdout
    assert "loopy.a -> loopy.b -> loopy.c -> loopy.a" in result.stdout
    assert "loopy/b.py:2" in result.stdout  # the function-level import, by its line
    assert "loopy.d" not in result.stdout  # imports the cycle, is not part of it


def test_two_packages_importing_each_other_are_a_cycle(tmp_path: Path) -> None:
    package(tmp_path, "left", {"x": "import right.y\n"})
    path = package(tmp_path, "right", {"y": "import left.x\n"})
    result = run("left", "right", path=path)
    assert result.returncode == 1
    assert "left.x -> right.y -> left.x" in result.stdout


def test_a_package_without_a_cycle_passes(tmp_path: Path) -> None:
    path = package(tmp_path, "tidy", {"a": "import tidy.b\n", "b": "import json\n"})
    result = run("tidy", path=path)
    assert result.returncode == 0, result.stdout
    assert "no import cycle" in result.stdout


def test_our_packages_hold_no_cycle() -> None:
    result = run("repo_server", "client", "policies", "storage")
    assert result.returncode == 0, result.stdout + result.stderr
