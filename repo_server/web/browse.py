"""Browsing pages: my groups, their products, versions and a version's record."""

from __future__ import annotations

from dataclasses import replace

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, ngettext
from flask_login import login_required

from policies.access import GlobalRole
from repo_server.api.paging import requested_page
from repo_server.artifacts.api import file_response
from repo_server.errors import InvalidRequest
from repo_server.hooks import VersionRef
from repo_server.plugin_context import Caller
from repo_server.registers.items import ItemFilter
from repo_server.web.forms import RetireForm
from repo_server.web.session import page_principal
from repo_server.web.views import bp, depot


@bp.get("/groups")
@login_required
def groups() -> ResponseReturnValue:
    """The groups I may see."""
    page = depot().groups.list_groups(page_principal(), page=requested_page())
    return render_template("groups.html", groups=page)


@bp.get("/groups/<group>")
@login_required
def group(group: str) -> ResponseReturnValue:
    """A group's products."""
    me = page_principal()
    info = depot().groups.get(me, group)
    return render_template(
        "group.html",
        group=info,
        products=depot().catalog.list_products(me, group, requested_page()),
    )


@bp.get("/groups/<group>/<product>")
@login_required
def product(group: str, product: str) -> ResponseReturnValue:
    """A product's versions, newest first, and its upgrade requests."""
    me = page_principal()
    return render_template(
        "product.html",
        product=depot().catalog.get_product(me, group, product),
        versions=depot().catalog.list_versions(me, group, product, requested_page()),
        upgrades=depot().requests.upgrades(me, group, product).items,
    )


@bp.get("/groups/<group>/<product>/<version>")
@login_required
def version(group: str, product: str, version: str) -> ResponseReturnValue:
    """A version's record: state, files with checksums, requests, history, feedback."""
    me = page_principal()
    info = depot().catalog.get_version(me, group, product, version)
    ref = VersionRef(group, product, version)
    # What the core enforces: a quarantine (held with or without its module) or a
    # plugin's stop shows on the badge, not the row's "checked in": "quarantined" for a
    # quarantine, "withdrawn" for any other stop (a version past its end of support).
    quarantines = [b for b in depot().quarantines.blocks(ref) if b.stops_use]
    stopped = [*quarantines, *(b for b in depot().plugins.blocks(ref) if b.stops_use)]
    # The page's ``limit`` and ``cursor`` page the history (the longest table); the
    # requests and the feedback show their first page, and say when there are more.
    wanted = requested_page()
    first = replace(wanted, cursor=None)
    history = depot().requests.history(me, group, product, version, wanted)
    requests = depot().requests.for_version(me, group, product, version, first)
    now = depot().clock.now()
    checkouts = [
        r
        for r in requests.items
        if r.kind == "checkout" and r.state == "approved" and r.expires_at and r.expires_at > now
    ]
    items = depot().items.list(me, ItemFilter(group=group, product=product, version=version))
    may_retire = info.state == "checked_in" and (
        GlobalRole.VERSION_MANAGER in me.actor.global_roles
        or GlobalRole.VERSION_MANAGER in me.actor.standing_in
    )
    return render_template(
        "version.html",
        version=info,
        stopped=stopped,
        stop_word="quarantined" if quarantines else "withdrawn",
        requests=requests,
        checkouts=checkouts,
        items=items.items,
        retire_form=RetireForm() if may_retire else None,
        history=history.items,
        history_page=history,
        feedback=depot().requests.feedback(me, group, product, version, first),
        provenance=depot().provenance.attestations(me, group, product, version),
        panels=depot().plugins.panels(VersionRef(group, product, version), Caller.of(me)),
    )


@bp.post("/groups/<group>/<product>/<version>/retire")
@login_required
def retire(group: str, product: str, version: str) -> ResponseReturnValue:
    """Retire a checked-in version from its page (a version manager; audited as the API)."""
    form = RetireForm()
    if not form.validate_on_submit():
        raise InvalidRequest(gettext("the retire form was incomplete"))
    refused = depot().library.retire(
        page_principal(), group, product, version, form.reason.data or ""
    )
    flash(
        ngettext(
            "%(ref)s retired; %(num)d pending check-out refused.",
            "%(ref)s retired; %(num)d pending check-outs refused.",
            refused,
            ref=f"{group}/{product}@{version}",
        )
        if refused
        else gettext("%(ref)s retired.", ref=f"{group}/{product}@{version}"),
        "success",
    )
    return redirect(url_for("web.version", group=group, product=product, version=version))


@bp.get("/groups/<group>/<product>/<version>/files/<path:name>")
@login_required
def file(group: str, product: str, version: str, name: str) -> ResponseReturnValue:
    """A file's bytes, for whoever may read them: a member, the holder of a check-out,
    or the decider of a request about the version (audited as any download)."""
    download = depot().transfers.open_download(
        page_principal(),
        group,
        product,
        version,
        name,
        record=request.method == "GET",
        byte_range=request.headers.get("Range", ""),
    )
    return file_response(download)
