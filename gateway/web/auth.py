"""Who may use the console: users with argon2 password hashes, Flask-Login sessions that expire, roles.

A session keeps the user's id and session version (:meth:`models.User.get_id`); a session whose version is not
the user's current one is refused on its next request, so logout, a new password and deactivation end every
session of that user, including copies of the cookie in other browsers. New passwords need
:data:`MIN_PASSWORD` characters and a zxcvbn score of :data:`MIN_STRENGTH` (:func:`check_new_password`).

The console keeps one database session per request (:func:`db`), closed when the request ends; the logged-in
user is loaded into it, so views can change and commit in one place.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from functools import cache, wraps
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from flask import abort, current_app, g, redirect, request, session, url_for
from flask_login import LoginManager, current_user, logout_user
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from zxcvbn import zxcvbn

from models import Agency, User, utcnow
from models.user import AGENCY_ADMIN, ROLES

login_manager = LoginManager()
login_manager.login_view = "admin.login"
login_manager.login_message = "Silakan masuk untuk membuka halaman itu."
login_manager.session_protection = "strong"
hasher = PasswordHasher()
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 12
MIN_STRENGTH = 3  # zxcvbn's score (0-4): 3 is "safely unguessable" for an online attack with throttling
# Words of this deployment an attacker tries first; with the user's own e-mail and name they count as guessable.
GUESSABLE_WORDS = ("sambat", "admin", "malang", "malangkota", "kominfo", "diskominfo", "pemkot", "aduan")


class UserError(ValueError):
    """A user cannot be created or changed as asked; the message names the problem."""


def db() -> Session:
    """The database session of this request (opened on first use, closed at teardown)."""
    if "sambat_db" not in g:
        g.sambat_db = current_app.extensions["sambat"].db.sessions()
    return g.sambat_db


def close_db(_error: BaseException | None = None) -> None:
    """Teardown: roll back anything uncommitted and close the request's session."""
    session_ = g.pop("sambat_db", None)
    if session_ is not None:
        session_.close()


@login_manager.user_loader
def _load_user(session_id: str) -> User | None:
    """The user of a session ("id:version"); None (logged out) when the user ended their sessions since."""
    user_id, _, version = session_id.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = db().get(User, int(user_id))
    if user is None or not user.active or (user.session_version or 0) != int(version):
        return None
    return user


def init_auth(app: Any) -> None:
    """Bind Flask-Login and the request session to the app."""
    login_manager.init_app(app)
    app.teardown_appcontext(close_db)


@cache
def _dummy_hash() -> str:
    """A hash to verify against for an unknown e-mail, so that login is as slow as one for a known e-mail.

    Made on first use, not at import: every ``sambat`` command imports this module and most never log anyone in.
    """
    return hasher.hash("sambat-dummy-password")


def hash_password(password: str) -> str:
    """An argon2id hash of a password."""
    return hasher.hash(password)


def check_password(session_: Session, user: User | None, password: str) -> bool:
    """True when the password is the user's; rehashes it when argon2's parameters have changed."""
    if user is None or not user.active:
        try:
            hasher.verify(_dummy_hash(), password)
        except VerificationError:
            pass
        return False
    try:
        hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    return True


def find_user(session_: Session, email: str) -> User | None:
    """A user by e-mail address, ignoring case."""
    return session_.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def create_user(session_: Session, email: str, role: str, password: str, agency_code: str | None = None,
                name: str | None = None) -> User:
    """Check and add a user (the caller commits).

    Raises:
        UserError: a bad e-mail, role, agency or password, or an e-mail already taken, named in the message.
    """
    email = email.strip()
    if not EMAIL.match(email):
        raise UserError(f"not a valid e-mail address: {email!r}")
    check_role(session_, role, agency_code)
    check_new_password(password, email, name)
    if find_user(session_, email) is not None:
        raise UserError(f"a user with e-mail {email} already exists")
    user = User(email=email, role=role, agency_code=agency_code, name=name or None,
                password_hash=hash_password(password), active=True)
    session_.add(user)
    session_.flush()
    return user


