"""Logging in and out, the checks every console request passes, the dashboard, and the pages' helpers."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_user, logout_user
from flask_wtf.csrf import CSRFError, validate_csrf
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy import select
from werkzeug.exceptions import HTTPException
from wtforms import ValidationError

from gateway.complaints.alerts import alerts_for
from gateway.complaints.audit import record
from gateway.complaints.devices import device_statuses
from gateway.complaints.figures import WINDOWS, agency_figures, confirmed_fixed, duration_text, share_text, totals
from gateway.complaints.routing import unstaffed_agencies
from gateway.web.admin.blueprint import bp
from gateway.web.admin.review import queue_counters
from gateway.web.admin.scope import STAFF, shown_address, shown_email, shown_phone, shown_text
from gateway.web.auth import (
    check_password,
    db,
    find_user,
    login_redirect,
    plausible_email,
    roles_required,
    session_expired,
    start_session,
)
from gateway.web.limiter import limiter
from gateway.web.security import behind_https, form_value
from models import Agency, Complaint, utcnow
from models.complaint import REOPENED
from models.tickets import format_ticket_code
from models.user import AGENCY_ADMIN, SUPER_ADMIN, VIEWER

ROLE_NAMES = {SUPER_ADMIN: "Super-admin", AGENCY_ADMIN: "Admin dinas", VIEWER: "Pemantau"}
OPEN_ENDPOINTS = {"admin.login", "admin.static"}


def _settings() -> Any:
    return current_app.extensions["sambat"].settings


@bp.before_request
def _guard() -> Any:
    """Every console request: CSRF on POST, a live session, and a logged-in user except on the login page."""
    if request.method == "POST":
        try:
            validate_csrf(request.form.get("csrf_token"))
        except ValidationError as error:
            raise CSRFError(f"Token formulir tidak sah ({error}). Muat ulang halaman lalu coba lagi.") from None
    config = _settings().admin
    if session_expired(config.session_idle_minutes, config.session_max_hours):
        flash("Sesi Anda berakhir. Silakan masuk lagi.")
        return login_redirect()
    if request.endpoint not in OPEN_ENDPOINTS and not current_user.is_authenticated:
        return login_redirect()
    return None


@bp.after_request
def _no_store(response: Any) -> Any:
    """Console pages hold personal data: no caching by browsers or proxies."""
    if request.endpoint != "admin.static":
        response.headers["Cache-Control"] = "no-store"
    response.headers.setdefault("X-Frame-Options", "DENY")
    return response


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Any:
    """Console errors as a page in the console's language, with the status code kept."""
    messages = {400: "Permintaan tidak sah.", 403: "Anda tidak berhak membuka halaman ini.",
                404: "Tidak ditemukan.", 405: "Cara permintaan tidak diizinkan.",
                429: "Terlalu banyak percobaan. Tunggu beberapa menit lalu coba lagi."}
    description = error.description if error.description and not error.description.startswith(("The ", "You ")) \
        else messages.get(error.code or 500, "Terjadi kesalahan.")
    if error.code == 429:
        description = messages[429]
    return render_template("admin/error.html", code=error.code, message=description), error.code or 500


DAY_NAMES = ("Sen", "Sel", "Rab", "Kam", "Jum", "Sab", "Min")  # %a in Indonesian, whatever the server's locale
OUTBOX_NAMES = {"pending": "menunggu", "retry": "dicoba lagi", "claimed": "dikirim", "accepted": "dikirim",
                "scheduled": "dikirim", "queued": "dikirim", "sending": "dikirim", "sent": "terkirim",
                "delivered": "sampai", "read": "dibaca", "undelivered": "tidak sampai", "failed": "gagal",
                "not_sent": "tidak dikirim", "canceled": "dibatalkan"}
MEDIUM_NAMES = {"sms": "SMS", "whatsapp": "WhatsApp", "email": "e-mail", "web": "formulir web", "app": "aplikasi",
                "open311": "Open311"}


@bp.app_template_filter("local")
def _local(moment: datetime | None, pattern: str = "%d-%m-%Y %H:%M") -> str:
    if moment is None:
        return "-"
    local = moment.astimezone(ZoneInfo(_settings().timezone))
    return local.strftime(pattern.replace("%a", DAY_NAMES[local.weekday()]))


@bp.app_template_filter("private")
def _private(text: str | None) -> str:
    """Free text that may hold a citizen's phone or e-mail: masked for viewers."""
    return shown_text(text)


@bp.context_processor
def _helpers() -> dict[str, Any]:
    statuses = _settings().statuses.get("id", {})
    return {"city": _settings().city, "ticket": format_ticket_code, "status_name": lambda s: statuses.get(s, s),
            "role_names": ROLE_NAMES, "shown_phone": shown_phone, "shown_email": shown_email,
            "shown_address": shown_address, "duration": duration_text, "share": share_text, "now": utcnow(),
            "outbox_name": lambda status: OUTBOX_NAMES.get(status, status),
            "medium_name": lambda medium: MEDIUM_NAMES.get(medium, medium)}


# Login attempts (issue 14): only failures count, per client address and per account, in steps that grow
# (admin.login_rate_limit, e.g. 5 a minute, 10 in 10 minutes, 20 an hour), so guessing slows down while nobody
# can lock a person out: a browser that logged in to an account before carries a signed device cookie, and its
# attempts count for that browser alone (OWASP's device cookies), not for the account or the address.
DEVICE_COOKIE = "sambat_login_device"
DEVICE_DAYS = 180


