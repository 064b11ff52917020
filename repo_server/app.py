"""The application factory."""

from __future__ import annotations

from flask import Flask, current_app, request
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from repo_server import observability
from repo_server.clock import Clock
from repo_server.core import Depot, build_depot
from repo_server.errors import InvalidRequest, NotFound
from repo_server.http_errors import PAGES, register_error_handlers, serve_as_pages
from repo_server.ids import MAX_BIG_INTEGER
from repo_server.readiness import Readiness
from repo_server.settings import Settings, load_settings
from storage import BlobStore


class DatabaseInteger(IntegerConverter):
    """``<int:…>`` in a route: a whole number the database can hold (0…2^63-1); a path
    with a larger one matches no route, a 404 (never an overflow in the driver)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("max", MAX_BIG_INTEGER)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]


def refuse_nul() -> None:
    """A NUL character (``%00``) in a query string or a form is a 400 naming the field, in
    a path a 404 (no name holds one): no database column can store or compare it."""
    for name, value in request.view_args.items() if request.view_args else ():
        if isinstance(value, str) and "\x00" in value:
            raise NotFound(f"{name} not found")
    fields = [request.args]
    if request.blueprint in current_app.extensions.get(PAGES, ()):
        fields.append(request.form)  # a page's form (an API body is read by its route)
    for found in fields:
        for name, value in found.items(multi=True):
            if "\x00" in name or "\x00" in value:
                shown = name.replace("\x00", "\\x00")
                raise InvalidRequest(f"field {shown!r}: contains a NUL character", field=shown)


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    store: BlobStore | None = None,
    depot: Depot | None = None,
) -> Flask:
    """Build the Depot WSGI application for ``settings`` (default: from the environment).

    The database schema must already be at the newest migration (``depot-server run``
    and ``depot-server db upgrade`` see to that); the app itself never migrates.
    """
    settings = (settings or load_settings()).with_secret_key()
    app = Flask(__name__, template_folder="web/templates", static_folder="web/static")
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=None,  # limits are enforced per route (JSON bodies, uploads)
        JSON_SORT_KEYS=False,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.effective_public_url.startswith("https://"),
        REMEMBER_COOKIE_SECURE=settings.effective_public_url.startswith("https://"),
        WTF_CSRF_TIME_LIMIT=None,  # tokens live as long as the session
        # Request bodies of the pages are forms; the largest is an acceptance report.
        MAX_FORM_MEMORY_SIZE=1 << 20,
    )
    app.url_map.converters["int"] = DatabaseInteger
    app.json.sort_keys = False  # type: ignore[attr-defined]
    if settings.trusted_proxies:
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    app.extensions["depot"] = depot or build_depot(settings, clock=clock, store=store)

    from flask_wtf.csrf import CSRFProtect

    from repo_server.api import openapi
    from repo_server.api.http import bp as api_bp
    from repo_server.web import headers, language, plugins, session, words
    from repo_server.web.views import bp as web_bp

    # Importing the route modules attaches their routes to the API blueprint.
    for module in (
        "repo_server.api.health",
        "repo_server.api.plugins",
        "repo_server.auth.api",
        "repo_server.groups.api",
        "repo_server.artifacts.api",
        "repo_server.api.uploads",
        "repo_server.audit.api",
        "repo_server.lifecycle.api",
        "repo_server.notify.api",
        "repo_server.registers.api",
        "repo_server.provenance.api",
        "repo_server.trust.api",
        "repo_server.web.browse",
        "repo_server.web.registers",
        "repo_server.web.stand_ins",
    ):
        __import__(module)
    app.before_request(refuse_nul)
    app.register_blueprint(api_bp)
    app.register_blueprint(openapi.bp)
    app.register_blueprint(web_bp)
    register_error_handlers(app)
    serve_as_pages(app, web_bp.name)
    session.install(app)
    language.install(app)
    words.install(app)
    headers.install(app)
    csrf = CSRFProtect(app)
    csrf.exempt(api_bp)  # the API authenticates with bearer tokens, never with cookies
    plugins.install(app, csrf, app.extensions["depot"].plugins)
    observability.install(app, Readiness(app.extensions["depot"]).report)
    return app
