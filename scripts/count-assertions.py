#!/usr/bin/env python3
"""Count what the test suite checks, so that a change to its set-up can show it dropped nothing.

Reads every ``tests/**/*.py`` (AST only, nothing is imported) and counts:

- test functions (``def test_*`` at module level or in a ``Test*`` class, not fixtures);
- ``assert`` statements and ``pytest.raises`` blocks/calls, split into those written in a
  test function and those in helpers and fixtures (conftest, support modules, factories);
- with ``--collect``: the tests pytest collects (functions × parametrisations), from
  ``pytest --collect-only -q``.

    scripts/count-assertions.py              # a table by folder, and the totals
    scripts/count-assertions.py --collect    # the same, with the collected count
    scripts/count-assertions.py --json       # one JSON object (to compare two runs)
"""

from __future__ import annotations

import argparse
import ast
import json
import subprocess
import sys
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Counts:
    test_functions: int = 0
    asserts_in_tests: int = 0
    raises_in_tests: int = 0
    asserts_in_helpers: int = 0
    raises_in_helpers: int = 0

    def add(self, other: Counts) -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)


def is_raises(node: ast.AST) -> bool:
    """``pytest.raises(...)`` or a bare ``raises(...)`` call."""
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr == "raises" and isinstance(func.value, ast.Name)
    return isinstance(func, ast.Name) and func.id == "raises"


def count_body(node: ast.AST) -> tuple[int, int]:
    asserts = sum(isinstance(n, ast.Assert) for n in ast.walk(node))
    raises = sum(is_raises(n) for n in ast.walk(node))
    return asserts, raises


def is_fixture(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Decorated with ``pytest.fixture`` (a fixture named ``test_ca`` is no test)."""
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
        if name == "fixture":
            return True
    return False


def is_test(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name.startswith("test_")
        and not is_fixture(node)
    )


def count_file(path: Path) -> Counts:
    tree = ast.parse(path.read_text(), filename=str(path))
    counts = Counts()
    tests: list[ast.AST] = []
    for node in tree.body:
        if is_test(node):
            tests.append(node)
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            tests.extend(item for item in node.body if is_test(item))
    counts.test_functions = len(tests)
    for test in tests:
        asserts, raises = count_body(test)
        counts.asserts_in_tests += asserts
        counts.raises_in_tests += raises
    total_asserts, total_raises = count_body(tree)
    counts.asserts_in_helpers = total_asserts - counts.asserts_in_tests
    counts.raises_in_helpers = total_raises - counts.raises_in_tests
    return counts


def collected() -> tuple[int, Counter[str]]:
    """The number of tests pytest collects, in all and by top folder under tests/."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    ids = [line for line in result.stdout.splitlines() if "::" in line]
    if result.returncode != 0 or not ids:
        sys.exit(f"pytest --collect-only failed:\n{result.stdout}\n{result.stderr}")
    by_folder = Counter(folder_of(Path(i.split("::", 1)[0])) for i in ids)
    return len(ids), by_folder


def folder_of(path: Path) -> str:
    parts = path.relative_to("tests").parts if path.parts[0] == "tests" else path.parts
    return parts[0] if len(parts) > 1 else "."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collect", action="store_true", help="also run pytest --collect-only")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()

    by_folder: dict[str, Counts] = {}
    for path in sorted((ROOT / "tests").rglob("*.py")):
        rel = path.relative_to(ROOT)
        by_folder.setdefault(folder_of(rel), Counts()).add(count_file(path))
    total = Counts()
    for counts in by_folder.values():
        total.add(counts)
    items, items_by_folder = collected() if args.collect else (None, Counter())

    if args.json:
        print(
            json.dumps(
                {
                    "total": asdict(total),
                    "collected": items,
                    "by_folder": {
                        k: {**asdict(v), "collected": items_by_folder.get(k)}
                        for k, v in sorted(by_folder.items())
                    },
                },
                indent=2,
            )
        )
        return
    header = f"{'folder':<12} {'tests':>6} {'asserts':>8} {'raises':>7} {'helper a/r':>11}"
    if args.collect:
        header += f" {'collected':>10}"
    print(header)
    rows = [*sorted(by_folder.items()), ("TOTAL", total)]
    for name, c in rows:
        line = (
            f"{name:<12} {c.test_functions:>6} {c.asserts_in_tests:>8} {c.raises_in_tests:>7} "
            f"{f'{c.asserts_in_helpers}/{c.raises_in_helpers}':>11}"
        )
        if args.collect:
            line += f" {items if name == 'TOTAL' else items_by_folder.get(name, 0):>10}"
        print(line)


if __name__ == "__main__":
    main()