def _device_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="sambat-login-device")


def _typed_email() -> str:
    return form_value("email").strip().lower()[:254]


def _trusted_device() -> str | None:
    """The device id of a browser that logged in to the account being tried, else None."""
    token = request.cookies.get(DEVICE_COOKIE)
    if not token:
        return None
    try:
        data = _device_serializer().loads(token, max_age=DEVICE_DAYS * 86400)
    except BadData:
        return None
    if not isinstance(data, dict) or data.get("email") != _typed_email():
        return None
    return str(data.get("device"))


def _account_key() -> str:
    device = _trusted_device()
    return f"admin-login-device:{device}" if device else "admin-login:" + _typed_email()


def _login_limit() -> str:
    return _settings().admin.login_rate_limit


def _failed(response: Any) -> bool:
    return response.status_code == 401


def _remember_device(response: Any, email: str) -> None:
    token = _device_serializer().dumps({"email": email.lower(), "device": secrets.token_urlsafe(12)})
    response.set_cookie(DEVICE_COOKIE, token, max_age=DEVICE_DAYS * 86400, path=url_for("admin.login"),
                        secure=behind_https(), httponly=True, samesite="Strict")


def _audit_name(email: str, user: Any) -> str | None:
    """What a failed login records of the e-mail typed: a known user's address, or anything written like an
    address; never other input (it may be a password typed into the wrong field)."""
    if user is not None:
        return user.email
    if plausible_email(email):
        return email[:254]
    return None


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], key_func=get_remote_address, deduct_when=_failed,
               exempt_when=lambda: _trusted_device() is not None)
@limiter.limit(_login_limit, methods=["POST"], key_func=_account_key, deduct_when=_failed)
def login() -> Any:
    """The login form; a wrong password and an unknown e-mail get the same answer."""
    if current_user.is_authenticated and request.method == "GET":
        return redirect(url_for("admin.home"))
    error, email = None, ""
    if request.method == "POST":
        email = (request.form.get("email") or "").strip()
        session_ = db()
        user = find_user(session_, email) if len(email) <= 254 else None
        if check_password(session_, user, request.form.get("password") or ""):
            login_user(user)
            start_session(user)
            user.last_login_at = utcnow()
            record(session_, user, "login", "user", user.email)
            session_.commit()
            response = redirect(_safe_next(request.args.get("next")) or url_for("admin.home"))
            _remember_device(response, user.email)
            return response
        shown = _audit_name(email, user)
        record(session_, shown or "-", "login.failed", "user", shown[:40] if shown else None,
               after=None if shown else {"email": "(not an e-mail address: not recorded)"})
        session_.commit()
        error = "E-mail atau kata sandi salah."
        if shown is None:
            email = ""  # never echo back what may be a password
    return render_template("admin/login.html", error=error, email=email), 401 if error else 200


def _safe_next(target: str | None) -> str | None:
    """Only a path inside the console: never another site."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/admin/"):
        return None
    return target


@bp.post("/logout")
def logout() -> Any:
    """End every session of this user: this browser's, and any copy of a session cookie elsewhere."""
    if current_user.is_authenticated:
        current_user.end_sessions()
        record(db(), current_user, "logout", "user", current_user.email)
        db().commit()
    logout_user()
    flash("Anda sudah keluar.")
    return redirect(url_for("admin.login"))


@bp.get("/")
@roles_required(*STAFF)
def home() -> Any:
    """Each role's start page: the review queue, the agency's work queue, or the dashboard."""
    if current_user.role == SUPER_ADMIN:
        return redirect(url_for("admin.review_queue"))
    if current_user.role == AGENCY_ADMIN:
        return redirect(url_for("admin.work_queue"))
    return redirect(url_for("admin.dashboard"))


@bp.get("/dashboard")
@roles_required(*STAFF)
def dashboard() -> Any:
    """Per agency: open, overdue, resolved, medians and share within deadline, for 7, 30 or 90 days."""
    days = request.args.get("days", type=int) or 30
    if days not in WINDOWS:
        days = 30
    session_ = db()
    codes = [current_user.agency_code] if current_user.role == AGENCY_ADMIN else None
    figures = agency_figures(session_, days, agency_codes=codes)
    overall = totals(figures, session_, days) if codes is None else None
    counters = queue_counters(session_) if current_user.role == SUPER_ADMIN else None
    devices = device_statuses(session_, _settings()) if current_user.role == SUPER_ADMIN else None
    agencies = {agency.code: agency.name for agency in session_.scalars(select(Agency))}
    # Issue 15: what citizens say of the answers, and the tickets they reopened (back with their agencies).
    confirmed = confirmed_fixed(session_, days, agency_codes=codes)
    reopened_query = select(Complaint).where(Complaint.status == REOPENED)
    if codes is not None:
        reopened_query = reopened_query.where(Complaint.agency_code.in_(codes))
    reopened = list(session_.scalars(reopened_query.order_by(Complaint.updated_at.desc()).limit(50)))
    unstaffed = unstaffed_agencies(session_) if current_user.role != AGENCY_ADMIN else []
    return render_template("admin/dashboard.html", figures=figures, overall=overall, days=days, windows=WINDOWS,
                           alerts=alerts_for(session_, current_user), counters=counters, agencies=agencies,
                           devices=devices, confirmed=confirmed, reopened=reopened, unstaffed=unstaffed)
