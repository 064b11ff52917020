"""The approval pages: sign-in, the inbox, requests and their decisions.

Server-rendered, usable without JavaScript, every form CSRF-protected. Pages call the
same services as the API; what a caller may not see answers 404 here too.
"""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user, login_required, login_user, logout_user

from repo_server.api.paging import next_url, requested_page
from repo_server.core import Depot
from repo_server.errors import N_, DepotError, InvalidRequest, NotFound, TooManyAttempts
from repo_server.ids import MAX_INTEGER
from repo_server.web.forms import DecisionForm, LoginForm, SignOutForm
from repo_server.web.headers import mark_signed_in
from repo_server.web.plugins import nav
from repo_server.web.session import PageUser, page_principal
from repo_server.web.words import STATES as STATE_WORDS
from repo_server.web.words import error_words, word

bp = Blueprint("web", __name__)


def depot() -> Depot:
    """The services of the running app."""
    found: Depot = current_app.extensions["depot"]
    return found


@bp.app_context_processor
def _globals() -> dict[str, Any]:
    signed_in = current_user.is_authenticated
    return {
        "me": page_principal() if signed_in else None,
        "sign_out_form": SignOutForm() if signed_in else None,
        "public_url": depot().settings.effective_public_url,
        "directory_sign_in": depot().auth.directory is not None,
        "plugin_nav": nav(),
        "page_link": next_url,
    }


def _safe_next(target: str | None) -> str:
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and not urlsplit(target).netloc
    ):
        return target
    return url_for("web.inbox")


@bp.get("/")
def index() -> ResponseReturnValue:
    """The inbox for people signed in, otherwise what Depot is and how to connect."""
    if current_user.is_authenticated:
        return redirect(url_for("web.inbox"))
    return render_template("index.html")


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """Sign in with the same account as `depot login`."""
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        try:
            principal = depot().auth.sign_in_page(
                form.username.data, form.password.data, request.remote_addr or ""
            )
        except DepotError as error:
            flash(error_words(error), "error")
            wait = (
                {"Retry-After": str(error.retry_after)}
                if isinstance(error, TooManyAttempts)
                else {}
            )
            return render_template("login.html", form=form), error.status, wait
        login_user(PageUser(principal))
        mark_signed_in(depot().clock)
        return redirect(_safe_next(form.next.data))
    return render_template("login.html", form=form)


@bp.post("/logout")
@login_required
def logout() -> ResponseReturnValue:
    """Sign out."""
    if SignOutForm().validate_on_submit():
        logout_user()
    return redirect(url_for("web.login"))


#: The kinds and states a listing of requests may be filtered by.
KINDS = ("upgrade", "acceptance", "checkin", "checkout", "register")
STATES = ("pending", "approved", "refused")
VIEWS = ("waiting", "mine", "all")


def _wanted() -> dict[str, str]:
    """The filters of a listing of requests, from the query string (unknown values: none)."""
    args = request.args
    kind = args.get("kind", "")
    state = args.get("state", "")
    return {
        "kind": kind if kind in KINDS else "",
        "state": state if state in STATES else "",
        "group": args.get("group", "").strip()[:63],
        "q": args.get("q", "").strip()[:200],
    }


def _listing(view: str, wanted: dict[str, str]) -> Any:
    me = page_principal()
    page = requested_page()
    if view == "waiting":
        return depot().requests.inbox(
            me,
            page,
            group=wanted["group"] or None,
            kind=wanted["kind"] or None,
            text=wanted["q"] or None,
        )
    return depot().requests.search(
        me,
        group=wanted["group"] or None,
        state=wanted["state"] or None,
        kind=wanted["kind"] or None,
        text=wanted["q"] or None,
        requester=me.username if view == "mine" else None,
        page=page,
    )


@bp.get("/inbox")
@login_required
def inbox() -> ResponseReturnValue:
    """What waits for my decision, in each of my roles (filtered, a page at a time), and
    my own open requests."""
    me = page_principal()
    wanted = _wanted()
    found = _listing("waiting", wanted)
    mine = [r for r in depot().requests.mine(me).items if r.state == "pending"]
    return render_template(
        "inbox.html", found=found, mine=mine, wanted=wanted, view="waiting", kinds=KINDS
    )


@bp.get("/requests")
@login_required
def requests() -> ResponseReturnValue:
    """Requests: what waits for me (the default), ``?view=mine`` what I filed,
    ``?view=all`` every request I may see; filtered by kind, group, state and text."""
    view = request.args.get("view", "waiting")
    view = view if view in VIEWS else "waiting"
    wanted = _wanted()
    found = _listing(view, wanted)
    return render_template(
        "requests.html",
        view=view,
        found=found,
        wanted=wanted,
        kinds=KINDS,
        states=STATES,
    )


def _known_id(request_id: int) -> None:
    """A request id beyond the database's integer names no request: the page's 404."""
    if request_id > MAX_INTEGER:
        raise NotFound(N_("request #%(id)s not found", id=request_id))


@bp.get("/requests/<int:request_id>")
@login_required
def show_request(request_id: int) -> ResponseReturnValue:
    """One request with its version, files, report, archive information and history."""
    _known_id(request_id)
    detail = depot().requests.get(page_principal(), request_id)
    return render_template("request.html", detail=detail, form=DecisionForm())


@bp.post("/requests/<int:request_id>/decide")
@login_required
def decide(request_id: int) -> ResponseReturnValue:
    """Approve or refuse a request from its page."""
    _known_id(request_id)
    form = DecisionForm()
    me = page_principal()
    if not form.validate_on_submit():
        raise InvalidRequest(gettext("the decision form was incomplete"))
    approve = bool(form.approve.data)
    if not approve and not form.refuse.data:
        raise InvalidRequest(gettext("choose approve or refuse"))
    report_name = None
    comment = form.comment.data or ""
    detail = depot().requests.get(me, request_id)
    try:
        if detail.request.kind == "acceptance":
            # Asked before the report is stored: a refused step changes nothing.
            depot().decisions.check(me, request_id, approve=approve, comment=comment)
            report_name = _attach_report(
                me, detail.request.group, detail.request.product, detail.request.version
            )
        decided = depot().decisions.decide(
            me, request_id, approve=approve, comment=comment, report=report_name
        )
    except DepotError as error:
        flash(error_words(error), "error")
        refreshed = depot().requests.get(me, request_id)
        return render_template("request.html", detail=refreshed, form=form), error.status
    flash(
        gettext(
            "Request #%(id)s %(state)s.", id=decided.id, state=word(STATE_WORDS, decided.state)
        ),
        "success",
    )
    return redirect(url_for("web.show_request", request_id=request_id))


def _attach_report(me: Any, group: str, product: str, version: str | None) -> str | None:
    """Store the report file sent with an acceptance decision; its name, or ``None``."""
    upload = request.files.get("report")
    if upload is None or not upload.filename:
        return None
    stream = upload.stream
    digest = hashlib.sha256()
    size = 0
    while chunk := stream.read(1 << 20):
        digest.update(chunk)
        size += len(chunk)
    stream.seek(0)
    result = depot().transfers.upload(
        me,
        group,
        product,
        version or "",
        upload.filename,
        source=stream,
        size=size,
        sha256=digest.hexdigest(),
        role="report",
    )
    return result.file.name
