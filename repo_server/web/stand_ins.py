"""The page of stand-ins and my mail: who decides in a version manager's place and when,
naming and revoking one, and which notification mails I get."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from flask import flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import login_required

from policies.access import GlobalRole
from repo_server.api.paging import requested_page
from repo_server.errors import DepotError, InvalidRequest
from repo_server.web.forms import LanguageForm, NotificationForm, RevokeForm, StandInForm
from repo_server.web.language import page_zone, when
from repo_server.web.session import page_principal
from repo_server.web.views import bp, depot
from repo_server.web.words import error_words


def _page(
    form: StandInForm | None = None,
    settings: NotificationForm | None = None,
    language: LanguageForm | None = None,
) -> str:
    me = page_principal()
    found = depot().stand_ins.listing(me, requested_page())
    prefs = depot().notify.settings_of(me) if me.user_id is not None else None
    if settings is None and prefs is not None:
        settings = NotificationForm(
            awaiting=prefs.awaiting, decided=prefs.decided, reminders=prefs.reminders
        )
    if language is None and prefs is not None:
        language = LanguageForm(language=prefs.language, time_zone=prefs.time_zone)
    names = GlobalRole.VERSION_MANAGER in me.actor.global_roles
    return render_template(
        "stand_ins.html",
        found=found.items,
        page=found,
        form=form or StandInForm(),
        may_name=names,
        revoke=RevokeForm(),
        prefs=prefs,
        settings=settings,
        language_form=language,
        zone_name=str(page_zone()),
    )


@bp.get("/stand-ins")
@login_required
def stand_ins() -> ResponseReturnValue:
    """Stand-in appointments and my notification settings."""
    return _page()


@bp.post("/stand-ins")
@login_required
def name_stand_in() -> ResponseReturnValue:
    """Name a stand-in until the end of a day (in the person's time zone)."""
    form = StandInForm()
    if not form.validate_on_submit():
        raise InvalidRequest(gettext("the stand-in form was incomplete: a user name and a day"))
    me = page_principal()
    ends = datetime.combine(
        form.until.data + timedelta(days=1), time(0), tzinfo=page_zone()
    ).astimezone(UTC)
    try:
        named = depot().stand_ins.appoint(
            me,
            stands_for=me.username,
            stand_in=form.stand_in.data.strip(),
            starts_at=None,
            ends_at=ends,
            reason=form.reason.data or "",
        )
    except DepotError as error:
        rule = _rule(error)
        flash(
            error_words(error) + (gettext(" (rule %(rule)s)", rule=rule) if rule else ""), "error"
        )
        return _page(form), error.status
    flash(
        gettext(
            "%(who)s stands in for you until %(until)s.",
            who=named.stand_in,
            until=when(named.ends_at),
        ),
        "success",
    )
    return redirect(url_for("web.stand_ins"))


@bp.post("/stand-ins/<int:appointment_id>/revoke")
@login_required
def revoke_stand_in(appointment_id: int) -> ResponseReturnValue:
    """End an appointment now."""
    if not RevokeForm().validate_on_submit():
        raise InvalidRequest(gettext("the revoke form was incomplete"))
    ended = depot().stand_ins.revoke(page_principal(), appointment_id)
    flash(
        gettext(
            "%(who)s no longer stands in for %(whom)s.", who=ended.stand_in, whom=ended.stands_for
        ),
        "success",
    )
    return redirect(url_for("web.stand_ins"))


@bp.post("/me/notifications")
@login_required
def my_notifications() -> ResponseReturnValue:
    """Save which mail I get."""
    form = NotificationForm()
    if not form.validate_on_submit():
        raise InvalidRequest(gettext("the notification form was incomplete"))
    depot().notify.change_settings(
        page_principal(),
        awaiting=bool(form.awaiting.data),
        decided=bool(form.decided.data),
        reminders=bool(form.reminders.data),
    )
    flash(gettext("Notification settings saved."), "success")
    return redirect(url_for("web.stand_ins"))


@bp.post("/me/language")
@login_required
def my_language() -> ResponseReturnValue:
    """Save the language and time zone of my pages and mail."""
    form = LanguageForm()
    if not form.validate_on_submit():
        raise InvalidRequest(gettext("the language form was incomplete"))
    try:
        depot().notify.change_settings(
            page_principal(),
            language=form.language.data or "",
            time_zone=(form.time_zone.data or "").strip(),
        )
    except InvalidRequest as error:
        flash(error_words(error), "error")
        return _page(language=form), error.status
    flash(gettext("Language and time zone saved."), "success")
    return redirect(url_for("web.stand_ins"))


def _rule(error: DepotError) -> str:
    return str(error.extra.get("rule") or "")
