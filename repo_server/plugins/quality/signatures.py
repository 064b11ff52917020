"""Decisions signed personally (详细记录并经签署): the quality manager signs a confirm,
dismiss or lift with their own enrolled key (`depot quality confirm`/`lift` do it when a
personal key is set up). The server prepares what to sign, checks the signature before
anything changes (a 400 naming ``signature`` otherwise) and keeps the envelope with the
decision's record, where a client checks it offline (`depot quality verify`)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from sqlalchemy.orm import Session

from repo_server.plugin_api import (
    DECISION_CLOCK_SKEW,
    QUALITY_DECISION,
    Caller,
    InvalidRequest,
    PluginContext,
    QualityDecision,
    TrustError,
)
from repo_server.plugins.quality import rules
from repo_server.plugins.quality.common import choice, text
from repo_server.plugins.quality.models import Issue

#: How the issue service loads an issue the caller may see (404 otherwise).
Load = Callable[[Session, Caller, str], Issue]

FIELD = "signature"


class Signatures:
    """Prepare and check the signed decisions of one server."""

    def __init__(self, context: PluginContext, load: Load) -> None:
        self.context = context
        self._load = load

    def draft(self, caller: Caller, number: str, body: dict[str, Any]) -> dict[str, str]:
        """What the quality manager signs for a decision about to be taken on the issue
        (``POST /issues/Q-n/to-sign``)."""
        action = choice(body.get("action"), "action", ("confirm", "dismiss", "lift"))
        causes = {"confirm": ("product",), "dismiss": rules.DISMISS_CAUSES, "lift": ()}[action]
        default = "product" if action == "confirm" else None
        cause = choice(body.get("cause") or default, "cause", causes) if causes else None
        words = text(body.get("text"), "text", required=False)
        with self.context.read() as session:
            issue = self._load(session, caller, number)
        return self.to_sign(caller, issue, action, cause, words)

    def signed(
        self,
        caller: Caller,
        number: str,
        action: str,
        cause: str | None,
        words: str,
        body: dict[str, Any],
    ) -> str | None:
        """The envelope of the decision ``body`` carries, checked (see :meth:`check`)."""
        with self.context.read() as session:
            issue = self._load(session, caller, number)
        return self.check(caller, issue, action, cause, words, body.get("signature"))

    def decision(
        self, caller: Caller, issue: Issue, action: str, cause: str | None, text: str
    ) -> QualityDecision:
        """The decision ``caller`` takes now, as it is signed."""
        return QualityDecision(
            repository=self.context.repository(),
            issue=issue.number,
            ref=issue.ref,
            action=action,
            cause=None if action == "lift" else cause,
            text=text,
            actor=caller.username,
            at=self.context.now().replace(microsecond=0),
        )

    def to_sign(
        self, caller: Caller, issue: Issue, action: str, cause: str | None, text: str
    ) -> dict[str, str]:
        """What to sign for that decision (DSSE payload type and base64 payload)."""
        payload = self.decision(caller, issue, action, cause, text).to_payload()
        return {"payloadType": QUALITY_DECISION, "payload": base64.b64encode(payload).decode()}

    def check(
        self,
        caller: Caller,
        issue: Issue,
        action: str,
        cause: str | None,
        text: str,
        signed: dict[str, Any] | None,
    ) -> str | None:
        """The envelope (JSON text) when ``signed`` is ``caller``'s signature of exactly
        this decision, ``None`` when nothing was signed; a 400 otherwise."""
        if signed is None:
            return None
        envelope, payload = self.context.personal_signature(
            caller.username, QUALITY_DECISION, signed, FIELD
        )
        try:
            found = QualityDecision.from_payload(payload)
        except TrustError as error:
            raise InvalidRequest(
                f"the signed decision is not valid: {error}", field=FIELD
            ) from None
        expected = self.decision(caller, issue, action, cause, text)
        if abs(found.at - expected.at) > DECISION_CLOCK_SKEW:
            raise InvalidRequest(
                "the signed decision's time is too far from the server's clock "
                f"({found.at.isoformat()} against {expected.at.isoformat()})",
                field=FIELD,
            )
        if found.to_payload() != replace(expected, at=found.at).to_payload():
            raise InvalidRequest(
                "the signed decision does not match this decision (issue, version, step, "
                "cause, words or signer differ): prepare it again and re-sign",
                field=FIELD,
            )
        return envelope
