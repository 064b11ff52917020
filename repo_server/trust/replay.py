"""``depot-server audit verify``: replay the whole log and re-check everything signed.

Streams the audit records in log order and checks that
- the indexes run 0, 1, 2... without a gap (a deleted or re-ordered row is found);
- each record's columns still encode to the bytes that were hashed (an edited row);
- the stored tree nodes are the hashes of those bytes, and the tree of every signed
  checkpoint has the root the checkpoint names, under a log key of some keyring;
- the lifecycle rules held: no check-in without a pass by an officer who uploaded none of
  the version's files, no check-in approved by its requester or by the acceptor, no
  download of a version after it was retired (or quarantined);
- every enrolment document verifies under the enrolment role of some keyring, and every
  approval statement, manifest and status document under the keyring (statements signed
  by a person: under a key an enrolment document lists for them);
- the rows agree with the signed documents and the log (:mod:`repo_server.trust.replay_rows`);
- with checkpoints a witness kept (``--witness``): the log holds at least as many entries
  as each, and its root at that size is the witnessed one. The database's own checkpoints
  can be deleted with the history they would betray; a witness's copy cannot.

Memory stays bounded: the tree is rebuilt from its right edge (O(log n) hashes) and the
rule checks keep a few facts per version.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from policies.trust.documents import Checkpoint
from policies.trust.dsse import (
    ENROLLMENT,
    MANIFEST,
    STATEMENT,
    STATUS,
    Envelope,
    verify,
)
from policies.trust.enrollment import Enrollment
from policies.trust.errors import TrustError
from policies.trust.keyring import Keyring
from policies.trust.merkle import EMPTY_ROOT, leaf_hash, node_hash
from policies.trust.note import ED25519, SignedNote, VerifierKey, verify_note
from policies.trust.witness import check_against_witness
from repo_server.artifacts.models import Version
from repo_server.audit.models import AuditEvent
from repo_server.audit.services import leaf_bytes
from repo_server.db import Database
from repo_server.trust.models import (
    EnrollmentRecord,
    KeyringRecord,
    LogCheckpoint,
    LogNode,
    LogState,
    StatementRecord,
    VersionStatus,
)
from repo_server.trust.replay_rows import LoggedVersion, check_rows

BATCH = 1000


@dataclass
class ReplayReport:
    """What the replay found."""

    entries: int = 0
    checkpoints: int = 0
    documents: int = 0
    witnessed: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "checkpoints": self.checkpoints,
            "documents": self.documents,
            "witnessed": self.witnessed,
            "problems": self.problems,
        }


class Frontier:
    """The right edge of a Merkle tree being built leaf by leaf: its root at any size."""

    def __init__(self) -> None:
        self.edge: list[tuple[int, bytes]] = []  # (level, hash), left to right
        self.size = 0

    def add(self, digest: bytes) -> None:
        level = 0
        position = self.size
        while position % 2 == 1:
            _, left = self.edge.pop()
            digest = node_hash(left, digest)
            level, position = level + 1, position // 2
        self.edge.append((level, digest))
        self.size += 1

    def root(self) -> bytes:
        if not self.edge:
            return EMPTY_ROOT
        digest = self.edge[-1][1]
        for _, left in reversed(self.edge[:-1]):
            digest = node_hash(left, digest)
        return digest


@dataclass
class _VersionFacts:
    uploaders: set[str] = field(default_factory=set)
    accepted_by: str | None = None
    checkin_requested_by: str | None = None
    manifest_sha256: str | None = None
    retired: bool = False
    #: Quarantines lift (``version.release``); a retirement never does.
    quarantined: bool = False

    @property
    def stopped(self) -> str | None:
        """Why nothing may be downloaded any more, if that is so."""
        return "retired" if self.retired else "quarantined" if self.quarantined else None


def _version_of(target: str) -> str:
    """``group/product@version`` of a target that may name a file after it."""
    head, _, rest = target.partition("@")
    return f"{head}@{rest.split('/', 1)[0]}" if rest else target


def _log_keys(keyrings: Sequence[Keyring]) -> list[VerifierKey]:
    """Every log key of every keyring, as signed-note keys named by the log's origin."""
    return [
        VerifierKey(keyring.repository, ED25519, key)
        for keyring in keyrings
        for key in keyring.role_keys("log")[0].values()
    ]


