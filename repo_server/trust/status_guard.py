"""The state a version may be signed in follows from the signed log, never from a row alone.

Called by :meth:`repo_server.trust.services.SigningService.issue_status` before it signs a
status. A database editor who sets a retired version's rows back to ``checked_in`` must not
get a fresh ``checked_in`` status signed: the lifecycle events of the version are read back
from the audit log (each record checked against the bytes and the leaf hash the log holds,
so an edited record is noticed too), together with the last status the server signed, and
a status that does not follow from them is refused (``trust.refused``, recorded in the
audit trail by the caller) instead of signed.

- ``checked_in`` needs the log's check-in of exactly this manifest, no retirement after
  it, no quarantine left unreleased, and a last signed status that was not ``retired``;
  the rows of the version and of its last status must say what their signed document says.
- ``quarantined`` needs a version that the log has not retired.
- ``retired`` is always allowed: it stops use, it never grants it.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from policies.trust.documents import Status
from policies.trust.dsse import Envelope
from policies.trust.merkle import leaf_hash
from repo_server.artifacts.models import Version
from repo_server.audit.models import AuditEvent
from repo_server.audit.services import AuditLog, leaf_bytes
from repo_server.auth.principal import system
from repo_server.errors import DepotError
from repo_server.trust.models import LogNode, VersionStatus

LIFECYCLE = ("checkin.approve", "version.retire", "version.quarantine", "version.release")


class StatusRefused(DepotError):
    """The rows ask for a status the signed log does not support: nothing is signed.

    ``record`` holds the fields of the ``trust.refused`` audit record that
    :func:`recording_refusals` writes once the refused transaction is rolled back.
    """

    status = 409
    code = "trust.refused"

    def __init__(self, message: str, *, ref: str, group: str, state: str) -> None:
        super().__init__(message)
        self.record = {
            "target": ref,
            "group": group,
            "outcome": "failed",
            "rule": "status.follows_log",
            "reason": message,
            "details": {"state": state},
        }


@contextmanager
def recording_refusals(audit: AuditLog) -> Iterator[None]:
    """Record every :class:`StatusRefused` raised inside as ``trust.refused`` (in a
    transaction of its own, after the refused one ended), then let it through.

    Put it *outside* the write transaction that may sign a status.
    """
    try:
        yield
    except StatusRefused as refused:
        audit.record_refusal(system(), "trust.refused", **refused.record)
        raise


@dataclass(frozen=True)
class LoggedState:
    """What the log's lifecycle records say about one version."""

    manifest_sha256: str | None = None
    retired: bool = False
    quarantined: bool = False


def logged_state(session: Session, ref: str) -> LoggedState | str:
    """Replay the lifecycle records of ``ref``, each checked against the log's leaf
    (the problem, as text, when one does not match)."""
    rows = session.scalars(
        sa.select(AuditEvent)
        .where(
            AuditEvent.action.in_(LIFECYCLE),
            AuditEvent.target == ref,
            AuditEvent.outcome == "ok",
        )
        .order_by(AuditEvent.leaf_index)
    ).all()
    manifest, retired, quarantined = None, False, False
    for row in rows:
        node = session.get(LogNode, (0, row.leaf_index))
        if (
            leaf_bytes(row) != row.leaf
            or node is None
            or not hmac.compare_digest(node.hash, leaf_hash(row.leaf))
        ):
            return (
                f"the log record {row.leaf_index} ({row.action} of {ref}) does not match the "
                "log: the audit trail was edited"
            )
        if row.action == "checkin.approve":
            manifest = json.loads(row.details or "{}").get("manifest_sha256")
        elif row.action == "version.retire":
            retired = True
        elif row.action == "version.quarantine":
            quarantined = True
        else:
            quarantined = False
    return LoggedState(manifest, retired, quarantined)


def _problem(
    session: Session, ref: str, version: Version, state: str, row: VersionStatus | None
) -> str | None:
    if row is not None:
        previous = Status.from_payload(Envelope.from_bytes(row.envelope).payload)
        if (previous.ref, previous.state, previous.serial) != (ref, row.state, row.serial):
            return (
                f"the status row of {ref} says {row.state} (serial {row.serial}), its signed "
                f"document says {previous.state} (serial {previous.serial}): the row was edited"
            )
        if previous.state == "retired":
            return f"{ref} was retired (signed status); its rows ask for {state}"
    log = logged_state(session, ref)
    if isinstance(log, str):
        return log
    if log.retired:
        return f"{ref} was retired (signed log); its rows ask for {state}"
    if state == "quarantined":
        return None
    if row is not None and log.manifest_sha256 != version.manifest_sha256:
        return (
            f"the log's check-in of {ref} names manifest {log.manifest_sha256}, its row "
            f"{version.manifest_sha256}"
        )
    if log.quarantined:
        return f"{ref} is quarantined (signed log); its rows ask for checked_in"
    if version.state != "checked_in":
        return f"{ref} is {version.state} in its row, not checked in"
    return None


def check_status(
    session: Session,
    group: str,
    product: str,
    version: Version,
    state: str,
    row: VersionStatus | None,
) -> None:
    """Raise :class:`StatusRefused` unless signing ``state`` for ``version`` follows from
    the signed log and the last signed status (``row``)."""
    if state == "retired":
        return
    ref = f"{group}/{product}@{version.version}"
    problem = _problem(session, ref, version, state, row)
    if problem is not None:
        raise StatusRefused(
            f"refusing to sign {ref} as {state}: {problem}", ref=ref, group=group, state=state
        )
