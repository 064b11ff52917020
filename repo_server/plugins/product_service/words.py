"""The service pages' words for the codes the module keeps (a ticket's kind, channel,
status, charge, the steps, the service roles, an assessment's nature and severity, the
clocks), in the page's language.

Every entry is a gettext message (``lazy_gettext``) of the core's catalogs; a code without
an entry is shown as it is. The API, the CLI and the CSV keep the codes.
"""

from __future__ import annotations

from repo_server.plugin_api import gettext
from repo_server.plugin_api import lazy_gettext as _

#: The top bar's link: a ``NavLink``'s label is a message id, the top bar translates it.
NAV = "Service"
#: ``NAV`` marked for ``make translations``.
NAV_WORD = _("Service")

WORDS = {
    # a ticket's kind and how it was reported
    "service": _("service"),
    "complaint": _("complaint"),
    "phone": _("phone"),
    "mail": _("mail"),
    "web": _("web"),
    # a ticket's status
    "registered": _("registered"),
    "responded": _("responded"),
    "assessed": _("assessed"),
    "dispatched": _("dispatched"),
    "in_service": _("in service"),
    "completed": _("completed"),
    "surveyed": _("surveyed"),
    "followed_up": _("followed up"),
    "closed": _("closed"),
    "cancelled": _("cancelled"),
    "duplicate": _("duplicate"),
    "withdrawn": _("withdrawn"),
    # the charge
    "free": _("free"),
    "chargeable": _("chargeable"),
    # where a warranty comes from
    "contract": _("contract"),
    "product": _("product"),
    "default": _("default"),
    # the service roles
    "clerk": _("clerk"),
    "technician": _("technician"),
    "supervisor": _("supervisor"),
    # an assessment
    "defect": _("defect"),
    "usage": _("usage"),
    "configuration": _("configuration"),
    "enhancement": _("enhancement"),
    "other": _("other"),
    "low": _("low"),
    "medium": _("medium"),
    "high": _("high"),
    "critical": _("critical"),
}

#: A complaint's clocks.
#: The module's audit actions as a sentence about who did it (the version page's record),
#: given to the core with the module's routes (``PluginRoutes.actions``).
ACTIONS = {
    "service.ticket.register": _("service ticket registered by %(who)s"),
    "service.ticket.respond": _("first response to a service ticket by %(who)s"),
    "service.ticket.assess": _("service ticket assessed by %(who)s"),
    "service.ticket.dispatch": _("service ticket dispatched by %(who)s"),
    "service.ticket.service": _("service work recorded by %(who)s"),
    "service.ticket.complete": _("service completion confirmed by %(who)s"),
    "service.ticket.survey": _("satisfaction survey recorded by %(who)s"),
    "service.ticket.follow_up": _("follow-up visit recorded by %(who)s"),
    "service.ticket.close": _("service ticket closed by %(who)s"),
    "service.ticket.cancel": _("service ticket cancelled by %(who)s"),
    "service.ticket.duplicate": _("service ticket marked duplicate by %(who)s"),
    "service.ticket.withdraw": _("service ticket withdrawn by %(who)s"),
    "service.ticket.escalate": _("service ticket escalated by %(who)s"),
    "service.ticket.link_quality": _("service ticket linked to a quality issue by %(who)s"),
    "service.customer.register": _("customer registered by %(who)s"),
    "service.role.grant": _("service role granted by %(who)s"),
    "service.role.revoke": _("service role taken away by %(who)s"),
}

CLOCKS = {"response": _("response"), "verification": _("verification")}

#: The steps of a ticket as the record and the step forms name them.
STEPS = {
    "register": _("register"),
    "respond": _("respond"),
    "assess": _("assess"),
    "dispatch": _("dispatch"),
    "service": _("service"),
    "complete": _("complete"),
    "survey": _("survey"),
    "follow_up": _("follow up"),
    "close": _("close"),
    "cancel": _("cancel"),
    "duplicate": _("duplicate"),
    "withdraw": _("withdraw"),
    "escalate": _("escalate"),
    "link": _("link"),
    "reopen": _("reopen"),
}

#: What each step is called in the forms and messages (``rules.LABELS`` in words).
LABELS = {
    "register": _("the registration"),
    "respond": _("the first response to the customer"),
    "assess": _("the assessment (verification)"),
    "dispatch": _("the dispatch to a technician"),
    "service": _("the service work"),
    "complete": _("the completion confirmed with the customer"),
    "survey": _("the satisfaction survey"),
    "follow_up": _("the follow-up visit"),
    "close": _("the closing"),
    "cancel": _("the cancellation"),
    "duplicate": _("the duplicate mark"),
    "withdraw": _("the withdrawal"),
}


def _of(words: dict[str, object], code: str | None) -> str:
    if code is None:
        return ""
    found = words.get(code)
    return code if found is None else str(found)


def word(code: str | None) -> str:
    """``code`` in the page's language (the code itself when it has no word)."""
    return _of(WORDS, code)


def step_word(code: str | None) -> str:
    """A step of the record in the page's language."""
    return _of(STEPS, code)


def steps_of(codes: list[str]) -> str:
    """Steps in the page's language, one after the other: ``respond, cancel``."""
    return ", ".join(step_word(code) for code in codes)


def clock_word(code: str | None) -> str:
    """A complaint's clock ("response", "verification") in the page's language."""
    return _of(CLOCKS, code)


def label(step: str) -> str:
    """What ``step`` is called ("the first response to the customer")."""
    return _of(LABELS, step)


def late(seconds: int) -> str:
    """How late a clock is, as ``rules.late_text`` says it, in the page's language:
    ``2 d 3 h late``, ``5 h 12 min late``, ``40 min late`` (at least a minute)."""
    minutes = max(1, seconds // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return str(gettext("%(days)d d %(hours)d h late", days=days, hours=hours))
    if hours:
        return str(gettext("%(hours)d h %(minutes)d min late", hours=hours, minutes=mins))
    return str(gettext("%(minutes)d min late", minutes=mins))


def page_words() -> dict[str, object]:
    """What every service template may use besides the core's."""
    return {
        "word": word,
        "step_word": step_word,
        "steps_of": steps_of,
        "clock_word": clock_word,
        "label": label,
        "late": late,
    }
