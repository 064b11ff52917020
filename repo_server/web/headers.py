"""What every answer tells the browser about itself, and how long a page session lasts.

Installed by the app factory (:func:`install`). Every answer, page or API, carries a
Content-Security-Policy that forbids framing (``frame-ancestors 'none'``, and
``X-Frame-Options: DENY`` for older browsers), ``X-Content-Type-Options: nosniff`` and a
``Referrer-Policy``. Signed-in pages and API answers are never stored by a cache
(``Cache-Control: no-store``: they carry tokens or a person's view). Over TLS — directly,
or behind ``trusted_proxies`` that say ``X-Forwarded-Proto: https`` — answers carry HSTS
and the session cookie is ``Secure``. A page session ends ``session_lifetime`` seconds
after sign-in, or ``session_idle_timeout`` seconds after its last request, on the
server's injectable clock.
"""

from __future__ import annotations

from flask import Flask, Response, flash, has_request_context, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_babel import gettext

from repo_server.clock import Clock
from repo_server.settings import Settings

#: The pages use only their own style sheet and no script; nothing may frame them.
PAGE_POLICY = (
    "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; "
    "object-src 'none'"
)
#: A JSON answer loads nothing at all.
API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
HSTS = "max-age=31536000; includeSubDomains"
#: The session keys of a page sign-in (seconds since the epoch, by the server's clock).
SIGNED_IN_AT, SEEN_AT = "signed_in_at", "seen_at"
_SIGN_IN_KEYS = ("_user_id", "_fresh", "_id", SIGNED_IN_AT, SEEN_AT)


class SessionCookies(SecureCookieSessionInterface):
    """Flask's signed cookie sessions, ``Secure`` whenever the request came over TLS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        configured = bool(super().get_cookie_secure(app))
        return configured or (has_request_context() and request.is_secure)


def _headers(response: Response) -> Response:
    headers = response.headers
    api = request.path.startswith("/api/")
    headers.setdefault("Content-Security-Policy", API_POLICY if api else PAGE_POLICY)
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", HSTS)
    if api or session.get("_user_id"):
        headers.setdefault("Cache-Control", "no-store")
    return response


def mark_signed_in(clock: Clock) -> None:
    """Start the lifetime and idle clocks of the page session just signed in."""
    now = clock.now().timestamp()
    session[SIGNED_IN_AT] = session[SEEN_AT] = now


def session_still_valid(settings: Settings, clock: Clock) -> bool:
    """For a page request with a signed-in session: may it go on? Ends the session (and
    says why on the sign-in page) when its lifetime or its idle time has run out;
    otherwise notes this request as its last."""
    now = clock.now().timestamp()
    started, seen = session.get(SIGNED_IN_AT), session.get(SEEN_AT)
    why = ""
    if not isinstance(started, int | float) or not isinstance(seen, int | float):
        why = gettext("it was started before this server's session rules")
    elif now - started >= settings.session_lifetime:
        why = gettext("sessions last at most %(time)s", time=_duration(settings.session_lifetime))
    elif now - seen >= settings.session_idle_timeout:
        why = gettext(
            "nothing happened in it for %(time)s", time=_duration(settings.session_idle_timeout)
        )
    if why:
        for key in _SIGN_IN_KEYS:
            session.pop(key, None)
        flash(gettext("Your session has ended (%(why)s); sign in again.", why=why), "error")
        return False
    session[SEEN_AT] = now
    return True


def _duration(seconds: int) -> str:
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{hours} hour{'s' if hours > 1 else ''}"
    minutes = max(1, seconds // 60)
    return f"{minutes} minute{'s' if minutes > 1 else ''}"


def install(app: Flask) -> None:
    """Security headers on every answer of ``app``, and ``Secure`` session cookies over TLS."""
    app.session_interface = SessionCookies()
    app.after_request(_headers)
