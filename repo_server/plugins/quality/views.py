"""The quality pages under ``/quality``: the overview, issues (with the quality manager's
forms), the report form, the archive of a version and the supplier register.

Server-rendered, no JavaScript; every form posts with a CSRF token and goes through the
same services as the API. A value the services reject comes back as a message on the
page; a refusal (403) or an unknown name (404) shows the core's error page.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue

from repo_server.plugin_api import (
    Conflict,
    InvalidRequest,
    NotFound,
    PageRequest,
    error_words,
    gettext,
    requested_page,
)
from repo_server.plugins.quality import rules
from repo_server.plugins.quality.common import who
from repo_server.plugins.quality.services import QualityServices
from repo_server.plugins.quality.words import page_words, word

STEPS = ("classify", "decide", "handle", "lift", "close")


def _form(*names: str) -> dict[str, Any]:
    return {name: request.form.get(name, "") for name in names}


#: The dashboard's tables: the first rows of each listing (the API and `depot quality`
#: page through all of them).
FIRST = PageRequest(limit=50)


def build_pages(services: QualityServices) -> Blueprint:
    """The pages blueprint over ``services``."""
    pages = Blueprint("quality_pages", __name__, url_prefix="/quality", template_folder="templates")
    pages.context_processor(page_words)
    context = services.context
    issues = services.issues

    @pages.get("/")
    def index() -> str:
        caller = context.caller()
        return render_template(
            "quality/index.html",
            issues=issues.search(caller, open_only=True).items,
            quarantines=issues.quarantines(caller, page=FIRST).items,
            expired=services.archive.past_end_of_support(caller, FIRST).items,
            retirements=services.support.retirements(caller, FIRST).items,
            trends=issues.trends(caller),
            is_manager=caller.has_role(rules.QUALITY_MANAGER),
        )

    @pages.get("/issues")
    def issue_list() -> str:
        caller = context.caller()
        found = issues.search(caller, page=requested_page())
        return render_template(
            "quality/issues.html", issues=found.items, page=found, is_manager=False
        )

    @pages.get("/issues/<number>")
    def issue(number: str) -> str:
        caller = context.caller()
        found = issues.get(caller, number)
        facts = who(caller)
        status, issue_class = found["status"], found["class"]
        may = {
            "classify": rules.may_classify(
                facts, status, issue_class, "general" if issue_class == "serious" else "serious"
            ).allowed,
            "decide": rules.may_decide(facts, status, issue_class).allowed,
            "handle": rules.may_handle(facts, status).allowed,
            "lift": rules.may_lift(facts, found["active_quarantines"]).allowed,
            "close": rules.may_close(facts, status, issue_class, found["group"]).allowed,
            "recall": rules.may_read_recall(facts).allowed,
        }
        return render_template("quality/issue.html", issue=found, may=may)

    @pages.get("/issues/<number>/recall")
    def recall(number: str) -> str:
        batch, found = services.recall.page(context.caller(), number, requested_page())
        return render_template("quality/recall.html", batch=batch, entries=found.items, page=found)

    @pages.get("/issues/<number>/recall.<form>")
    def recall_export(number: str, form: str) -> ResponseReturnValue:
        if form not in ("csv", "json"):
            raise NotFound(f"no export {form!r}")
        name, media_type, lines = services.recall.export(context.caller(), number, form)
        return Response(
            stream_with_context(lines),
            mimetype=media_type,
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    @pages.post("/issues/<number>/<step>")
    def issue_step(number: str, step: str) -> ResponseReturnValue:
        caller = context.caller()
        if step not in STEPS:
            raise NotFound(f"no step {step!r}")
        back = redirect(url_for("quality_pages.issue", number=number))
        try:
            if step == "classify":
                issues.classify(caller, number, _form("class", "comment"))
                done = gettext("Issue reclassified.")
            elif step == "decide":
                body = _form("cause", "comment")
                if body["cause"] not in rules.CAUSES:  # the form has no default: a choice
                    raise InvalidRequest(
                        gettext(
                            "choose the cause: product (confirm and quarantine the batch), "
                            "use or maintenance (dismiss)"
                        ),
                        field="cause",
                    )
                confirm = body["cause"] == "product"
                found = issues.decide(caller, number, body, confirm=confirm)
                done = (
                    gettext(
                        "%(issue)s confirmed: %(num)d version(s) quarantined.",
                        issue=found["number"],
                        num=found["active_quarantines"],
                    )
                    if confirm
                    else gettext(
                        "%(issue)s dismissed (cause %(cause)s).",
                        issue=found["number"],
                        cause=word(body["cause"]),
                    )
                )
            elif step == "handle":
                issues.handle(caller, number, _form("note"))
                done = gettext("Handling step recorded.")
            elif step == "lift":
                found = issues.lift(caller, number, _form("reason"))
                done = gettext(
                    "Quarantine lifted; released: %(versions)s.",
                    versions=", ".join(found["released"]) or gettext("none"),
                )
            else:
                issues.close(caller, number, _form("resolution"))
                done = gettext("Issue closed.")
        except (InvalidRequest, Conflict) as error:
            flash(error_words(error), "error")
            return back
        flash(done, "success")
        return back

    @pages.route("/report", methods=["GET", "POST"])
    def report() -> ResponseReturnValue:
        caller = context.caller()
        form = _form("version", "title", "description", "class", "supplier")
        if request.method == "GET":
            form["version"] = request.args.get("version", "")
        else:
            try:
                found = issues.report(caller, form["version"], form)
            except (InvalidRequest, Conflict) as error:
                flash(error_words(error), "error")
            else:
                flash(gettext("%(issue)s reported.", issue=found["number"]), "success")
                return redirect(url_for("quality_pages.issue", number=found["number"]))
        return render_template(
            "quality/report.html", form=form, suppliers=services.suppliers.names()
        )

    @pages.route("/archive/<group>/<product>/<version>", methods=["GET", "POST"])
    def archive(group: str, product: str, version: str) -> ResponseReturnValue:
        caller = context.caller()
        if request.method == "POST":
            try:
                services.archive.put(
                    caller, group, product, version, _form("end_of_support", "build_date")
                )
            except (InvalidRequest, Conflict) as error:
                flash(error_words(error), "error")
            else:
                flash(gettext("Quality archive updated."), "success")
            return redirect(url_for(".archive", group=group, product=product, version=version))
        found = services.archive.get(caller, group, product, version)
        may = rules.may_set_archive(who(caller), group).allowed
        return render_template("quality/archive.html", archive=found, may_edit=may)

    @pages.route("/suppliers", methods=["GET", "POST"])
    def suppliers() -> ResponseReturnValue:
        caller = context.caller()
        if request.method == "POST":
            body = _form("name", "qualification", "qualified_until", "contact")
            try:
                services.suppliers.create(caller, body)
            except (InvalidRequest, Conflict) as error:
                flash(error_words(error), "error")
            else:
                flash(gettext("Supplier %(name)s added.", name=body["name"]), "success")
            return redirect(url_for(".suppliers"))
        found = services.suppliers.search(caller, requested_page())
        return render_template(
            "quality/suppliers.html",
            suppliers=found.items,
            page=found,
            is_manager=caller.has_role(rules.QUALITY_MANAGER),
        )

    @pages.route("/suppliers/<name>", methods=["GET", "POST"])
    def supplier(name: str) -> ResponseReturnValue:
        caller = context.caller()
        if request.method == "POST":
            body: dict[str, Any] = _form("period", "notes")
            score = request.form.get("score", "")
            body["score"] = int(score) if score.isdigit() else score
            try:
                services.suppliers.evaluate(caller, name, body)
            except (InvalidRequest, Conflict) as error:
                flash(error_words(error), "error")
            else:
                flash(
                    gettext("Evaluation for %(period)s recorded.", period=body["period"]), "success"
                )
            return redirect(url_for(".supplier", name=name))
        return render_template(
            "quality/supplier.html",
            supplier=services.suppliers.get(caller, name),
            is_manager=caller.has_role(rules.QUALITY_MANAGER),
        )

    return pages
