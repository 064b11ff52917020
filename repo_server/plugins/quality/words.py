"""The quality pages' words for the codes the module keeps (an issue's class and status,
causes, the record's steps, a supplier's status, what a recall entry is), in the page's
language.

Every entry is a gettext message (``lazy_gettext``) of the core's catalogs; a code without
an entry is shown as it is. The API and the CLI keep the codes.
"""

from __future__ import annotations

from repo_server.plugin_api import lazy_gettext as _

WORDS = {
    # an issue's class (一般/严重质量问题)
    "general": _("general"),
    "serious": _("serious"),
    # an issue's status
    "open": _("open"),
    "confirmed": _("confirmed"),
    "dismissed": _("dismissed"),
    "closed": _("closed"),
    # a supplier's status
    "active": _("active"),
    "suspended": _("suspended"),
    # causes
    "product": _("product"),
    "use": _("use"),
    "maintenance": _("maintenance"),
    # the record's steps
    "report": _("reported"),
    "classify": _("reclassified"),
    "confirm": _("confirmed"),
    "dismiss": _("dismissed"),
    "handle": _("handling step"),
    "lift": _("quarantine lifted"),
    "close": _("closed"),
    # what a recall entry is
    "checkout": _("checkout"),
    "download": _("download"),
}


#: The module's audit actions as a sentence about who did it (the version page's record),
#: given to the core with the module's routes (``PluginRoutes.actions``).
ACTIONS = {
    "quality.issue.report": _("quality issue reported by %(who)s"),
    "quality.issue.classify": _("quality issue reclassified by %(who)s"),
    "quality.issue.confirm": _("quality issue confirmed by %(who)s"),
    "quality.issue.dismiss": _("quality issue dismissed by %(who)s"),
    "quality.issue.handle": _("handling step of a quality issue recorded by %(who)s"),
    "quality.issue.close": _("quality issue closed by %(who)s"),
    "quality.quarantine.lift": _("quality quarantine lifted by %(who)s"),
    "quality.archive.update": _("quality archive updated by %(who)s"),
    "quality.notice.send": _("stop-use notice sent by %(who)s"),
    "quality.retirement.prepare": _("retirement prepared by %(who)s"),
    "quality.supplier.create": _("supplier added by %(who)s"),
    "quality.supplier.update": _("supplier updated by %(who)s"),
    "quality.supplier.evaluate": _("supplier evaluated by %(who)s"),
}


def word(code: str | None) -> str:
    """``code`` in the page's language (the code itself when it has no word)."""
    if code is None:
        return ""
    found = WORDS.get(code)
    return code if found is None else str(found)


def page_words() -> dict[str, object]:
    """What every quality template may use besides the core's: ``word(code)``."""
    return {"word": word}
