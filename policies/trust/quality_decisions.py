"""Quality decisions signed personally (详细记录并经签署): the quality manager's decision on
a serious issue — confirm (quarantine the batch), dismiss, lift — as a DSSE envelope
signed with their own key, enrolled like the keys of personal approvals.

The server checks the signature when the decision is taken (:func:`verify_decision`
against the person's registered keys) and keeps the envelope with the issue's record; a
client checks it offline against the enrolment document it verified
(:func:`enrolled_keys_of`) and compares what was signed with the record the server shows
(:func:`check_record`): a decision row edited in the database no longer matches.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from policies.trust.canonical import canonical_bytes, parse_canonical, utc_text
from policies.trust.dsse import Envelope, verify
from policies.trust.enrollment import Enrollment
from policies.trust.errors import TrustError
from policies.trust.fields import SPEC_VERSION, Reader

DECISION = "application/vnd.depot.quality-decision.v1+json"
ACTIONS = ("confirm", "dismiss", "lift")
CAUSES = ("product", "use", "maintenance")
#: How far a signed decision's time may be from the server's clock when it is taken.
CLOCK_SKEW = timedelta(minutes=10)


def decision_words(action: str, cause: str | None, text: str) -> str:
    """The first words of the issue's record of a decision (the server writes them, a
    client compares them): ``cause product. the build is broken``, or a lift's reason."""
    if action == "lift":
        return text.strip()
    return f"cause {cause}. {text}".strip()


@dataclass(frozen=True)
class QualityDecision:
    """What the quality manager signs: the issue, its version, the decision and its words."""

    TYPE: ClassVar[str] = "depot.quality_decision"
    FIELDS: ClassVar[tuple[str, ...]] = (
        "_type", "spec_version", "repository", "issue", "ref", "action", "cause",
        "text_base64", "actor", "at",
    )  # fmt: skip

    repository: str
    issue: str
    ref: str
    action: str
    cause: str | None
    text: str
    actor: str
    at: datetime

    def to_payload(self) -> bytes:
        obj: dict[str, Any] = {
            "_type": self.TYPE,
            "spec_version": SPEC_VERSION,
            "repository": self.repository,
            "issue": self.issue,
            "ref": self.ref,
            "action": self.action,
            "cause": self.cause,
            # The words as people wrote them (lines, any character), base64 of their UTF-8.
            "text_base64": base64.b64encode(self.text.encode("utf-8", "surrogatepass")).decode(),
            "actor": self.actor,
            "at": utc_text(self.at),
        }
        self._read(obj)
        return canonical_bytes(obj)

    @classmethod
    def from_payload(cls, data: bytes) -> QualityDecision:
        return cls._read(parse_canonical(data))

    @classmethod
    def _read(cls, obj: dict[str, Any]) -> QualityDecision:
        r = Reader(obj, "the quality decision", cls.FIELDS)
        r.header(cls.TYPE)
        action = r.choice("action", ACTIONS)
        cause = None if action == "lift" else r.choice("cause", CAUSES)
        if action == "lift" and obj["cause"] is not None:
            raise r.fail("cause", "null for a lift")
        return cls(
            repository=r.text("repository"),
            issue=r.text("issue"),
            ref=r.text("ref"),
            action=action,
            cause=cause,
            text=_words(r),
            actor=r.text("actor"),
            at=r.time("at"),
        )


def _words(r: Reader) -> str:
    try:
        return base64.b64decode(r.text("text_base64", empty=True), validate=True).decode(
            "utf-8", "surrogatepass"
        )
    except ValueError:
        raise r.fail("text_base64", "the base64 of UTF-8 text") from None


def verify_decision(
    envelope: Envelope, keys: dict[str, Ed25519PublicKey], actor: str
) -> QualityDecision:
    """The decision ``envelope`` holds, signed by one of ``keys`` (``actor``'s personal
    keys) and naming ``actor`` as its signer; a :class:`TrustError` otherwise."""
    if not keys:
        raise TrustError("signature", f"{actor} has no enrolled personal key")
    decision = QualityDecision.from_payload(
        verify(envelope, DECISION, keys, 1, role=f"personal keys of {actor}")
    )
    if decision.actor != actor:
        raise TrustError(
            "signature", f"the decision is signed as {decision.actor}'s, but was {actor}'s"
        )
    return decision


def enrolled_keys_of(enrollment: Enrollment, actor: str) -> dict[str, Ed25519PublicKey]:
    """``actor``'s enrolled keys that are not revoked (a client's offline check)."""
    return {
        k.keyid: k.public for k in enrollment.keys if k.actor == actor and k.revoked_from is None
    }


@dataclass(frozen=True)
class DecisionRecord:
    """A decision as the issue's record shows it: the step, who, when, the words, and
    (for a confirm or dismiss) the cause and decider the issue itself names."""

    issue: str
    ref: str
    action: str
    actor: str
    at: datetime
    words: str
    issue_cause: str | None = None
    decided_by: str | None = None


def check_record(
    decision: QualityDecision, record: DecisionRecord, repository: str | None = None
) -> None:
    """Raise a :class:`TrustError` ("record") when the record differs from what was
    signed: another issue, version, step, signer, time, words, or (confirm, dismiss) the
    issue's cause or decider."""
    differ = []
    if repository is not None and decision.repository != repository:
        differ.append(f"repository {decision.repository}")
    for name, signed, shown in (
        ("issue", decision.issue, record.issue),
        ("version", decision.ref, record.ref),
        ("step", decision.action, record.action),
        ("signer", decision.actor, record.actor),
    ):
        if signed != shown:
            differ.append(f"{name} {shown!r} (signed: {signed!r})")
    if abs(decision.at - record.at) > CLOCK_SKEW:
        differ.append(f"time {utc_text(record.at)} (signed: {utc_text(decision.at)})")
    if not record.words.startswith(decision_words(decision.action, decision.cause, decision.text)):
        differ.append("the words recorded")
    if decision.action != "lift" and (
        record.issue_cause != decision.cause or record.decided_by != decision.actor
    ):
        differ.append(f"the issue's cause {record.issue_cause!r} or decider {record.decided_by!r}")
    if differ:
        raise TrustError(
            "record",
            f"the record of {record.issue}'s {record.action} differs from what "
            f"{decision.actor} signed: {'; '.join(differ)}",
        )
