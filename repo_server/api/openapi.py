"""``/api/openapi.json``: the OpenAPI 3.1 document of the API, generated once per app from
the routes' declarations (see :mod:`repo_server.api.document`)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, json

from repo_server.api.document import openapi_document

bp = Blueprint("openapi", __name__)


@bp.get("/api/openapi.json")
def openapi_json() -> Response:
    """The document: the core's routes and those of the enabled plugins (public)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    body: bytes | None = app.extensions.get("depot.openapi.json")
    if body is None:
        body = json.dumps(openapi_document(app)).encode()
        app.extensions["depot.openapi.json"] = body
    return Response(body, mimetype="application/json")
