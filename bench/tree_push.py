#!/usr/bin/env python3
"""A build tree of many small files pushed with one ``depot push REF DIR`` against the
loop a pipeline had to run before (one ``depot push REF FILE`` per file), on one fresh
server, in one run: the figure is the ratio of the two wall-clock times (target >= 5x).
Run it with the venv's Python; see bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from transfer import PRODUCT, DepotServer, stop, tool

TARGET = 5.0


def make_tree(root: Path, files: int, folders: int) -> int:
    """``files`` files of 1-64 KiB spread over ``folders`` folders; their total size."""
    total = 0
    for i in range(files):
        path = root / f"module-{i % folders:02d}" / "lib" / f"part-{i:04d}.jar"
        path.parent.mkdir(parents=True, exist_ok=True)
        data = os.urandom(1024 * (1 + (i * 37) % 64))
        path.write_bytes(data)
        total += len(data)
    return total


def timed(depot: DepotServer, *args: str) -> float:
    os.sync()
    start = time.perf_counter()
    depot.cli(*args)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--folders", type=int, default=25)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp"))
    parser.add_argument("--json", type=Path, help="Write the raw figures here.")
    parser.add_argument("--keep", action="store_true", help="Keep the scratch folder.")
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="depot-tree-bench-", dir=options.workdir))
    depot = DepotServer(work)
    try:
        tree = work / "build"
        total = make_tree(tree, options.files, options.folders)
        depot.start()
        warm = work / "warm.txt"
        warm.write_text("warm up\n")
        depot.cli("-q", "push", f"{PRODUCT}@0.0.1", str(warm), "--create")
        files = sorted(p for p in tree.rglob("*") if p.is_file())
        # The same files, two fresh versions: the loop first, then the tree (each stores
        # new rows; the blobs of the second are already there in both orders, so the
        # loop is given the cold store).
        depot.cli("-q", "version", "create", f"{PRODUCT}@1.0.0")
        os.sync()
        start = time.perf_counter()
        for path in files:
            depot.cli("-q", "push", f"{PRODUCT}@1.0.0", str(path))
        loop = time.perf_counter() - start
        one = timed(
            depot, "-q", "push", f"{PRODUCT}@1.0.1", str(tree), "--create",
            "--threads", str(options.threads),
        )  # fmt: skip
        listed = json.loads(depot.cli("--json", "ls", f"{PRODUCT}@1.0.1"))
        if listed["file_count"] != len(files):
            raise RuntimeError(f"the tree push stored {listed['file_count']} of {len(files)}")
        ratio = loop / one
        ok = ratio >= TARGET
        print(
            f"{len(files)} files, {total / (1 << 20):.1f} MiB in {options.folders} folders\n"
            f"one-by-one loop (depot push REF FILE x {len(files)}): {loop:.1f} s\n"
            f"one depot push REF DIR --threads {options.threads}:       {one:.1f} s\n"
            f"ratio {ratio:.1f}x  (target >= {TARGET:.0f}x)  {'PASS' if ok else 'MISS'}"
        )
        if options.json:
            options.json.write_text(
                json.dumps(
                    {
                        "files": len(files),
                        "bytes": total,
                        "threads": options.threads,
                        "loop_s": loop,
                        "tree_s": one,
                        "ratio": ratio,
                        "depot": tool("depot"),
                    },
                    indent=1,
                )
            )
        return 0 if ok else 1
    finally:
        stop(depot.proc, signal.SIGTERM)
        if not options.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
