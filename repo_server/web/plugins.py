"""Mounting the plugins' API routes, pages and top-bar links on the app.

Called once by the app factory (:func:`repo_server.app.create_app`) after the core's
blueprints are registered: it asks the plugin host for every plugin's
:class:`~repo_server.hooks.PluginRoutes` and mounts them as the core's own are — API routes
under ``/api/v1`` with bearer tokens and JSON errors, pages behind the sign-in with the
error page — and keeps the top-bar links for the pages' layout (:func:`nav`) and the words of
the plugins' audit actions for the pages' records (:func:`repo_server.web.words.add_actions`).
"""

from __future__ import annotations

from flask import Blueprint, Flask, current_app, g, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf.csrf import CSRFProtect

from repo_server.api.http import authenticate
from repo_server.hooks import NavLink
from repo_server.http_errors import serve_as_pages
from repo_server.plugin_host import PluginHost
from repo_server.web import words
from repo_server.web.session import page_principal

#: ``app.extensions`` key: the plugins' top-bar links.
NAV = "depot.plugin_nav"


def install(app: Flask, csrf: CSRFProtect, host: PluginHost) -> None:
    """Mount every plugin's API routes and pages on ``app`` (see ``PluginRoutes``)."""
    links: list[NavLink] = []
    for routes in host.routes():
        if routes.api is not None:
            routes.api.before_request(authenticate)
            app.register_blueprint(routes.api, url_prefix=_api_prefix(routes.api))
            csrf.exempt(routes.api)  # bearer tokens, never cookies
        if routes.pages is not None:
            routes.pages.before_request(_page_caller)
            app.register_blueprint(routes.pages)
            serve_as_pages(app, routes.pages.name)
        links.extend(routes.nav)
        words.add_actions(app, routes.actions)
    app.extensions[NAV] = links


def nav() -> list[NavLink]:
    """The plugins' top-bar links of the running app."""
    found: list[NavLink] = current_app.extensions.get(NAV, [])
    return found


def _api_prefix(blueprint: Blueprint) -> str:
    return "/api/v1" + (blueprint.url_prefix or "")


def _page_caller() -> ResponseReturnValue | None:
    if not current_user.is_authenticated:
        return redirect(url_for("web.login", next=request.full_path.rstrip("?")))
    g.principal = page_principal()
    return None
