"""Fail when a package of ours holds an import cycle.

Run by ``make imports`` (so by ``make test``) as ``check_cycles.py repo_server client
policies storage``. It builds the import graph with grimp (import-linter's engine) —
every import counts: at module level, inside a function, and under ``TYPE_CHECKING`` — finds
its strongly connected components (Tarjan) and prints, for each group of modules that
import each other, one cycle through them with the line of every import on it. Exit 0
when there is none, 1 otherwise.

import-linter's ``layers`` contract keeps the order of the layers; this check keeps the
promise that no module of ours, in any layer, reaches itself again through its imports.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections.abc import Iterable, Sequence
from itertools import pairwise
from pathlib import Path

import grimp


def strongly_connected(graph: grimp.ImportGraph) -> list[list[str]]:
    """The groups of two or more modules that reach each other through imports."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    groups: list[list[str]] = []
    for root in sorted(graph.modules):
        if root in index:
            continue
        work: list[tuple[str, Iterable[str]]] = []
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        work.append((root, iter(sorted(graph.find_modules_directly_imported_by(root)))))
        while work:
            node, successors = work[-1]
            for nxt in successors:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph.find_modules_directly_imported_by(nxt)))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    group: list[str] = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        groups.append(sorted(group))
    return sorted(groups)


def one_cycle(graph: grimp.ImportGraph, group: Sequence[str]) -> list[str]:
    """A cycle through the first module of ``group``: ``[a, b, ..., a]``."""
    start = group[0]
    members = set(group)
    best: list[str] | None = None
    for nxt in sorted(graph.find_modules_directly_imported_by(start) & members):
        back = graph.find_shortest_chain(importer=nxt, imported=start)
        if back is not None and (best is None or len(back) + 1 < len(best)):
            best = [start, *back]
    assert best is not None, f"{start} is in a cycle but reaches none"
    return best


def _file_of(module: str) -> str:
    """``module``'s file, relative to the working folder (for the report)."""
    top, _, rest = module.partition(".")
    spec = importlib.util.find_spec(top)
    if spec is None or spec.origin is None:
        return module
    folder = Path(spec.origin).parent
    candidate = folder.joinpath(*rest.split(".")) if rest else folder
    path = candidate / "__init__.py" if candidate.is_dir() else candidate.with_suffix(".py")
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def describe(graph: grimp.ImportGraph, cycle: Sequence[str]) -> list[str]:
    """The lines of the report for one cycle: the chain, then each import on it."""
    lines = [" -> ".join(cycle)]
    for importer, imported in pairwise(cycle):
        details = graph.get_import_details(importer=importer, imported=imported)
        where = ", ".join(f"{_file_of(importer)}:{d['line_number']}" for d in details)
        text = details[0]["line_contents"] if details else f"import {imported}"
        lines.append(f"    {where}  {text}")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("packages", nargs="+", help="top-level packages to check together")
    args = parser.parse_args(argv)
    graph = grimp.build_graph(*args.packages, cache_dir=None)
    groups = strongly_connected(graph)
    if not groups:
        print(f"no import cycle in {', '.join(args.packages)}")
        return 0
    print(f"{len(groups)} import cycle(s) in {', '.join(args.packages)}:")
    for group in groups:
        print()
        print(f"{len(group)} modules: {', '.join(group)}")
        print("\n".join(describe(graph, one_cycle(graph, group))))
    return 1


if __name__ == "__main__":
    sys.exit(main())
