"""The super-admin's pages for people: users (add, deactivate, new password) and the audit log."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user
from sqlalchemy import select

from gateway.complaints.audit import record, user_state
from gateway.web.admin.blueprint import bp
from gateway.web.auth import (
    MIN_PASSWORD,
    UserError,
    check_role,
    create_user,
    db,
    hash_password,
    password_problem,
    roles_required,
    start_session,
)
from models import Agency, AuditEntry, User
from models.user import AGENCY_ADMIN, ROLES, SUPER_ADMIN

AUDIT_PAGE = 200
PASSWORD_PROBLEMS = {
    "short": f"Kata sandi terlalu pendek: paling sedikit {MIN_PASSWORD} karakter.",
    "weak": "Kata sandi terlalu mudah ditebak (kata sandi umum, pola, atau memuat e-mail atau nama): pakai tiga "
            "atau empat kata yang tidak berhubungan.",
}


@bp.get("/users")
@roles_required(SUPER_ADMIN)
def users() -> Any:
    """Every user, with a form to add one."""
    session = db()
    people = list(session.scalars(select(User).order_by(User.role, User.agency_code, User.email)))
    agencies = list(session.scalars(select(Agency).where(Agency.active).order_by(Agency.code)))
    return render_template("admin/users.html", people=people, agencies=agencies, roles=ROLES, form={},
                           min_password=MIN_PASSWORD)


@bp.post("/users")
@roles_required(SUPER_ADMIN)
def user_add() -> Any:
    """Add a user; a mistake is shown above the form with what was typed kept (422)."""
    session = db()
    form = {key: (request.form.get(key) or "").strip() for key in ("email", "name", "role", "agency")}
    try:
        user = create_user(session, form["email"], form["role"], request.form.get("password") or "",
                           agency_code=form["agency"] or None, name=form["name"] or None)
    except UserError as error:
        session.rollback()
        people = list(session.scalars(select(User).order_by(User.role, User.agency_code, User.email)))
        agencies = list(session.scalars(select(Agency).where(Agency.active).order_by(Agency.code)))
        return render_template("admin/users.html", people=people, agencies=agencies, roles=ROLES, form=form,
                               error=str(error), min_password=MIN_PASSWORD), 422
    record(session, current_user, "user.create", "user", user.email, None, user_state(user))
    session.commit()
    flash(f"Pengguna {user.email} ditambahkan.")
    return redirect(url_for("admin.users"))


def _user_or_404(user_id: int) -> User:
    user = db().get(User, user_id)
    if user is None:
        abort(404, description="Pengguna tidak ditemukan.")
    return user


@bp.post("/users/<int:user_id>/active")
@roles_required(SUPER_ADMIN)
def user_active(user_id: int) -> Any:
    """Deactivate or reactivate a user (a super-admin cannot lock themselves out)."""
    session, user = db(), _user_or_404(user_id)
    if user.id == current_user.id:
        return render_template("admin/error.html", code=409, message="Anda tidak bisa menonaktifkan akun sendiri.",
                               back=url_for("admin.users")), 409
    before = user_state(user)
    user.active = request.form.get("active") == "1"
    if not user.active:
        user.end_sessions()
    record(session, current_user, "user.activate" if user.active else "user.deactivate", "user", user.email,
           before, user_state(user))
    session.commit()
    flash(f"{user.email} {'aktif' if user.active else 'dinonaktifkan'}.")
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:user_id>")
@roles_required(SUPER_ADMIN)
def user_update(user_id: int) -> Any:
    """Change a user's name, role or agency (an agency admin moved to another agency keeps their login)."""
    session, user = db(), _user_or_404(user_id)
    role = (request.form.get("role") or user.role).strip()
    agency = (request.form.get("agency") or "").strip() or None if role == AGENCY_ADMIN else None
    name = " ".join((request.form.get("name") or "").split())[:120] or None
    if user.id == current_user.id and role != SUPER_ADMIN:
        return render_template("admin/error.html", code=409, back=url_for("admin.users"),
                               message="Anda tidak bisa menurunkan peran akun sendiri."), 409
    try:
        check_role(session, role, agency)
    except UserError as error:
        return render_template("admin/error.html", code=422, message=str(error), back=url_for("admin.users")), 422
    before = user_state(user)
    user.role, user.agency_code, user.name = role, agency, name
    if user_state(user) != before:
        record(session, current_user, "user.update", "user", user.email, before, user_state(user))
        session.commit()
        flash(f"{user.email} disimpan.")
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:user_id>/password")
@roles_required(SUPER_ADMIN)
def user_password(user_id: int) -> Any:
    """Set a new password for a user (it is never shown or logged)."""
    session, user = db(), _user_or_404(user_id)
    password = request.form.get("password") or ""
    problem = password_problem(password, user.email, user.name)
    if problem is not None:
        return render_template("admin/error.html", code=422, back=url_for("admin.users"),
                               message=PASSWORD_PROBLEMS[problem]), 422
    user.password_hash = hash_password(password)
    user.end_sessions()  # whoever knew the old password is logged out everywhere
    record(session, current_user, "user.password", "user", user.email)
    session.commit()
    if user.id == current_user.id:  # their own new password: this browser stays logged in, every other one not
        login_user(user)
        start_session(user)
    flash(f"Kata sandi {user.email} diganti.")
    return redirect(url_for("admin.users"))


@bp.get("/audit")
@roles_required(SUPER_ADMIN)
def audit_log() -> Any:
    """The newest changes first, filterable by who or what."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc())
    who, what = (request.args.get("actor") or "").strip(), (request.args.get("object") or "").strip()
    if who:
        query = query.where(AuditEntry.actor == who)
    if what:
        query = query.where(AuditEntry.object_id == what)
    entries = list(db().scalars(query.limit(AUDIT_PAGE)))
    return render_template("admin/audit.html", entries=entries, actor=who, object=what)
