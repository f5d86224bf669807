"""GET /tiket/<code> and the lookup form at GET /tiket. A wrong code gets the same help as SMS."""

from __future__ import annotations

from typing import Any

from flask import current_app, redirect, render_template, request, url_for

from gateway.complaints.public import find_complaint, public_ticket
from gateway.complaints.replies import render
from gateway.web.form.routes import page_values
from gateway.web.form.texts import current_language
from gateway.web.ticket_page.blueprint import bp
from models.tickets import parse_ticket_code


@bp.get("/tiket")
@bp.get("/tiket/")
def lookup() -> Any:
    """A small form for a ticket number; ``?kode=`` goes straight to the ticket."""
    language = current_language(current_app.extensions["sambat"].settings.default_language)
    code = (request.args.get("kode") or "").strip()
    if code:
        parsed = parse_ticket_code(code)
        return redirect(url_for("ticket.show", code=parsed.digits if parsed else code), code=303)
    return render_template("public/lookup.html", **page_values(language))


@bp.get("/tiket/<path:code>")
def show(code: str) -> Any:
    """The ticket's public status; a 404 page that says what is wrong with a mistyped code."""
    runtime = current_app.extensions["sambat"]
    settings = runtime.settings
    language = current_language(settings.default_language)
    values = page_values(language)
    parsed = parse_ticket_code(code)
    if parsed is None:
        message = values["t"]["not_code"].format(given=code[:40])
        return render_template("public/missing.html", message=message, given=code[:40], **values), 404
    if not parsed.valid:
        message = render(settings.templates, language, "bad_code", given=parsed.digits)
        return render_template("public/missing.html", message=message, given=parsed.digits, **values), 404
    with runtime.db.session() as session:
        complaint = find_complaint(session, parsed.digits)
        if complaint is None:
            message = render(settings.templates, language, "not_found")
            return render_template("public/missing.html", message=message, given=parsed.digits, **values), 404
        ticket = public_ticket(session, complaint, settings.statuses, language)
    if parsed.digits != code:
        return redirect(url_for("ticket.show", code=parsed.digits), code=301)
    return render_template("public/ticket.html", ticket=ticket, timezone=settings.timezone, **values)
