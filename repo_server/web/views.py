"""The pages: for now the front page that tells people how to reach Depot."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

bp = Blueprint("web", __name__)


@bp.get("/")
def index() -> str:
    """A short page: what this server is and how to connect the CLI to it."""
    depot = current_app.extensions["depot"]
    return render_template("index.html", public_url=depot.settings.effective_public_url)
