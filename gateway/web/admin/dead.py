"""The super-admin's page of dead work (``/admin/dead``): messages and replies given up after ``jobs.max_attempts``
tries, each with its error and a retry button (:mod:`gateway.jobs.dead`)."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user

from gateway.complaints.audit import record
from gateway.jobs import dead
from gateway.web.admin.blueprint import bp
from gateway.web.auth import db, roles_required
from models.user import SUPER_ADMIN

KIND_NAMES = {dead.MESSAGE: "Pesan masuk", dead.SEND: "Kiriman"}


@bp.get("/dead")
@roles_required(SUPER_ADMIN)
def dead_work() -> Any:
    """Every dead message and send: what, from or to whom, tries, the last error, a retry button."""
    items = dead.dead_items(db())
    return render_template("admin/dead.html", items=items, kind_names=KIND_NAMES,
                           max_attempts=current_app.extensions["sambat"].settings.jobs.max_attempts)


@bp.post("/dead/<kind>/<int:row_id>/retry")
@roles_required(SUPER_ADMIN)
def dead_retry(kind: str, row_id: int) -> Any:
    """Try one dead message or send again, from a fresh count."""
    if kind not in dead.KINDS:
        abort(404, description=f"Jenis {kind!r} tidak dikenal: pesan atau kiriman.")
    runtime = current_app.extensions["sambat"]
    if not dead.retry(runtime, kind, row_id):
        flash(f"{KIND_NAMES[kind]} {row_id} tidak (lagi) gagal: tidak ada yang dicoba ulang.")
        return redirect(url_for("admin.dead_work"))
    session = db()
    record(session, current_user, f"dead.retry_{kind}", kind, str(row_id), {"dead": True}, {"dead": False})
    session.commit()
    flash(f"{KIND_NAMES[kind]} {row_id} dicoba lagi.")
    return redirect(url_for("admin.dead_work"))