class Replayer:
    """Replays the log of one database.

    ``witnessed`` are checkpoint notes kept outside the server (``(where, note bytes)``,
    from a witness's folder or a file): the replayed log must agree with each.
    """

    def __init__(
        self,
        db: Database,
        progress: Callable[[int, int], None] | None = None,
        witnessed: Sequence[tuple[str, bytes]] = (),
    ) -> None:
        self.db = db
        self.progress = progress or (lambda done, total: None)
        self.witnessed = witnessed

    def run(self) -> ReplayReport:
        report = ReplayReport()
        with self.db.read() as session:
            keyrings = [
                Keyring.from_payload(Envelope.from_bytes(row.envelope).payload)
                for row in session.scalars(sa.select(KeyringRecord).order_by(KeyringRecord.version))
            ]
            checkpoints = {row.size: row for row in session.scalars(sa.select(LogCheckpoint))}
            state = session.get(LogState, 1)
            size = state.size if state else 0
        witnessed = self._witnessed(report, keyrings)
        logged = self._replay_log(report, keyrings, checkpoints, size, witnessed)
        self._check_documents(report, keyrings)
        with self.db.read() as session:
            report.problems += check_rows(session, logged)
        return report

    def _witnessed(self, report: ReplayReport, keyrings: list[Keyring]) -> list[Checkpoint]:
        """The witnesses' checkpoints that the log keys signed (others are problems)."""
        keys = _log_keys(keyrings)
        found = []
        for where, data in self.witnessed:
            try:
                note = SignedNote.parse(data)
                verify_note(note, keys, 1, what=f"the witnessed checkpoint {where}")
                found.append(Checkpoint.from_payload(note.text))
            except TrustError as error:
                report.problems.append(
                    f"the witnessed checkpoint {where} is not one this log signed: {error}"
                )
        return found

    # -- the log -------------------------------------------------------------------------

    def _rows(self) -> Iterator[Any]:
        """The audit records in log order (plain rows, with the stored leaf hash as
        ``stored_hash``), read in batches so memory stays bounded."""
        table = AuditEvent.__table__
        query = sa.select(table, LogNode.hash.label("stored_hash")).outerjoin(
            LogNode, sa.and_(LogNode.level == 0, LogNode.index == table.c.leaf_index)
        )
        after = -1
        while True:
            with self.db.read() as session:
                rows = session.execute(
                    query.where(table.c.leaf_index > after)
                    .order_by(table.c.leaf_index)
                    .limit(BATCH)
                ).all()
            if not rows:
                return
            yield from rows
            after = rows[-1].leaf_index

    def _replay_log(
        self,
        report: ReplayReport,
        keyrings: list[Keyring],
        checkpoints: dict[int, LogCheckpoint],
        size: int,
        witnessed: list[Checkpoint],
    ) -> dict[str, LoggedVersion]:
        log_keys = _log_keys(keyrings)
        tree = Frontier()
        versions: dict[str, _VersionFacts] = {}
        wanted = {c.size for c in witnessed}
        roots: dict[int, bytes] = {0: EMPTY_ROOT}
        for row in self._rows():
            if row.leaf_index != tree.size:
                report.problems.append(
                    f"log entry {tree.size} is missing (the next record is entry "
                    f"{row.leaf_index}): records were deleted or re-ordered"
                )
                break
            try:
                edited = leaf_bytes(row, checked=False) != row.leaf
            except (UnicodeEncodeError, ValueError):
                edited = True
            if edited:
                report.problems.append(
                    f"log entry {row.leaf_index} (audit record {row.id}, {row.action} by "
                    f"{row.actor}) was edited: its columns no longer match the hashed record"
                )
            digest = leaf_hash(row.leaf)
            if row.stored_hash != digest:
                report.problems.append(
                    f"log entry {row.leaf_index}: the stored tree node is not the hash "
                    "of the record"
                )
            tree.add(digest)
            if tree.size in wanted:
                roots[tree.size] = tree.root()
            self._check_rules(report, versions, row)
            checkpoint = checkpoints.get(tree.size)
            if checkpoint is not None:
                self._check_checkpoint(report, checkpoint, tree.root(), log_keys)
            report.entries = tree.size
            if tree.size % BATCH == 0:
                self.progress(tree.size, size)
        self.progress(tree.size, size)
        if tree.size != size:
            report.problems.append(f"the log should hold {size} entries but {tree.size} were found")
        for stale in sorted(s for s in checkpoints if s > tree.size):
            report.problems.append(
                f"a checkpoint of {stale} entries was signed but the log holds {tree.size}: "
                "entries were removed"
            )
        for witness in witnessed:
            report.witnessed += 1
            try:
                check_against_witness(witness, tree.size, roots.get(witness.size))
            except TrustError as error:
                report.problems.append(str(error))
        return {
            ref: LoggedVersion(facts.manifest_sha256, facts.retired)
            for ref, facts in versions.items()
        }

    def _check_checkpoint(
        self,
        report: ReplayReport,
        row: LogCheckpoint,
        root: bytes,
        log_keys: list[VerifierKey],
    ) -> None:
        report.checkpoints += 1
        try:
            note = SignedNote.parse(row.note)
            verify_note(note, log_keys, 1, what=f"the checkpoint of {row.size} entries")
            signed = Checkpoint.from_payload(note.text)
        except TrustError as error:
            report.problems.append(f"the checkpoint of {row.size} entries does not verify: {error}")
            return
        if signed.size != row.size or signed.root != root or row.root != root:
            report.problems.append(
                f"the log's root at {row.size} entries is not the one its signed checkpoint names: "
                "history was rewritten"
            )

    @staticmethod
    def _check_rules(report: ReplayReport, versions: dict[str, _VersionFacts], row: Any) -> None:
        if row.outcome != "ok":
            return
        ref = _version_of(row.target)
        facts = versions.setdefault(ref, _VersionFacts())
        where = f"log entry {row.leaf_index} ({row.action} of {row.target} by {row.actor})"
        if row.action == "file.upload":
            details = json.loads(row.details or "{}")
            if details.get("role", "artifact") != "report":
                facts.uploaders.add(row.actor)
        elif row.action == "acceptance.pass":
            if row.actor in facts.uploaders:
                report.problems.append(f"{where}: the acceptor uploaded files of the version")
            facts.accepted_by = row.actor
        elif row.action == "checkin.request":
            facts.checkin_requested_by = row.actor
        elif row.action == "checkin.approve":
            facts.manifest_sha256 = json.loads(row.details or "{}").get("manifest_sha256")
            if facts.accepted_by is None:
                report.problems.append(f"{where}: checked in without a passed acceptance")
            elif row.actor in (facts.accepted_by, facts.checkin_requested_by):
                report.problems.append(f"{where}: approved by the acceptor or the requester")
            elif row.actor in facts.uploaders:
                report.problems.append(f"{where}: approved by an uploader of the version")
        elif row.action == "version.retire":
            facts.retired = True
        elif row.action == "version.quarantine":
            facts.quarantined = True
        elif row.action == "version.release":
            facts.quarantined = False
        elif row.action == "file.download" and facts.stopped:
            report.problems.append(f"{where}: downloaded after the version was {facts.stopped}")

    # -- signed documents ------------------------------------------------------------------

    def _check_documents(self, report: ReplayReport, keyrings: list[Keyring]) -> None:
        release: dict[str, Ed25519PublicKey] = {}
        status: dict[str, Ed25519PublicKey] = {}
        for keyring in keyrings:
            release.update(keyring.role_keys("release")[0])
            status.update(keyring.role_keys("status")[0])
        officers = [k.role_keys("enrollment") for k in keyrings if k.has_role("enrollment")]
        with self.db.read() as session:
            people: dict[str, dict[str, Ed25519PublicKey]] = {}
            for document in session.scalars(sa.select(EnrollmentRecord)):
                report.documents += 1
                envelope = Envelope.from_bytes(document.envelope)
                errors = []
                for keys, threshold in officers:
                    try:
                        verify(envelope, ENROLLMENT, keys, threshold, role="enrollment")
                        break
                    except TrustError as error:
                        errors.append(str(error))
                else:
                    report.problems.append(
                        f"enrolment document version {document.version} does not verify under "
                        f"any keyring's enrollment role: {'; '.join(errors) or 'none has one'}"
                    )
                    continue
                for key in Enrollment.from_payload(envelope.payload).keys:
                    people.setdefault(key.actor, {})[key.keyid] = key.public
            for statement in session.scalars(sa.select(StatementRecord)):
                keys = (
                    release
                    if statement.attestation == "server"
                    else people.get(statement.actor, {})
                )
                self._verify(
                    report, statement.envelope, STATEMENT, keys, f"statement #{statement.id}"
                )
            for version in session.scalars(sa.select(Version).where(Version.manifest.is_not(None))):
                assert version.manifest is not None
                self._verify(
                    report,
                    version.manifest,
                    MANIFEST,
                    release,
                    f"manifest of version #{version.id}",
                )
            for row in session.scalars(sa.select(VersionStatus)):
                self._verify(
                    report, row.envelope, STATUS, status, f"status of version #{row.version_id}"
                )

    @staticmethod
    def _verify(
        report: ReplayReport, data: bytes, kind: str, keys: dict[str, Ed25519PublicKey], what: str
    ) -> None:
        report.documents += 1
        try:
            verify(Envelope.from_bytes(data), kind, keys, 1)
        except TrustError as error:
            report.problems.append(f"the {what} does not verify: {error}")
