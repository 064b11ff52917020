"""Quality issues: reporting, classing, the quality manager's decisions, handling steps,
closing; and the quarantine a confirmed serious issue puts on its build batch.

Every step is an audit record and an issue event in the same transaction.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from repo_server.plugin_api import (
    EVERYTHING,
    N_,
    Caller,
    InvalidRequest,
    NotFound,
    Page,
    PageRequest,
    PluginContext,
    VersionFacts,
    VersionRef,
    by_id,
    decision_words,
)
from repo_server.plugins.quality import rules
from repo_server.plugins.quality.common import (
    choice,
    enforce,
    event_json,
    issue_json,
    notice_json,
    quarantine_json,
    text,
    visible_to,
    who,
)
from repo_server.plugins.quality.models import Issue, IssueEvent, Notice, Quarantine, Supplier
from repo_server.plugins.quality.notices import send_notices
from repo_server.plugins.quality.signatures import Signatures


class Issues:
    """The issue services of one server (built once with the plugin's context)."""

    def __init__(self, context: PluginContext) -> None:
        self.context = context
        self.signatures = Signatures(context, self._load)

    # -- reading -------------------------------------------------------------------------

    def _load(self, session: Session, caller: Caller, number: str) -> Issue:
        found = rules.issue_id(number)
        issue = session.get(Issue, found) if found is not None else None
        if issue is None or not caller.can_see(issue.group_name):
            raise NotFound(N_("quality issue %(issue)s not found", issue=number))
        return issue

    @staticmethod
    def _active(session: Session, issue_ids: Sequence[int]) -> dict[int, int]:
        if not issue_ids:
            return {}
        rows = session.execute(
            sa.select(Quarantine.issue_id, sa.func.count())
            .where(Quarantine.issue_id.in_(issue_ids), Quarantine.lifted_at.is_(None))
            .group_by(Quarantine.issue_id)
        ).all()
        return {int(issue_id): int(count) for issue_id, count in rows}

    def _check(
        self, caller: Caller, number: str, action: str, verdict: Callable[[Issue], rules.Verdict]
    ) -> None:
        """Ask the rules before the write transaction, so that a refusal is audited in a
        transaction of its own (the write asks again, for a concurrent change)."""
        with self.context.read() as session:
            issue = self._load(session, caller, number)
            enforce(
                self.context,
                caller,
                verdict(issue),
                action,
                issue.ref,
                group=issue.group_name,
                issue=issue.number,
            )

    def _again(
        self, caller: Caller, issue: Issue, action: str, verdict: Callable[[Issue], rules.Verdict]
    ) -> None:
        enforce(self.context, caller, verdict(issue), action, issue.ref, audit=False)

    def get(self, caller: Caller, number: str) -> dict[str, Any]:
        """One issue with its full record (events) and its quarantines."""
        with self.context.read() as session:
            issue = self._load(session, caller, number)
            events = session.scalars(
                sa.select(IssueEvent).where(IssueEvent.issue_id == issue.id).order_by(IssueEvent.id)
            ).all()
            quarantines = session.scalars(
                sa.select(Quarantine).where(Quarantine.issue_id == issue.id).order_by(Quarantine.id)
            ).all()
            active = sum(1 for q in quarantines if q.lifted_at is None)
            found = issue_json(issue, active_quarantines=active)
            found["events"] = [event_json(e) for e in events]
            # A batch may reach into groups the caller cannot see: those stay unnamed.
            shown = [q for q in quarantines if caller.can_see(q.group_name)]
            found["quarantines"] = [quarantine_json(q, issue.number) for q in shown]
            found["quarantines_elsewhere"] = len(quarantines) - len(shown)
            notices = session.scalars(
                sa.select(Notice).where(Notice.issue_id == issue.id).order_by(Notice.person)
            ).all()
            found["notices_sent"] = len(notices)
            # Who took the batch out is for those who read the recall list.
            readers = rules.may_read_recall(who(caller)).allowed
            found["notices"] = [notice_json(n, issue) for n in notices] if readers else []
            return found

    def search(
        self,
        caller: Caller,
        *,
        open_only: bool = False,
        status: str | None = None,
        issue_class: str | None = None,
        ref: str | None = None,
        supplier: str | None = None,
        page: PageRequest = EVERYTHING,
    ) -> Page[dict[str, Any]]:
        """A page of the issues ``caller`` may see, newest first, filtered."""
        query = sa.select(Issue).where(visible_to(caller, Issue.group_name))
        if open_only:
            query = query.where(Issue.status != "closed")
        if status:
            query = query.where(Issue.status == choice(status, "status", rules.STATUSES))
        if issue_class:
            query = query.where(Issue.issue_class == choice(issue_class, "class", rules.CLASSES))
        if ref:
            names = rules.parse_ref(ref)
            if names is None:
                raise InvalidRequest(
                    N_("field 'version' must be GROUP/PRODUCT@VERSION (got %(ref)r)", ref=ref),
                    field="version",
                )
            query = query.where(
                Issue.group_name == names[0], Issue.product == names[1], Issue.version == names[2]
            )
        if supplier:
            query = query.where(Issue.supplier == supplier)
        with self.context.read() as session:
            issues = by_id(
                session,
                query,
                Issue.id,
                page,
                scope=json.dumps(["quality.issues", open_only, status, issue_class, ref, supplier]),
                newest_first=True,
            )
            active = self._active(session, [i.id for i in issues.items])
            return issues.map(lambda i: issue_json(i, active_quarantines=active.get(i.id, 0)))

    def quarantines(
        self,
        caller: Caller,
        *,
        active_only: bool = True,
        ref: VersionRef | None = None,
        page: PageRequest = EVERYTHING,
    ) -> Page[dict[str, Any]]:
        """A page of the quarantines of versions ``caller`` may see (active ones unless
        asked), newest first; of one version when ``ref`` is given."""
        query = sa.select(Quarantine).where(visible_to(caller, Quarantine.group_name))
        if ref is not None:
            query = query.where(
                Quarantine.group_name == ref.group,
                Quarantine.product == ref.product,
                Quarantine.version == ref.version,
            )
        if active_only:
            query = query.where(Quarantine.lifted_at.is_(None))
        scope = json.dumps(["quality.quarantines", active_only, str(ref) if ref else None])
        with self.context.read() as session:
            rows = by_id(session, query, Quarantine.id, page, scope=scope, newest_first=True)
            return rows.map(quarantine_json)

    def trends(self, caller: Caller) -> list[dict[str, object]]:
        """Issues reported per month by class, the last 12 months."""
        now = self.context.now()
        with self.context.read() as session:
            rows = session.execute(
                sa.select(Issue.reported_at, Issue.issue_class).where(
                    Issue.reported_at >= rules.first_of_window(now),
                    visible_to(caller, Issue.group_name),
                )
            ).all()
        return rules.trends(((at, c) for at, c in rows), now)

    # -- writing -------------------------------------------------------------------------

    def _event(
        self,
        session: Session,
        issue: Issue,
        caller: Caller,
        step: str,
        words: str,
        signature: str | None = None,
    ) -> None:
        session.add(
            IssueEvent(
                issue_id=issue.id,
                at=self.context.now(),
                actor=caller.username,
                step=step,
                text=words,
                signature=signature,
            )
        )

    def _audit(
        self, session: Session, caller: Caller, issue: Issue, verb: str, **details: Any
    ) -> None:
        self.context.record(
            session,
            caller,
            f"quality.issue.{verb}",
            target=issue.ref,
            group=issue.group_name,
            details={"issue": issue.number, **details},
        )

    def report(self, caller: Caller, ref: str, body: dict[str, Any]) -> dict[str, Any]:
        """File an issue against ``ref`` (a person who can see the version)."""
        names = rules.parse_ref(ref) if isinstance(ref, str) else None
        if names is None:
            raise InvalidRequest(
                N_("field 'version' must be GROUP/PRODUCT@VERSION (got %(ref)r)", ref=ref),
                field="version",
            )
        facts = self.context.version(caller, *names)
        enforce(
            self.context,
            caller,
            rules.may_report(who(caller)),
            "quality.issue.report",
            ref,
            group=facts.group,
        )
        title = text(body.get("title"), "title", limit=200)
        description = text(body.get("description"), "description")
        issue_class = choice(body.get("class"), "class", rules.CLASSES)
        supplier = text(body.get("supplier"), "supplier", required=False, limit=200) or None
        with self.context.write() as session:
            if (
                supplier
                and session.scalar(sa.select(Supplier.id).where(Supplier.name == supplier)) is None
            ):
                raise InvalidRequest(
                    N_("field 'supplier': no supplier %(name)r in the register", name=supplier),
                    field="supplier",
                )
            issue = Issue(
                group_name=facts.group,
                product=facts.product,
                version=facts.version,
                title=title,
                description=description,
                issue_class=issue_class,
                supplier=supplier,
                status="open",
                reported_by=caller.username,
                reported_at=self.context.now(),
            )
            session.add(issue)
            session.flush()
            self._event(session, issue, caller, "report", f"{issue_class}: {title}\n{description}")
            self._audit(
                session,
                caller,
                issue,
                "report",
                title=title,
                **{"class": issue_class},
                supplier=supplier,
            )
            return issue_json(issue)

    def classify(self, caller: Caller, number: str, body: dict[str, Any]) -> dict[str, Any]:
        """Class an open issue general or serious again (the quality manager)."""
        wanted = choice(body.get("class"), "class", rules.CLASSES)
        comment = text(body.get("comment"), "comment", required=False)

        def verdict(issue: Issue) -> rules.Verdict:
            return rules.may_classify(who(caller), issue.status, issue.issue_class, wanted)

        self._check(caller, number, "quality.issue.classify", verdict)
        with self.context.write() as session:
            issue = self._load(session, caller, number)
            self._again(caller, issue, "quality.issue.classify", verdict)
            before, issue.issue_class = issue.issue_class, wanted
            words = f"{before} → {wanted}. {comment}".strip()
            self._event(session, issue, caller, "classify", words)
            self._audit(
                session, caller, issue, "classify", before=before, after=wanted, comment=comment
            )
            return issue_json(issue)

    def batch_of(self, caller: Caller, number: str) -> tuple[list[str], list[VersionFacts]]:
        """The build ids of the issue's version and every version in that batch."""
        return self._batch(caller, number)

    def _batch(self, caller: Caller, number: str) -> tuple[list[str], list[VersionFacts]]:
        """The build batch of the issue's version and every version in it (the version
        itself always; across every group: a quarantine is the server's own act)."""
        with self.context.read() as session:
            issue = self._load(session, caller, number)
            names = (issue.group_name, issue.product, issue.version)
        mine = self.context.versions_by_name([names])
        build_ids = sorted({b for facts in mine for b in facts.build_ids})
        found = {str(f.ref): f for f in [*mine, *self.context.versions_of_build(build_ids)]}
        return build_ids, [found[k] for k in sorted(found)]

    def decide(
        self, caller: Caller, number: str, body: dict[str, Any], *, confirm: bool
    ) -> dict[str, Any]:
        """Confirm (cause ``product``: quarantine the batch at once) or dismiss (cause
        ``use`` or ``maintenance``) an open serious issue (the quality manager)."""
        if confirm:
            cause = choice(body.get("cause") or "product", "cause", ("product",))
        else:
            cause = choice(body.get("cause"), "cause", rules.DISMISS_CAUSES)
        comment = text(body.get("comment"), "comment", required=False)
        verb = "confirm" if confirm else "dismiss"

        def verdict(issue: Issue) -> rules.Verdict:
            return rules.may_decide(who(caller), issue.status, issue.issue_class)

        self._check(caller, number, f"quality.issue.{verb}", verdict)
        signature = self.signatures.signed(caller, number, verb, cause, comment, body)
        build_ids, affected = self._batch(caller, number) if confirm else ([], [])
        now = self.context.now()
        with self.context.write() as session:
            issue = self._load(session, caller, number)
            self._again(caller, issue, f"quality.issue.{verb}", verdict)
            if confirm and not affected:  # the version is gone: quarantine its names
                affected_refs = [(issue.group_name, issue.product, issue.version)]
            else:
                affected_refs = [(v.group, v.product, v.version) for v in affected]
            issue.status = "confirmed" if confirm else "dismissed"
            issue.cause, issue.decided_by, issue.decided_at = cause, caller.username, now
            reason = f"serious quality issue {issue.number} confirmed (cause {cause})"
            refs: list[str] = []
            if confirm:
                # The core's fact from now on: it covers the batch and its bytes in every
                # group (later versions too) and holds with this module disabled. It
                # answers every version it covers now (the same bytes may reach further
                # than the build ids).
                covered = self.context.quarantine(
                    session,
                    caller,
                    reference=issue.number,
                    rule=rules.SERIOUS_RULE,
                    reason=rules.serious_reason([issue.number]),
                    versions=[VersionRef(*names) for names in affected_refs],
                    build_ids=build_ids,
                    sha256s=sorted({s for facts in affected for s in facts.content}),
                    details={"issue": issue.number, "batch": build_ids, "reason": reason},
                )
                named = {f"{g}/{p}@{v}" for g, p, v in affected_refs}
                refs = sorted(named | set(covered))
            words = decision_words(verb, cause, comment)
            if confirm:  # the versions are listed per group under the issue's quarantines
                batch = f"build batch {', '.join(build_ids)}" if build_ids else "no build batch"
                words += f"\nQuarantined {len(refs)} version(s) ({batch})"
            self._event(session, issue, caller, verb, words, signature)
            self._audit(
                session,
                caller,
                issue,
                verb,
                cause=cause,
                comment=comment,
                affected=refs,
                signed=signature is not None,
            )
            for ref in refs:
                group, product, version = rules.parse_ref(ref) or ("", "", "")
                session.add(
                    Quarantine(
                        issue_id=issue.id,
                        group_name=group,
                        product=product,
                        version=version,
                        batch=",".join(build_ids),
                        started_at=now,
                        started_by=caller.username,
                    )
                )
            if confirm:
                send_notices(self.context, session, caller, issue, refs)
            session.flush()
            return issue_json(issue, active_quarantines=len(refs))

    def handle(self, caller: Caller, number: str, body: dict[str, Any]) -> dict[str, Any]:
        """Record a handling decision (free text) on an issue (the quality manager)."""
        note = text(body.get("note"), "note")

        def verdict(issue: Issue) -> rules.Verdict:
            return rules.may_handle(who(caller), issue.status)

        self._check(caller, number, "quality.issue.handle", verdict)
        with self.context.write() as session:
            issue = self._load(session, caller, number)
            self._again(caller, issue, "quality.issue.handle", verdict)
            self._event(session, issue, caller, "handle", note)
            self._audit(session, caller, issue, "handle", note=note)
            active = self._active(session, [issue.id]).get(issue.id, 0)
            return issue_json(issue, active_quarantines=active)

    def lift(self, caller: Caller, number: str, body: dict[str, Any]) -> dict[str, Any]:
        """End every active quarantine of the issue (the quality manager, with a reason);
        a version is released when no other issue still stops it."""
        reason = text(body.get("reason"), "reason")

        def verdict(issue: Issue) -> rules.Verdict:
            return rules.may_lift(who(caller), self._active(session, [issue.id]).get(issue.id, 0))

        with self.context.read() as session:
            issue = self._load(session, caller, number)
            enforce(
                self.context,
                caller,
                verdict(issue),
                "quality.quarantine.lift",
                issue.ref,
                group=issue.group_name,
                issue=issue.number,
            )
        signature = self.signatures.signed(caller, number, "lift", None, reason, body)
        now = self.context.now()
        with self.context.write() as session:
            issue = self._load(session, caller, number)
            self._again(caller, issue, "quality.quarantine.lift", verdict)
            rows = session.scalars(
                sa.select(Quarantine).where(
                    Quarantine.issue_id == issue.id, Quarantine.lifted_at.is_(None)
                )
            ).all()
            for row in rows:
                row.lifted_at, row.lifted_by, row.lift_reason = now, caller.username, reason
            session.flush()
            released = self.context.lift_quarantine(
                session,
                caller,
                reference=issue.number,
                reason=reason,
                details={"issue": issue.number, "reason": reason},
            )
            refs = [row.ref for row in rows]
            words = f"{decision_words('lift', None, reason)}\nLifted on {len(refs)} version(s)"
            self._event(session, issue, caller, "lift", words, signature)
            self.context.record(
                session,
                caller,
                "quality.quarantine.lift",
                target=issue.ref,
                group=issue.group_name,
                details={
                    "issue": issue.number,
                    "reason": reason,
                    "lifted": refs,
                    "released": released,
                    "signed": signature is not None,
                },
            )
            found = issue_json(issue)
            found["released"] = released
            return found

    def close(self, caller: Caller, number: str, body: dict[str, Any]) -> dict[str, Any]:
        """Close an issue with its resolution (see :func:`rules.may_close` for who)."""
        resolution = text(body.get("resolution"), "resolution")

        def verdict(issue: Issue) -> rules.Verdict:
            return rules.may_close(who(caller), issue.status, issue.issue_class, issue.group_name)

        self._check(caller, number, "quality.issue.close", verdict)
        with self.context.write() as session:
            issue = self._load(session, caller, number)
            self._again(caller, issue, "quality.issue.close", verdict)
            issue.status, issue.resolution = "closed", resolution
            issue.closed_by, issue.closed_at = caller.username, self.context.now()
            self._event(session, issue, caller, "close", resolution)
            self._audit(session, caller, issue, "close", resolution=resolution)
            active = self._active(session, [issue.id]).get(issue.id, 0)
            return issue_json(issue, active_quarantines=active)
