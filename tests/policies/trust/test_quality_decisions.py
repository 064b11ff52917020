"""Quality decisions signed with a person's key: the payload, the signature check, and the
comparison of what was signed with the record a server shows."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from policies.trust.dsse import STATEMENT, sign
from policies.trust.enrollment import EnrolledKey, Enrollment
from policies.trust.errors import TrustError
from policies.trust.quality_decisions import (
    DECISION,
    DecisionRecord,
    QualityDecision,
    check_record,
    decision_words,
    enrolled_keys_of,
    verify_decision,
)
from tests.policies.trust.factory import key, kid

AT = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
QUINN = key(41)
REPO = "https://depot.bank.example"
CONFIRM = QualityDecision(
    REPO, "Q-1", "team/app@1.0.0", "confirm", "product", "broken", "quinn", AT
)


def record(**changes: object) -> DecisionRecord:
    base = DecisionRecord(
        issue="Q-1",
        ref="team/app@1.0.0",
        action="confirm",
        actor="quinn",
        at=AT + timedelta(seconds=3),
        words="cause product. broken\nQuarantined 1 version(s) (build batch B-7)",
        issue_cause="product",
        decided_by="quinn",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_a_signed_decision_verifies_and_matches_its_record() -> None:
    assert QualityDecision.from_payload(CONFIRM.to_payload()) == CONFIRM
    envelope = sign(DECISION, CONFIRM.to_payload(), [QUINN])
    keys = {kid(QUINN): QUINN.public_key()}
    assert verify_decision(envelope, keys, "quinn") == CONFIRM
    check_record(CONFIRM, record(), REPO)
    lift = replace(CONFIRM, action="lift", cause=None, text="fixed")
    assert QualityDecision.from_payload(lift.to_payload()) == lift
    check_record(lift, record(action="lift", words="fixed\nLifted on 1 version(s)"))
    assert decision_words("lift", None, " fixed ") == "fixed"
    assert decision_words("dismiss", "use", "") == "cause use."


def test_what_does_not_verify() -> None:
    envelope = sign(DECISION, CONFIRM.to_payload(), [QUINN])
    with pytest.raises(TrustError, match="no enrolled personal key"):
        verify_decision(envelope, {}, "quinn")
    with pytest.raises(TrustError) as stranger:
        verify_decision(envelope, {kid(key(42)): key(42).public_key()}, "quinn")
    assert stranger.value.check == "threshold"
    with pytest.raises(TrustError, match="signed as quinn's, but was ivy's"):
        verify_decision(envelope, {kid(QUINN): QUINN.public_key()}, "ivy")
    with pytest.raises(TrustError):
        verify_decision(sign(STATEMENT, CONFIRM.to_payload(), [QUINN]), {}, "x")
    with pytest.raises(TrustError, match="null for a lift"):
        replace(CONFIRM, action="lift").to_payload()
    with pytest.raises(TrustError, match="cause"):
        replace(CONFIRM, cause=None).to_payload()


@pytest.mark.parametrize(
    ("changes", "found"),
    [
        ({"words": "cause product. harmless"}, "the words recorded"),
        ({"issue_cause": "use"}, "the issue's cause 'use'"),
        ({"decided_by": "mallory"}, "decider 'mallory'"),
        ({"actor": "mallory"}, "signer 'mallory'"),
        ({"issue": "Q-2"}, "issue 'Q-2'"),
        ({"ref": "team/app@9"}, "version 'team/app@9'"),
        ({"action": "dismiss"}, "step 'dismiss'"),
        ({"at": AT + timedelta(hours=1)}, "time 2026-12-03T11:00:00Z"),
    ],
)
def test_an_edited_record_differs_from_what_was_signed(
    changes: dict[str, object], found: str
) -> None:
    with pytest.raises(TrustError, match="differs from what quinn signed") as error:
        check_record(CONFIRM, record(**changes))
    assert found in str(error.value) and error.value.check == "record"


def test_another_repository_and_the_enrolled_keys() -> None:
    with pytest.raises(TrustError, match=r"repository https://depot\.bank\.example"):
        check_record(CONFIRM, record(), "https://other.example")
    revoked = key(43)
    enrollment = Enrollment(
        repository=REPO,
        version=1,
        issued=AT,
        expires=AT + timedelta(days=1),
        log_size=0,
        log_root=b"\0" * 32,
        keys=(
            EnrolledKey("quinn", kid(QUINN), QUINN.public_key()),
            EnrolledKey("quinn", kid(revoked), revoked.public_key(), revoked_from=0),
            EnrolledKey("ivy", kid(key(44)), key(44).public_key()),
        ),
    )
    assert list(enrolled_keys_of(enrollment, "quinn")) == [kid(QUINN)]


def test_the_words_travel_whole_lines_and_all() -> None:
    words = replace(CONFIRM, text="line one\nline two\ttabbed \ud800")
    assert QualityDecision.from_payload(words.to_payload()) == words
    bad = CONFIRM.to_payload().replace(b'"text_base64":"YnJva2Vu"', b'"text_base64":"!!"')
    assert bad != CONFIRM.to_payload()
    with pytest.raises(TrustError, match="text_base64"):
        QualityDecision.from_payload(bad)
