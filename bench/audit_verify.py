"""How long ``depot-server audit verify --witness`` takes on a log of 100,000 records.

Run with the venv's Python: ``.venv/bin/python bench/audit_verify.py [--records N]
[--database URL] [--reps N] [--json FILE]``.

It fills an empty database (SQLite by default) with N audit records exactly as the server
writes them (canonical leaf bytes, RFC 6962 subtree hashes, the log state), a keyring, a
checkpoint of the whole log signed by the log key, and a witness's cosigned copy of it;
then times the replay the command runs (:class:`repo_server.trust.replay.Replayer`):
every record re-encoded and hashed, the tree rebuilt, the checkpoints and the witness's
checkpoint compared, the lifecycle rules and the rows checked. Target (issue 10): under
60 s for 100,000 records on this machine; the figure is also given as records per second.
The database is filled in bulk (not through one transaction per record, which would take
minutes and measures something else: see ``bench/audit_log.py``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from policies.trust.merkle import leaf_hash, node_hash
from policies.trust.note import SignedNote
from policies.trust.witness import cosign
from repo_server.audit.models import AuditEvent
from repo_server.audit.services import AuditLog, leaf_bytes
from repo_server.clock import Clock
from repo_server.db import Database
from repo_server.migrate import upgrade
from repo_server.settings import load_settings
from repo_server.trust.keystore import KeyStore
from repo_server.trust.models import LogNode, LogState
from repo_server.trust.replay import Replayer
from repo_server.trust.witnesses import LogCheckpoints

ACTIONS = ("file.upload", "file.download", "group.member.add", "auth.login", "version.create")
BATCH = 5000


def fill(db: Database, n: int) -> None:
    """N records, their leaves and every complete subtree's hash, in bulk."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    nodes: dict[tuple[int, int], bytes] = {}
    rows: list[dict[str, object]] = []
    node_rows: list[dict[str, object]] = []

    def flush() -> None:
        with db.write() as session:
            if rows:
                session.execute(sa.insert(AuditEvent), rows)
            if node_rows:
                session.execute(sa.insert(LogNode), node_rows)
        rows.clear()
        node_rows.clear()

    for i in range(n):
        action = ACTIONS[i % len(ACTIONS)]
        row = AuditEvent(
            at=start + timedelta(seconds=i), actor=f"user{i % 97}", token=None,
            role="member", action=action, outcome="ok", group_name=f"g{i % 13}",
            target=f"g{i % 13}/app@1.0.{i % 1000}/file-{i}.bin", rule="", reason="",
            remote_addr="10.0.0.1", details=json.dumps({"size": i, "role": "document"}),
            leaf_index=i,
        )  # fmt: skip
        row.leaf = leaf_bytes(row)
        rows.append({c: getattr(row, c) for c in (
            "at", "actor", "token", "role", "action", "outcome", "group_name", "target",
            "rule", "reason", "remote_addr", "details", "leaf_index", "leaf")})  # fmt: skip
        digest, level, position = leaf_hash(row.leaf), 0, i
        nodes[(0, i)] = digest
        node_rows.append({"level": 0, "index": i, "hash": digest})
        while position % 2 == 1:
            digest = node_hash(nodes[(level, position - 1)], digest)
            level, position = level + 1, position // 2
            nodes[(level, position)] = digest
            node_rows.append({"level": level, "index": position, "hash": digest})
        if len(rows) >= BATCH:
            flush()
    flush()
    with db.write() as session:
        session.merge(LogState(id=1, size=n))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--database", help="SQLAlchemy URL of an empty database (default: SQLite)")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="depot-bench-verify-"))
    db = Database(args.database or f"sqlite:///{folder / 'bench.sqlite3'}")
    upgrade(db)
    settings = load_settings({}, data_dir=folder, database_url=str(db.engine.url))
    clock = Clock()
    keys = KeyStore(db, settings)
    with db.write() as session:
        keys.create(session, [Ed25519PrivateKey.generate()], 1, clock.now())
    started = time.perf_counter()
    fill(db, args.records)
    filled = time.perf_counter() - started
    checkpoint = LogCheckpoints(db, AuditLog(db, clock), clock, keys).latest()
    note = SignedNote.parse(checkpoint.note)
    line = cosign(note.text, "bench.example/w", Ed25519PrivateKey.generate(), 1)
    witnessed = [("witness", note.with_signatures([line]).to_bytes())]
    times = []
    for _ in range(args.reps):
        start = time.perf_counter()
        report = Replayer(db, witnessed=witnessed).run()
        times.append(time.perf_counter() - start)
        assert report.ok, report.problems[:5]
        assert report.entries == args.records and report.witnessed == 1
    median = statistics.median(times)
    ok = median < 60 * args.records / 100_000
    print(f"filled {args.records} records in {filled:.1f} s")
    print(
        f"audit verify --witness of {args.records} records: median {median:.1f} s "
        f"[{min(times):.1f}-{max(times):.1f}] of {args.reps}, "
        f"{args.records / median:,.0f} records/s; target < 60 s per 100,000: "
        + ("PASS" if ok else "FAIL")
    )
    if args.json:
        args.json.write_text(json.dumps({"records": args.records, "seconds": times}, indent=1))
    db.dispose()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
