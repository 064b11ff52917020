"""The pages' words for the codes the server keeps: request kinds, states, roles, the
rules' names and the audit trail's actions, in the page's language.

Every entry is a gettext message (``lazy_gettext``), so that the catalogs carry it and a
page shows "check-in approved by victor" (or "victor 批准入库") for ``checkin.approve``.
A plugin names its own audit actions in its :class:`~repo_server.hooks.PluginRoutes`
(``actions``), added here when its pages are mounted (:func:`add_actions`). A code
without an entry is shown as it is: a new action is never hidden.

What a service refuses with is said here too (:func:`error_words`): a message made with
:func:`repo_server.errors.N_` in the page's language, a rule the pages know in its words.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask, current_app
from flask_babel import gettext, lazy_gettext

from policies.decisions import Decision
from repo_server.audit.services import AuditEntry
from repo_server.errors import DepotError, Forbidden, Message

_ = lazy_gettext

KINDS = {
    "upgrade": _("upgrade approval"),
    "acceptance": _("acceptance"),
    "checkin": _("check-in"),
    "checkout": _("check-out"),
    "register": _("product registration"),
}

#: ``check-in of team/app@1.0.0``: a request's one-line title, by kind.
TITLES = {
    "upgrade": _("upgrade to %(ref)s"),
    "acceptance": _("acceptance of %(ref)s"),
    "checkin": _("check-in of %(ref)s"),
    "checkout": _("check-out of %(ref)s"),
    "register": _("registration of %(ref)s"),
}

STATES = {
    "pending": _("pending"),
    "approved": _("approved"),
    "refused": _("refused"),
    "draft": _("draft"),
    "submitted": _("in acceptance"),
    "accepted": _("accepted"),
    "rejected": _("rejected"),
    "checked_in": _("checked in"),
    "retired": _("retired"),
    "quarantined": _("quarantined"),
    "withdrawn": _("withdrawn from use"),
    "checked_out": _("checked out"),
    "in_library": _("in library"),
    "registered": _("registered"),
}

ROLES = {
    "version_manager": _("version manager"),
    "software_manager": _("software manager"),
    "acceptance_officer": _("test/acceptance officer"),
    "member": _("member"),
    "admin": _("admin"),
    "auditor": _("auditor"),
    "quality_manager": _("quality manager"),
    "system": _("system"),
}

CATEGORIES = {
    "application": _("application"),
    "system": _("system"),
    "device_network": _("device and network"),
}

ORIGINS = {"in_house": _("in-house"), "purchased": _("purchased")}

FILE_ROLES = {"artifact": _("artifact"), "document": _("document"), "report": _("report")}

#: What a rule forbids, in words (the request page says why Approve is not offered).
RULES = {
    "four_eyes.requester": _("Four eyes: whoever filed a request never decides it."),
    "four_eyes.uploader": _(
        "Four eyes: whoever uploaded a version's files never accepts or checks it in."
    ),
    "four_eyes.acceptance": _("Four eyes: whoever accepted a version never also checks it in."),
    "four_eyes.stand_in": _(
        "Four eyes: a stand-in never decides what her principal filed, accepted or uploaded."
    ),
    "request.state": _("The request is already decided."),
    "lifecycle.state": _("The version is not in the state this request is decided in."),
    "lifecycle.retired": _("The version is retired."),
    "acceptance.assigned": _("The version was delivered to another acceptance officer."),
    "role.version_manager": _("Only a version manager decides this request."),
    "role.software_manager": _("Only the group's software manager may do this."),
    "role.acceptance_officer": _(
        "Only a test/acceptance officer of the group decides an acceptance."
    ),
    "role.member": _("Only a member of the group may do this."),
    "stand_in.period": _("The stand-in's period has not begun or is over."),
    "token.scope": _("A group token cannot decide requests."),
    "version.order": _("The version number is not newer than those in the library."),
    "signature.personal_required": _(
        "The group wants check-in approvals signed with a personal key (depot approve)."
    ),
}

#: The audit trail's actions as a sentence about who did it.
ACTIONS = {
    "version.create": _("version created by %(who)s"),
    "version.submit": _("delivered for acceptance by %(who)s"),
    "version.retire": _("retired by %(who)s"),
    "version.feedback": _("usage feedback from %(who)s"),
    "version.quarantine": _("quarantined by %(who)s"),
    "version.release": _("released from quarantine by %(who)s"),
    "file.upload": _("file uploaded by %(who)s"),
    "file.download": _("file downloaded by %(who)s"),
    "acceptance.pass": _("acceptance passed by %(who)s"),
    "acceptance.fail": _("acceptance failed by %(who)s"),
    "upgrade.request": _("upgrade approval requested by %(who)s"),
    "upgrade.approve": _("upgrade approved by %(who)s"),
    "upgrade.refuse": _("upgrade refused by %(who)s"),
    "checkin.request": _("check-in requested by %(who)s"),
    "checkin.approve": _("check-in approved by %(who)s"),
    "checkin.refuse": _("check-in refused by %(who)s"),
    "checkout.request": _("check-out requested by %(who)s"),
    "checkout.approve": _("check-out approved by %(who)s"),
    "checkout.refuse": _("check-out refused by %(who)s"),
    "register.approve": _("registration approved by %(who)s"),
    "register.refuse": _("registration refused by %(who)s"),
    "product.register": _("registration requested by %(who)s"),
    "item.add": _("physical item registered by %(who)s"),
    "item.register": _("physical item registered by %(who)s"),
    "item.move": _("physical item moved by %(who)s"),
    "item.custodian": _("custodian changed by %(who)s"),
    "item.lend": _("physical item lent by %(who)s"),
    "item.return": _("physical item returned to %(who)s"),
    "quarantine.start": _("quarantine started by %(who)s"),
    "quarantine.lift": _("quarantine lifted by %(who)s"),
}

#: The physical items' steps (the item page's table).
ITEM_STEPS = {
    "register": _("registered"),
    "move": _("moved"),
    "custodian": _("custodian changed"),
    "lend": _("lent"),
    "return": _("returned"),
}

OUTCOMES = {"refused": _("refused"), "error": _("failed"), "ok": _("done")}

#: ``app.extensions`` key: the plugins' words for their audit actions (:func:`add_actions`).
PLUGIN_ACTIONS = "depot.plugin_actions"


def word(table: dict[str, Any], code: str | None) -> str:
    """The word for ``code`` in ``table`` (the code itself, readable, when it has none)."""
    if not code:
        return ""
    found = table.get(code)
    return str(found) if found is not None else code.replace("_", " ")


def title(kind: str, ref: str) -> str:
    """A request's title in the page's language: ``check-in of team/app@1.0.0``."""
    found = TITLES.get(kind)
    return str(found) % {"ref": ref} if found is not None else f"{kind} {ref}"


def event(entry: AuditEntry) -> str:
    """One line of a timeline in words: "check-in approved by victor"."""
    who = entry.actor
    if entry.details and entry.details.get("for"):
        who = gettext("%(who)s for %(whom)s", who=entry.actor, whom=entry.details["for"])
    found = ACTIONS.get(entry.action)
    if found is None:
        found = current_app.extensions.get(PLUGIN_ACTIONS, {}).get(entry.action)
    if found is None:
        return str(gettext("%(action)s by %(who)s", action=entry.action, who=who))
    text = str(found) % {"who": who}
    if entry.outcome != "ok":
        text = gettext("%(what)s (refused)", what=text)
    return text


def add_actions(app: Flask, actions: Mapping[str, Any]) -> None:
    """Add a plugin's words for its own audit actions (a gettext message with ``%(who)s``
    each, by code) to the records of ``app``'s pages. The core's words stay the core's: a
    plugin names only codes the core has no words for."""
    known = app.extensions.setdefault(PLUGIN_ACTIONS, {})
    for code, words in actions.items():
        if code not in ACTIONS:
            known.setdefault(code, words)


def said(message: str) -> str:
    """``message`` in the page's language: one made with :func:`~repo_server.errors.N_`
    is translated (its placeholders filled in after), any other text is shown as it is."""
    if not isinstance(message, Message):
        return message
    if message.values:
        return str(gettext(message.msgid, **message.values))
    return str(gettext(message.msgid))


def error_words(error: DepotError) -> str:
    """What a page says of ``error`` (a flash, the error page): its message in the page's
    language, or, for a refusal by a rule the pages know, the rule in words."""
    if isinstance(error, Forbidden) and error.rule and not isinstance(error.message, Message):
        known = RULES.get(error.rule) or RULES.get(error.rule.split(":")[0])
        if known is not None:
            return str(known)
    return said(error.message)


def why_not(decision: Decision) -> str:
    """Why a decision is not offered: the rule in words (and the rules' own reason)."""
    known = RULES.get(decision.rule) or RULES.get(decision.rule.split(":")[0])
    if known is None:
        return decision.reason
    return f"{known} ({decision.reason})"


def purpose(request: Any) -> str:
    """What a request is for, in one line: its purpose, reason, description or notes."""
    details = request.details or {}
    for key in ("purpose", "reason", "description", "release_notes", "comment"):
        text = str(details.get(key) or "").strip()
        if text:
            line = text.splitlines()[0]
            return line if len(line) <= 80 else line[:79] + "…"
    return ""


def install(app: Flask) -> None:
    """Give the templates these words."""
    words: dict[str, Callable[..., str]] = {
        "kind_word": lambda code: word(KINDS, code),
        "state_word": lambda code: word(STATES, code),
        "role_word": lambda code: word(ROLES, code),
        "category_word": lambda code: word(CATEGORIES, code),
        "origin_word": lambda code: word(ORIGINS, code),
        "file_role_word": lambda code: word(FILE_ROLES, code),
        "item_step_word": lambda code: word(ITEM_STEPS, code),
        "outcome_word": lambda code: word(OUTCOMES, code),
        "request_title": lambda r: title(r.kind, r.ref),
        "event_words": event,
        "error_words": error_words,
        "why_not": why_not,
        "purpose": purpose,
    }
    app.jinja_env.globals.update(words)
    app.jinja_env.filters.update(words)
