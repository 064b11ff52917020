"""What the Merkle log costs an action, and what proofs cost as the log grows.

Run with the venv's Python: ``.venv/bin/python bench/audit_log.py [--records N] [--database URL]``.
Figures are ratios against a baseline run in the same process:

- append: inserting N audit records through :class:`AuditLog` (leaf bytes, tree nodes,
  the log-state row lock) against inserting the same rows without the log, each record
  in its own write transaction as actions do. The log adds three statements (a tree node
  or two, the log state) to the record's one; target: at most 4x a bare insert.
- proofs: time of an inclusion proof and of a consistency proof read from the stored
  subtree hashes at 1/8 of N and at N records, against the time of one append. A proof
  must not grow with the log (O(log n) lookups): target ratio at N / ratio at N/8 < 2.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from repo_server.audit.models import AuditEvent
from repo_server.audit.services import AuditLog
from repo_server.auth.principal import system
from repo_server.clock import Clock
from repo_server.db import Database
from repo_server.migrate import upgrade
from repo_server.trust.log import MerkleLog


def timed(action, reps: int = 1) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    for _ in range(reps):
        action()
    return (time.perf_counter() - start) / reps


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=4000)
    parser.add_argument("--database", help="SQLAlchemy URL of an empty database (default: SQLite)")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="depot-bench-log-"))
    db = Database(args.database or f"sqlite:///{folder / 'bench.sqlite3'}")
    upgrade(db)
    audit = AuditLog(db, Clock())
    who = system()
    n = args.records

    def with_log(i: int) -> None:
        with db.write() as session:
            audit.record(
                session, who, "bench.action", target=f"bench/app@1.0.{i}", details={"i": i}
            )

    def without_log(i: int) -> None:
        with db.write() as session:
            session.add(
                AuditEvent(
                    at=audit.clock.now(), actor="system", token=None, role="", action="bench.plain",
                    outcome="ok", group_name=None, target=f"bench/app@1.0.{i}", rule="", reason="",
                    remote_addr="", details=json.dumps({"i": i}), leaf_index=-1 - i, leaf=b"",
                )
            )  # fmt: skip

    def proofs(size: int) -> tuple[float, float]:
        with db.read() as session:
            reader = MerkleLog.reader(session)
            inclusion = timed(
                lambda: MerkleLog.reader(session).inclusion_proof(size // 2, size), 20
            )
            consistency = timed(
                lambda: MerkleLog.reader(session).consistency_proof(size // 3, size), 20
            )
            del reader
        return inclusion, consistency

    log_times, plain_times = [], []
    early: tuple[float, float] = (0.0, 0.0)
    for i in range(n):  # interleaved, so both see the same machine
        log_times.append(timed(lambda i=i: with_log(i)))
        plain_times.append(timed(lambda i=i: without_log(i)))
        if i + 1 == n // 8:
            early = proofs(n // 8)
    late = proofs(n)
    append = statistics.median(log_times)
    baseline = statistics.median(plain_times)
    rows = [
        ("append (median s)", append, baseline, append / baseline, "<= 4x", append / baseline <= 4),
        (
            f"inclusion proof at {n} / at {n // 8}",
            late[0], early[0], late[0] / early[0], "< 2x", late[0] / early[0] < 2,
        ),
        (
            f"consistency proof at {n} / at {n // 8}",
            late[1], early[1], late[1] / early[1], "< 2x", late[1] / early[1] < 2,
        ),
    ]  # fmt: skip
    print(f"{'measure':40} {'Depot':>12} {'baseline':>12} {'ratio':>7}  target  result")
    for name, value, base, ratio, target, ok in rows:
        print(
            f"{name:40} {value:12.6f} {base:12.6f} {ratio:7.2f}  {target:6}  "
            + ("PASS" if ok else "FAIL")
        )
    if args.json:
        args.json.write_text(json.dumps([r[:5] for r in rows], indent=1))
    db.dispose()
    return 0 if all(r[5] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
