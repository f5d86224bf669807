"""The super-admin's agencies page: add an agency, rename it, deactivate or reactivate it, hand it back to config.

config.yaml lists the agencies the router knows (with their keywords); at every start they are brought in step
with it. The super-admin may also add agencies config.yaml does not list (assigned by hand: the router has no
keywords for them), and rename or deactivate any agency. A changed agency belongs to the console from then on
(``source`` ``console``) and the start leaves it alone, until the super-admin hands it back to config.yaml.
A deactivated agency gets nothing new: the router's choice of it goes to the review queue instead, and it is
not offered for assignment or for new admins. Every change is in the audit log with before and after.
"""

from __future__ import annotations

import re
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.complaints.audit import record
from gateway.complaints.deadlines import OPEN_STATUSES
from gateway.complaints.routing import staffed_agencies
from gateway.settings.deadlines import policy
from gateway.web.admin.blueprint import bp
from gateway.web.auth import db, roles_required
from models import Agency, Complaint, User
from models.contact import FROM_CONFIG, FROM_CONSOLE
from models.user import SUPER_ADMIN

CODE = re.compile(r"^[A-Z][A-Z0-9-]{1,31}$")  # as config.yaml's agencies (router/config.py)
MAX_NAME = 200


class AgencyError(ValueError):
    """The change cannot be made; the message says why and which field."""


def agency_state(agency: Agency) -> dict[str, Any]:
    """The fields of an agency the console changes."""
    return {"code": agency.code, "name": agency.name, "active": agency.active, "source": agency.source}


def _configured() -> dict[str, str]:
    return {agency.code: agency.name for agency in current_app.extensions["sambat"].settings.routing.agencies}


def _open_count(session: Session, code: str) -> int:
    return session.scalar(select(func.count(Complaint.id)).where(Complaint.agency_code == code,
                                                                 Complaint.status.in_(OPEN_STATUSES))) or 0


def _page(status: int = 200, error: str | None = None, form: dict[str, str] | None = None) -> Any:
    session = db()
    admins = dict(session.execute(select(User.agency_code, func.count(User.id)).where(User.active)
                                  .group_by(User.agency_code)).all())
    staffed = staffed_agencies(session)
    # Active agencies nobody in the console works for come first: what the router sent there would go unread.
    rows = sorted(session.scalars(select(Agency)),
                  key=lambda a: (not (a.active and a.code not in staffed), not a.active, a.code))
    open_counts = dict(session.execute(select(Complaint.agency_code, func.count(Complaint.id))
                                       .where(Complaint.status.in_(OPEN_STATUSES)).group_by(Complaint.agency_code)).all())
    settings = current_app.extensions["sambat"].settings
    return render_template("admin/agencies.html", agencies=rows, rules=policy(settings), admins=admins,
                           unstaffed={a.code for a in rows if a.active and a.code not in staffed},
                           open_counts=open_counts, configured=_configured(), config_path=settings.config_path,
                           error=error, form=form or {}, max_name=MAX_NAME), status


def _name(value: str) -> str:
    name = " ".join(value.split())
    if not name:
        raise AgencyError("Nama dinas wajib diisi.")
    if len(name) > MAX_NAME:
        raise AgencyError(f"Nama dinas terlalu panjang: {len(name)} karakter, paling banyak {MAX_NAME}.")
    return name


@bp.get("/agencies")
@roles_required(SUPER_ADMIN)
def agencies() -> Any:
    """Every agency: code, name, admins, open complaints, deadlines, where it comes from; forms to change them."""
    return _page()


@bp.post("/agencies")
@roles_required(SUPER_ADMIN)
def agency_add() -> Any:
    """Add an agency config.yaml does not list; a mistake is shown above the form with what was typed (422)."""
    session = db()
    form = {"code": (request.form.get("code") or "").strip().upper(), "name": request.form.get("name") or ""}
    try:
        if not CODE.match(form["code"]):
            raise AgencyError(f"Kode dinas {form['code']!r} tidak sah: huruf besar, angka atau tanda minus, 2-32 "
                              "karakter, diawali huruf (contoh: PDAM).")
        if session.get(Agency, form["code"]) is not None:
            raise AgencyError(f"Kode {form['code']} sudah dipakai.")
        agency = Agency(code=form["code"], name=_name(form["name"]), active=True, source=FROM_CONSOLE)
    except AgencyError as error:
        return _page(422, str(error), form)
    session.add(agency)
    session.flush()
    record(session, current_user, "agency.create", "agency", agency.code, None, agency_state(agency))
    session.commit()
    flash(f"Dinas {agency.code} ditambahkan. Teruskan aduan ke dinas ini dari antrean tinjauan.")
    return redirect(url_for("admin.agencies"))


@bp.post("/agencies/<agency_code>")
@roles_required(SUPER_ADMIN)
def agency_update(agency_code: str) -> Any:
    """Rename, deactivate or reactivate an agency, or hand it back to config.yaml (``action=config``)."""
    session = db()
    agency = session.get(Agency, agency_code)
    if agency is None:
        abort(404, description="Dinas tidak ditemukan.")
    before = agency_state(agency)
    try:
        if request.form.get("action") == "config":
            configured = _configured()
            if agency.code not in configured:
                raise AgencyError(f"{agency.code} tidak ada di config.yaml; tidak ada yang bisa dikembalikan.")
            agency.name, agency.active, agency.source = configured[agency.code], True, FROM_CONFIG
        else:
            name = _name(request.form["name"]) if "name" in request.form else agency.name
            active = request.form.get("active", "1" if agency.active else "0") == "1"
            if agency.active and not active and (waiting := _open_count(session, agency.code)):
                raise AgencyError(f"{agency.code} masih memegang {waiting} aduan terbuka. Teruskan dulu ke dinas "
                                  "lain (Aduan di dinas, saring per dinas), lalu nonaktifkan.")
            if (name, active) != (agency.name, agency.active):
                agency.name, agency.active, agency.source = name, active, FROM_CONSOLE
    except AgencyError as error:
        session.rollback()
        return _page(409, str(error))
    after = agency_state(agency)
    if after != before:
        action = "agency.config" if agency.source == FROM_CONFIG and before["source"] != FROM_CONFIG else \
            "agency.deactivate" if before["active"] and not agency.active else \
            "agency.activate" if agency.active and not before["active"] else "agency.update"
        record(session, current_user, action, "agency", agency.code, before, after)
        session.commit()
        flash(f"Dinas {agency.code} disimpan.")
    return redirect(url_for("admin.agencies"))
