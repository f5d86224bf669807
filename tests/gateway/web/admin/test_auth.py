"""Logging in: argon2 hashes, one answer for a wrong password and an unknown e-mail, a rate limit, sessions that
expire, deactivated users shut out, no open redirects, the audit log; and `sambat users add` as operators run it."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from models import AuditEntry, User, utcnow
from tests.conftest import ROOT
from tests.gateway.conftest import DISHUB, PASSWORD, SUPER, Admin, Console
from tests.support.live import SAMBAT, clean_env


def test_passwords_are_stored_as_argon2_hashes(admin: Admin) -> None:
    with admin.stack.runtime.db.session() as session:
        user = session.scalar(select(User).where(User.email == SUPER))
        assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash


def test_wrong_password_and_unknown_email_get_the_same_answer(admin: Admin) -> None:
    wrong = Console(admin.stack.app.test_client()).login(SUPER, "not-the-password")
    unknown = Console(admin.stack.app.test_client()).login("nobody@malangkota.go.id", "whatever-it-is")
    assert wrong.status_code == unknown.status_code == 401
    assert "E-mail atau kata sandi salah." in wrong.text and "E-mail atau kata sandi salah." in unknown.text
    with admin.stack.runtime.db.session() as session:
        failed = [entry.object_id for entry in session.scalars(select(AuditEntry).where(
            AuditEntry.action == "login.failed").order_by(AuditEntry.id))]
        assert failed == [SUPER, "nobody@malangkota.go.id"]


def test_login_is_rate_limited(admin: Admin) -> None:
    console = Console(admin.stack.app.test_client())
    answers = [console.login(DISHUB, f"guess-number-{n}").status_code for n in range(5)]
    assert answers == [401] * 5
    blocked = console.login(DISHUB, PASSWORD)  # even the right password waits now
    assert blocked.status_code == 429 and "Terlalu banyak percobaan" in blocked.text


def test_sessions_expire_when_idle_and_after_the_maximum(admin: Admin) -> None:
    for key, age in (("admin_seen_at", 31 * 60), ("admin_login_at", 13 * 3600)):
        console = admin.as_user(SUPER)
        assert console.get("/admin/dashboard").status_code == 200
        with console.client.session_transaction() as session:
            session[key] = utcnow().timestamp() - age
        response = console.get("/admin/dashboard")
        assert response.status_code == 302 and "/admin/login" in response.location
        assert "Sesi Anda berakhir" in console.get(response.location).text
        assert console.get("/admin/dashboard").status_code == 302  # logged out for good


def test_a_deactivated_user_is_shut_out_at_once(admin: Admin) -> None:
    agency = admin.as_user(DISHUB)
    assert agency.get("/admin/queue").status_code == 200
    with admin.stack.runtime.db.session() as session:
        dishub_id = session.scalar(select(User.id).where(User.email == DISHUB))
    assert admin.as_user(SUPER).post(f"/admin/users/{dishub_id}/active", {"active": "0"}).status_code == 302
    response = agency.get("/admin/queue")
    assert response.status_code == 302 and "/admin/login" in response.location
    assert Console(admin.stack.app.test_client()).login(DISHUB).status_code == 401
    with admin.stack.runtime.db.session() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "user.deactivate"))
        assert entry.actor == SUPER and entry.before["active"] is True and entry.after["active"] is False


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/admin/", "/tiket/12345678"])
def test_login_never_redirects_outside_the_console(admin: Admin, target: str) -> None:
    console = Console(admin.stack.app.test_client())
    console.login(SUPER, "wrong-one-first")  # fetch a token
    response = console.post(f"/admin/login?next={target}", {"email": SUPER, "password": PASSWORD})
    assert response.status_code == 302 and response.location == "/admin/"


def test_the_users_page_adds_users_and_names_mistakes(admin: Admin) -> None:
    console = admin.as_user(SUPER)
    response = console.post("/admin/users", {"email": "dlh2@malangkota.go.id", "role": "agency-admin",
                                             "agency": "PLN", "password": "panjang-sekali-99"})
    assert response.status_code == 422 and "unknown agency &#39;PLN&#39;" in response.text
    assert 'value="dlh2@malangkota.go.id"' in response.text  # what was typed is kept
    response = console.post("/admin/users", {"email": "dlh2@malangkota.go.id", "role": "agency-admin",
                                             "agency": "DLH", "password": "pendek"})
    assert response.status_code == 422 and "password too short" in response.text
    response = console.post("/admin/users", {"email": "dlh2@malangkota.go.id", "role": "agency-admin",
                                             "agency": "DLH", "password": "panjang-sekali-99"})
    assert response.status_code == 302
    assert Console(admin.stack.app.test_client()).login("dlh2@malangkota.go.id", "panjang-sekali-99").status_code == 302


# --- sambat users add, as a real process -----------------------------------------------------------------


def _users(workdir: Path, *args: str, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SAMBAT, "users", *args], cwd=workdir, env=clean_env(**env), capture_output=True,
                          text=True, timeout=120, input=stdin)


def test_sambat_users_add(tmp_path: Path) -> None:
    shutil.copy(ROOT / "config.yaml", tmp_path / "config.yaml")
    added = _users(tmp_path, "add", "kominfo@malangkota.go.id", "--role", "super-admin",
                   SAMBAT_NEW_PASSWORD="rahasia-super-admin")
    assert added.returncode == 0, added.stderr
    assert "user kominfo@malangkota.go.id added: super-admin" in added.stdout
    prompted = _users(tmp_path, "add", "dishub@malangkota.go.id", "--role", "agency-admin", "--agency", "DISHUB",
                      stdin="rahasia-dishub-123\nrahasia-dishub-123\n")
    assert prompted.returncode == 0, prompted.stderr
    bad_role = _users(tmp_path, "add", "x@malangkota.go.id", "--role", "mayor", SAMBAT_NEW_PASSWORD="rahasia-123456")
    assert bad_role.returncode == 2 and "--role: unknown role 'mayor'" in bad_role.stderr
    bad_agency = _users(tmp_path, "add", "x@malangkota.go.id", "--role", "agency-admin", "--agency", "PLN",
                        SAMBAT_NEW_PASSWORD="rahasia-123456")
    assert bad_agency.returncode == 2 and "--agency: unknown agency 'PLN'; known agencies: BAKESBANGPOL" in \
        bad_agency.stderr
    no_agency = _users(tmp_path, "add", "x@malangkota.go.id", "--role", "agency-admin",
                       SAMBAT_NEW_PASSWORD="rahasia-123456")
    assert no_agency.returncode == 2 and "needs --agency CODE" in no_agency.stderr
    again = _users(tmp_path, "add", "kominfo@malangkota.go.id", "--role", "viewer",
                   SAMBAT_NEW_PASSWORD="lain-kata-sandi-kuat-77")
    assert again.returncode == 1 and "already exists" in again.stderr
    for result in (bad_role, bad_agency, again):
        assert "Traceback" not in result.stderr
    with sqlite3.connect(tmp_path / "instance" / "sambat.sqlite3") as database:
        rows = database.execute("SELECT email, role, agency_code, password_hash FROM users ORDER BY id").fetchall()
    assert [row[:3] for row in rows] == [("kominfo@malangkota.go.id", "super-admin", None),
                                         ("dishub@malangkota.go.id", "agency-admin", "DISHUB")]
    # Production's cost (argon2-cffi's defaults), which the tests' own processes lower (tests/conftest.py).
    assert all(row[3].startswith("$argon2id$v=19$m=65536,t=3,p=4$") for row in rows)
    listed = _users(tmp_path, "list")
    assert "dishub@malangkota.go.id\tagency-admin\tDISHUB\tactive" in listed.stdout


def test_the_super_admin_moves_an_agency_admin_to_another_agency(admin: Admin) -> None:
    dishub_complaint = admin.complaint("lampu pju mati", agency="DISHUB")
    dlh_complaint = admin.complaint("sampah menumpuk", agency="DLH")
    with admin.stack.runtime.db.session() as session:
        ids = dict(session.execute(select(User.email, User.id)).all())
    console = admin.as_user(SUPER)
    response = console.post(f"/admin/users/{ids[DISHUB]}", {"role": "agency-admin", "agency": "PLN"})
    assert response.status_code == 422 and "unknown agency &#39;PLN&#39;" in response.text
    response = console.post(f"/admin/users/{ids[DISHUB]}", {"role": "agency-admin", "agency": ""})
    assert response.status_code == 422 and "needs --agency" in response.text
    response = console.post(f"/admin/users/{ids[SUPER]}", {"role": "viewer"})
    assert response.status_code == 409 and "akun sendiri" in response.text
    assert console.post(f"/admin/users/{ids[DISHUB]}", {"role": "agency-admin", "agency": "DLH",
                                                       "name": "Bu  Rina"}).status_code == 302
    moved = admin.as_user(DISHUB)  # same login, new agency
    assert moved.get(f"/admin/complaints/{dlh_complaint.ticket_code}").status_code == 200
    assert moved.get(f"/admin/complaints/{dishub_complaint.ticket_code}").status_code == 404
    with admin.stack.runtime.db.session() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "user.update"))
        assert entry.actor == SUPER and entry.object_id == DISHUB
        assert (entry.before["agency"], entry.after["agency"], entry.after["name"]) == ("DISHUB", "DLH", "Bu Rina")
    # A viewer has no agency, whatever the form's agency field still says.
    assert console.post(f"/admin/users/{ids[DISHUB]}", {"role": "viewer", "agency": "DLH"}).status_code == 302
    with admin.stack.runtime.db.session() as session:
        user = session.get(User, ids[DISHUB])
        assert (user.role, user.agency_code) == ("viewer", None)
