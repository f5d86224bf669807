"""The public transparency page at /transparansi: each agency's figures, no personal data at all.

Only counts and durations leave the database here: no ticket codes, texts, names, phones or places.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template, request

from gateway.complaints.figures import WINDOWS, agency_figures, duration_text, share_text, totals
from gateway.settings.deadlines import policy
from gateway.web.auth import db
from models import utcnow

bp = Blueprint("transparency", __name__, template_folder="templates")


@bp.get("/transparansi")
def transparency() -> Any:
    """How fast each agency answers, for the last 7, 30 or 90 days."""
    days = request.args.get("days", type=int) or 30
    if days not in WINDOWS:
        days = 30
    settings = current_app.extensions["sambat"].settings
    session = db()
    figures = agency_figures(session, days)
    response = current_app.make_response(render_template(
        "admin/transparency.html", figures=figures, overall=totals(figures, session, days), days=days,
        windows=WINDOWS, city=settings.city, rules=policy(settings), duration=duration_text, share=share_text,
        now=utcnow(),
    ))
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