def password_problem(password: str, *inputs: str | None) -> str | None:
    """Why a new password is refused (``"short"`` or ``"weak"``), or None when it is good enough.

    ``inputs`` are what an attacker knows of the user (e-mail, name): a password built from them is weak.
    """
    if len(password) < MIN_PASSWORD:
        return "short"
    known = list(GUESSABLE_WORDS)
    for given in inputs:
        if given:
            known.append(given.lower())
            known.extend(part for part in re.split(r"[^a-z0-9]+", given.lower()) if len(part) >= 3)
    # zxcvbn's time grows with the length; the first 100 characters decide whether it is guessable. zxcvbn
    # prices a separator between known words as brute force (kominfo@malangkota scores 3), so what is left
    # once the known words are taken out must be strong on its own too.
    candidate = password[:100]
    rest = candidate.lower()
    for word in sorted(set(known), key=len, reverse=True):
        rest = rest.replace(word, "")
    if min(zxcvbn(candidate, user_inputs=known)["score"],
           zxcvbn(rest, user_inputs=known)["score"] if rest else 0) < MIN_STRENGTH:
        return "weak"
    return None


PASSWORD_PROBLEMS = {
    "short": f"password too short: at least {MIN_PASSWORD} characters",
    "weak": "password too easy to guess (a common password, a pattern, or the e-mail or name in it): use "
            "three or four unrelated words",
}


def check_new_password(password: str, *inputs: str | None) -> None:
    """Refuse a new password that is short or guessable.

    Raises:
        UserError: naming why.
    """
    problem = password_problem(password, *inputs)
    if problem is not None:
        raise UserError(PASSWORD_PROBLEMS[problem])


def plausible_email(text: str) -> bool:
    """True when ``text`` is written like an e-mail address (syntax only, no DNS)."""
    try:
        validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def check_role(session_: Session, role: str, agency_code: str | None) -> None:
    """A role and agency that go together: an agency-admin has an active agency, nobody else has one.

    Raises:
        UserError: naming the problem.
    """
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    if role == AGENCY_ADMIN and not agency_code:
        raise UserError("an agency-admin needs --agency CODE (the agency whose complaints they handle)")
    if role != AGENCY_ADMIN and agency_code:
        raise UserError(f"only an agency-admin belongs to an agency; a {role} has no --agency")
    if agency_code:
        agency = session_.get(Agency, agency_code)
        if agency is None or not agency.active:
            known = ", ".join(session_.scalars(select(Agency.code).where(Agency.active).order_by(Agency.code)))
            raise UserError(f"unknown agency {agency_code!r}; known agencies: {known}")


def roles_required(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A view only some roles may open; others get 403 (anonymous users are sent to the login page)."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403, description="Halaman ini bukan untuk peran Anda.")
            return view(*args, **kwargs)

        return guarded

    return decorate


def start_session(user: User) -> None:
    """Mark the login time; :func:`session_expired` measures idle and total time from it."""
    now = utcnow().timestamp()
    session.permanent = True
    session["admin_login_at"] = now
    session["admin_seen_at"] = now


def session_expired(idle_minutes: int, max_hours: int, now: datetime | None = None) -> bool:
    """True (and the user logged out) when the session was idle or open too long; else refresh it."""
    if not current_user.is_authenticated:
        return False
    moment = (now or utcnow()).timestamp()
    login_at, seen_at = session.get("admin_login_at", 0), session.get("admin_seen_at", 0)
    if moment - seen_at > idle_minutes * 60 or moment - login_at > max_hours * 3600:
        logout_user()
        for key in ("admin_login_at", "admin_seen_at"):
            session.pop(key, None)
        return True
    if request.endpoint != "static":
        session["admin_seen_at"] = moment
    return False


def login_redirect() -> Any:
    """Back to the login page, keeping where the user wanted to go."""
    return redirect(url_for("admin.login", next=request.full_path if request.method == "GET" else None))
