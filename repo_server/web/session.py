"""Browser sign-in for the approval pages: flask-login sessions over the same accounts.

The session holds only the user's id; every page rebuilds the caller's principal (roles,
groups) from the database, so a role taken away or an account disabled takes effect at
the next click. A directory account's groups are re-checked with the directory when
``ldap_recheck_interval`` has passed, as for its API tokens. A session ends after
``session_lifetime`` or ``session_idle_timeout`` (:mod:`repo_server.web.headers`).
"""

from __future__ import annotations

from flask import Flask, current_app, flash, g, request
from flask_babel import lazy_gettext
from flask_login import LoginManager, UserMixin, current_user

from repo_server.auth.principal import Principal
from repo_server.core import Depot
from repo_server.errors import Unavailable
from repo_server.web.headers import session_still_valid


class PageUser(UserMixin):  # type: ignore[misc]
    """The signed-in person of a browser session."""

    def __init__(self, principal: Principal) -> None:
        self.principal = principal
        self.id = str(principal.user_id)
        self.username = principal.username


def _depot() -> Depot:
    found: Depot = current_app.extensions["depot"]
    return found


def install(app: Flask) -> None:
    """Set up sessions for the pages of ``app``."""
    manager = LoginManager()
    manager.login_view = "web.login"
    manager.login_message = lazy_gettext("Sign in to continue.")
    manager.localize_callback = str
    manager.session_protection = "strong"
    manager.init_app(app)

    @manager.user_loader
    def load_user(user_id: str) -> PageUser | None:
        try:
            number = int(user_id)
        except ValueError:
            return None
        depot = _depot()
        if not session_still_valid(depot.settings, depot.clock):
            return None
        try:
            principal = depot.auth.principal_for_user(number, request.remote_addr or "")
        except Unavailable as error:
            # The directory cannot re-check this person's groups: no page until it can
            # (the session stays, so the next click after the directory is back works).
            flash(error.message, "error")
            return None
        return PageUser(principal) if principal is not None else None


def page_principal() -> Principal:
    """The principal of the signed-in browser user (pages are all behind ``login_required``)."""
    cached: Principal | None = g.get("page_principal")
    if cached is None:
        cached = current_user.principal
        g.page_principal = cached
    return cached
