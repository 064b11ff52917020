#!/usr/bin/env python3
"""The resumable push at full size (issue 17 §1): a 10 GiB file, `depot push` killed twice
mid-way (SIGKILL), the third run resumes and completes, then `depot pull` (verified,
through the library) and `depot verify` offline succeed.

It runs the suite's own test, `tests/e2e/test_resumable_push.py`, on folder+SQLite with
``DEPOT_RESUME_SIZE_MIB`` and ``DEPOT_RESUME_PART_MIB`` set (the suite runs it with
25 MiB in 5 MiB parts), and prints its wall-clock time. The file is sparse (a random MiB
every 64 MiB), so the disk holds the stored copy and the pulled one: about 2x the size.
Run it with the venv's Python from the project folder.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-gib", type=float, default=10.0, help="file size (default 10)")
    parser.add_argument("--part-mib", type=int, default=32, help="part size (default 32)")
    parser.add_argument("--s3", action="store_true", help="S3 (moto) + PostgreSQL instead")
    parser.add_argument("--workdir", type=Path, help="parent of the scratch folders")
    args = parser.parse_args(argv)
    env = os.environ | {
        "DEPOT_RESUME_SIZE_MIB": str(int(args.size_gib * 1024)),
        "DEPOT_RESUME_PART_MIB": str(args.part_mib),
    }
    case = "s3" if args.s3 else "folder"
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "tests/e2e/test_resumable_push.py",
           "-k", f"killed_twice and {case}"]  # fmt: skip
    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
        cmd.append(f"--basetemp={args.workdir / 'resumable-push'}")
    begin = time.perf_counter()
    done = subprocess.run(cmd, cwd=REPO, env=env, check=False)
    seconds = time.perf_counter() - begin
    verdict = "ok" if done.returncode == 0 else "FAILED"
    print(f"{args.size_gib:g} GiB in {args.part_mib} MiB parts, killed twice, resumed, pulled "
          f"and verified: {verdict} in {seconds:.0f} s")  # fmt: skip
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
