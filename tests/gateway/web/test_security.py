"""Hostile input gets nowhere (issue 14): a table per finding, each row an attack, on PostgreSQL with rq.

Sessions that outlive logout, lockouts anyone can trigger, weak passwords, missing headers, viewers seeing
numbers in free text, secrets in logs, the Twilio signature URL, world-readable files, and 5xx on bad input.
(The API's document is checked by schemathesis in tests/gateway/web/api/test_api_schemathesis.py.)
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.request import urlopen

import pytest
from sqlalchemy import select

from gateway.jobs.queue import RQQueue
from gateway.web.access_log import RedactingLogger, redact_query
from gateway.web.auth import UserError, create_user
from models import AuditEntry, Contact, User
from tests.channels.test_twilio import SMS_PATH, form
from tests.channels.twilio_payloads import SMS
from tests.conftest import _empty_tables, _stack, post_twilio
from tests.gateway.conftest import DISHUB, PASSWORD, SUPER, VIEWER, Admin, Console, add_users
from tests.support.live import SAMBAT, clean_env, free_port

ROOT = Path(__file__).resolve().parents[3]
TEMPLATES = sorted((ROOT / "gateway").rglob("templates/**/*.html"))


@pytest.fixture
def pg(postgres_url: str, twilio_standin, tmp_path: Path) -> Iterator[Admin]:  # noqa: ANN001
    """The console on PostgreSQL + rq with its four users (the public URL is https, as in production)."""
    built = _stack("postgres", postgres_url, twilio_standin, intake__media_dir=str(tmp_path / "media"))
    add_users(built)
    yield Admin(built)
    built.runtime.db.dispose()
    if isinstance(built.runtime.queue, RQQueue):
        built.runtime.queue.connection.flushdb()
    _empty_tables(postgres_url)


def _user_id(admin: Admin, email: str) -> int:
    with admin.stack.runtime.db.session() as session:
        return session.scalar(select(User.id).where(User.email == email))


# --- Medium 6: sessions end on logout, a new password and deactivation ---

def _logout(admin: Admin, victim: Console) -> None:
    assert victim.post("/admin/logout").status_code == 302


def _new_password(admin: Admin, victim: Console) -> None:
    response = admin.as_user(SUPER).post(f"/admin/users/{_user_id(admin, DISHUB)}/password",
                                         {"password": "ganti-kata-sandi-baru-2027"})
    assert response.status_code == 302


def _deactivate(admin: Admin, victim: Console) -> None:
    response = admin.as_user(SUPER).post(f"/admin/users/{_user_id(admin, DISHUB)}/active", {"active": "0"})
    assert response.status_code == 302


SESSION_ENDS = [("logout", _logout), ("new password", _new_password), ("deactivation", _deactivate)]


@pytest.mark.parametrize("end", [row[1] for row in SESSION_ENDS], ids=[row[0] for row in SESSION_ENDS])
def test_a_copied_session_cookie_dies_with_the_session(pg: Admin, end: Any) -> None:
    victim = pg.as_user(DISHUB)
    stolen = victim.client.get_cookie("session").value
    thief = pg.stack.app.test_client()  # another browser, from another address
    thief.set_cookie("session", stolen)
    elsewhere = {"environ_base": {"REMOTE_ADDR": "203.0.113.66"}, "headers": {"User-Agent": "curl/8.0"}}
    assert thief.get("/admin/queue", **elsewhere).status_code == 200  # the attack works while the session lives
    end(pg, victim)
    response = thief.get("/admin/queue", **elsewhere)
    assert response.status_code == 302 and "/admin/login" in response.location
    assert victim.get("/admin/queue").status_code == 302


def test_logout_ends_every_session_of_the_user(pg: Admin) -> None:
    laptop, phone = pg.as_user(DISHUB), pg.as_user(DISHUB)
    assert laptop.post("/admin/logout").status_code == 302
    assert phone.get("/admin/queue").status_code == 302


def test_a_super_admin_changing_their_own_password_stays_logged_in_here_only(pg: Admin) -> None:
    here, there = pg.as_user(SUPER), pg.as_user(SUPER)
    assert here.post(f"/admin/users/{_user_id(pg, SUPER)}/password",
                     {"password": "ganti-kata-sandi-baru-2027"}).status_code == 302
    assert here.get("/admin/users").status_code == 200
    assert there.get("/admin/users").status_code == 302


# (public URL, request over HTTPS) -> the session cookie's attributes.
COOKIES = [
    ("https://sambat.example.go.id", False, True),   # behind a proxy that ends TLS: still Secure
    ("http://127.0.0.1:5000", True, True),           # the request itself came over HTTPS
    ("http://127.0.0.1:5000", False, False),         # a demo on plain HTTP: Secure would lose the cookie
]


@pytest.mark.parametrize(("public_url", "https", "secure"), COOKIES)
def test_the_session_cookie_is_httponly_lax_secure_behind_https_and_short(
        postgres_url: str, twilio_standin, public_url: str, https: bool, secure: bool) -> None:  # noqa: ANN001
    built = _stack("postgres", postgres_url, twilio_standin, public_url=public_url)
    try:
        add_users(built)
        client = built.app.test_client()
        base = "https://localhost" if https else "http://localhost"
        page = client.get("/admin/login", base_url=base)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        response = client.post("/admin/login", data={"csrf_token": token, "email": SUPER, "password": PASSWORD},
                               base_url=base)
        assert response.status_code == 302
        cookie = next(value for value in response.headers.getlist("Set-Cookie") if value.startswith("session="))
        attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
        assert {"httponly", "samesite=lax"} <= {part.strip().lower() for part in cookie.split(";")[1:]} | attributes
        assert ("secure" in attributes) is secure
        expires = parsedate_to_datetime(re.search(r"Expires=([^;]+)", cookie).group(1))
        hours = built.runtime.settings.admin.session_max_hours
        assert expires <= datetime.now(UTC) + timedelta(hours=hours, minutes=1)  # not Flask's 31 days
        assert ("Strict-Transport-Security" in response.headers) is secure
    finally:
        built.runtime.db.dispose()
        _empty_tables(postgres_url)


# --- Lockouts: failures count per address and account; nobody can lock someone else out ---

def test_an_attacker_cannot_lock_out_an_admin_who_logged_in_here_before(pg: Admin) -> None:
    admin = pg.as_user(SUPER)  # the super-admin's own browser: it now carries a device cookie
    admin.post("/admin/logout")
    for n in range(25):  # guessing from many addresses
        attacker = Console(pg.stack.app.test_client())
        answer = attacker.post("/admin/login", {"email": SUPER, "password": f"tebakan-{n}"},
                               environ_base={"REMOTE_ADDR": f"198.51.100.{n}"})
        assert answer.status_code in (401, 429)
    assert answer.status_code == 429 and answer.headers.get("Retry-After")  # the account is slowed for strangers
    response = admin.post("/admin/login", {"email": SUPER, "password": PASSWORD},
                          environ_base={"REMOTE_ADDR": "192.0.2.10"})
    assert response.status_code == 302 and response.location == "/admin/"


# (attempts, then: who tries, expected) - each row an attack on the limits.
def test_successful_logins_never_count(pg: Admin) -> None:
    for _ in range(25):
        console = Console(pg.stack.app.test_client())
        assert console.login(DISHUB).status_code == 302


def test_failures_from_one_address_slow_that_address_for_every_account(pg: Admin) -> None:
    attacker = Console(pg.stack.app.test_client())
    answers = [attacker.login(email, "salah-sekali-123").status_code
               for email in (f"orang{n}@malangkota.go.id" for n in range(6))]
    assert answers == [401] * 5 + [429]
    other = Console(pg.stack.app.test_client())
    other_address = {"environ_base": {"REMOTE_ADDR": "192.0.2.77"}}
    other.post("/admin/login", {"email": DISHUB, "password": "x"}, **other_address)  # a token, one failure
    assert other.post("/admin/login", {"email": DISHUB, "password": PASSWORD}, **other_address).status_code == 302


def test_a_new_browser_may_still_try_after_a_few_failures(pg: Admin) -> None:
    console = Console(pg.stack.app.test_client())
    assert [console.login(DISHUB, f"salah-{n}").status_code for n in range(4)] == [401] * 4
    assert console.login(DISHUB).status_code == 302  # four mistakes, then the right password: in


# --- Passwords: at least 12 characters and not guessable ---

WEAK = ["aaaaaaaaaa", "aaaaaaaaaaaa", "password1234", "qwertyuiop12", "123456789012", "malangkota2026",
        "admin-sambat-1", "kominfo@malangkota", "Password2026!"]


@pytest.mark.parametrize("password", WEAK)
def test_weak_passwords_are_refused_everywhere(pg: Admin, password: str) -> None:
    with pg.stack.runtime.db.session() as session, pytest.raises(UserError, match="password too"):
        create_user(session, "kominfo@malangkota.go.id", "viewer", password)
    console = pg.as_user(SUPER)
    added = console.post("/admin/users", {"email": "baru@malangkota.go.id", "role": "viewer", "password": password})
    assert added.status_code == 422 and "password too" in added.text
    changed = console.post(f"/admin/users/{_user_id(pg, VIEWER)}/password", {"password": password})
    assert changed.status_code == 422 and "Kata sandi terlalu" in changed.text
    assert Console(pg.stack.app.test_client()).login(VIEWER).status_code == 302  # the old password still works


def test_sambat_users_add_refuses_a_weak_password_naming_where_it_came_from(tmp_path: Path) -> None:
    from tests.gateway.web.admin.test_auth import _users

    (tmp_path / "config.yaml").write_text((ROOT / "config.yaml").read_text())
    result = _users(tmp_path, "add", "kominfo@malangkota.go.id", "--role", "super-admin",
                    SAMBAT_NEW_PASSWORD="aaaaaaaaaaaa")
    assert result.returncode == 1 and "SAMBAT_NEW_PASSWORD: password too easy to guess" in result.stderr
    assert "Traceback" not in result.stderr


# --- Headers: CSP without inline script, no framing, nosniff, referrer policy, HSTS behind HTTPS ---

PAGES = ["/aduan", "/aduan?lang=en", "/tiket/12345678", "/admin/login", "/transparansi", "/api/v1/kelurahan",
         "/open311/v2/services.json", "/healthz", "/no-such-page"]


@pytest.mark.parametrize("path", PAGES)
def test_every_answer_carries_the_security_headers(pg: Admin, path: str) -> None:
    response = pg.stack.client.get(path)
    csp = dict(part.strip().split(" ", 1) for part in response.headers["Content-Security-Policy"].split(";"))
    assert csp["frame-ancestors"] == "'none'" and csp["object-src"] == "'none'" and csp["base-uri"] == "'none'"
    for directive in ("script-src", "style-src"):
        assert csp[directive].startswith("'self' 'nonce-") and "unsafe" not in csp[directive]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")  # the public URL is https



def test_a_provider_webhook_gets_the_headers_without_nonce_or_session(pg: Admin) -> None:
    """Webhooks skip the per-request work of pages (gateway/web/security.py), not the headers: every answer has
    them, the first (which talisman writes) and the next ones (copied), with no nonce and no session cookie."""
    for number in range(3):
        response = post_twilio(pg.stack.client, SMS_PATH, form(SMS, MessageSid=f"SM{number:032x}"))
        assert response.status_code == 200
        csp = dict(part.strip().split(" ", 1) for part in response.headers["Content-Security-Policy"].split(";"))
        assert csp["script-src"] == "'self'" and csp["style-src"] == "'self'" and csp["frame-ancestors"] == "'none'"
        assert response.headers.getlist("X-Frame-Options") == ["DENY"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"
        assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
        assert "Set-Cookie" not in response.headers and "X-RateLimit-Limit" not in response.headers
    assert "'nonce-" in pg.stack.client.get("/aduan").headers["Content-Security-Policy"]  # pages still get one

def test_the_nonce_of_the_page_is_the_nonce_of_its_header(pg: Admin) -> None:
    response = pg.stack.client.get("/aduan")
    nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)
    assert f'<style nonce="{nonce}">' in response.text
    again = pg.stack.client.get("/aduan")
    assert nonce not in again.headers["Content-Security-Policy"]  # a new one per request


def test_no_hsts_on_plain_http(postgres_url: str, twilio_standin) -> None:  # noqa: ANN001
    built = _stack("postgres", postgres_url, twilio_standin, public_url="http://127.0.0.1:5000")
    try:
        assert "Strict-Transport-Security" not in built.app.test_client().get("/aduan").headers
        assert "Strict-Transport-Security" in built.app.test_client().get("/aduan", base_url="https://x").headers
    finally:
        built.runtime.db.dispose()


# What the CSP blocks, so no template may hold it (docs/security.md): inline script without a nonce, inline event
# handlers, javascript: URLs, style attributes, <style> without a nonce.
FORBIDDEN = [
    ("inline script", re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*\bnonce=)[^>]*>", re.I)),
    ("event handler attribute", re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)),
    ("javascript: URL", re.compile(r"javascript:", re.I)),
    ("style attribute", re.compile(r"<[^>]+\sstyle\s*=", re.I)),
    ("<style> without a nonce", re.compile(r"<style(?![^>]*\bnonce=)[^>]*>", re.I)),
]


@pytest.mark.parametrize("template", TEMPLATES, ids=[str(path.relative_to(ROOT)) for path in TEMPLATES])
def test_no_template_holds_what_the_csp_blocks(template: Path) -> None:
    text = template.read_text()
    found = [name for name, pattern in FORBIDDEN if pattern.search(text)]
    assert not found, f"{template.relative_to(ROOT)}: {', '.join(found)} (see docs/security.md)"


# Every page in Chromium: the CSP blocks nothing Sambat itself serves (a blocked inline style or script would show
# up as a securitypolicyviolation event), and the complaint page's SMS counter runs from its static file.
CONSOLE_PAGES = ["/admin/review", "/admin/queue", "/admin/dashboard", "/admin/users", "/admin/agencies", "/admin/audit"]


@pytest.mark.slow
def test_no_page_breaks_its_own_csp_in_a_browser(live_app: Any, browser_page: Any, tmp_path: Path,
                                                  twilio_standin: Any) -> None:
    from tests.gateway.web.admin.test_console_browser import _add_user, _login, _text_in

    _add_user(live_app, tmp_path, "kominfo@malangkota.go.id", "--role", "super-admin")
    _text_in(live_app, "lampu jalan mati dan sampah menumpuk di dekat taman")
    twilio_standin.wait_for_messages(1, timeout=30)  # filed: the ticket reply went out
    page = browser_page
    page.add_init_script("window.__csp = []; document.addEventListener('securitypolicyviolation', "
                         "e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sourceFile))")
    seen = {}
    for path in ["/aduan", "/aduan?lang=en", "/tiket/12345678", "/transparansi", "/admin/login"]:
        page.goto(live_app.url(path))
        seen[path] = page.evaluate("window.__csp")
    _login(page, live_app, "kominfo@malangkota.go.id")
    page.wait_for_url("**/admin/review")
    for path in CONSOLE_PAGES:
        page.goto(live_app.url(path))
        seen[path] = page.evaluate("window.__csp")
    page.goto(live_app.url("/admin/review"))
    page.click("#review-form a[href*='/admin/complaints/']")
    page.wait_for_selector("#complaint-text")
    seen["complaint page"] = page.evaluate("window.__csp")
    assert {path: found for path, found in seen.items() if found} == {}


# --- Viewers: numbers and addresses in free text are masked ---

NAMES = [
    ("Budi 0812-3456-7890", "3456"),
    ("Siti (WA +62 812 9876 5432)", "9876"),
    ("Andi budi.andi@gmail.com", "budi.andi"),
    ("Rina rina(at)yahoo.co.id", "rina(at)yahoo"),
    ("Pak RT NIK 3573010101900001", "010101900"),
    ("Bu Sri 0812345678901234", "345678901"),
]


@pytest.mark.parametrize(("name", "secret"), NAMES)
def test_a_viewer_never_sees_a_number_or_address_typed_into_the_name(pg: Admin, name: str, secret: str) -> None:
    complaint = pg.complaint("lampu pju mati", agency="DISHUB")
    with pg.stack.runtime.db.session() as session:
        contact = session.scalar(select(Contact))
        contact.name = name
        session.commit()
    path = f"/admin/complaints/{complaint.ticket_code}"
    seen = pg.as_user(VIEWER).get(path).text
    shown = re.search(r'id="citizen-name">([^<]*)<', seen).group(1)
    assert secret not in shown and "•" in shown
    assert secret in pg.as_user(SUPER).get(path).text  # the super-admin works with the real one


# --- Logs: no query secrets in access logs, no password-like input in the audit log ---

QUERIES = [
    ("GET /open311/v2/requests.json?api_key=S3CRET-KEY&status=open HTTP/1.1", "S3CRET-KEY", "status=open"),
    ("GET /open311/v2/requests.xml?service_code=jalan&API_KEY=S3CRET-KEY HTTP/1.1", "S3CRET-KEY", "service_code"),
    ("POST /open311/v2/requests.json?apikey=S3CRET-KEY;x=1 HTTP/1.1", "S3CRET-KEY", "x=1"),
    ("GET /x?token=S3CRET-KEY&password=hunter2-hunter2 HTTP/1.1", "hunter2", "/x?token="),
    ("https://other.example/page?access_token=S3CRET-KEY", "S3CRET-KEY", "other.example"),
]


@pytest.mark.parametrize(("line", "secret", "kept"), QUERIES)
def test_query_secrets_never_reach_the_access_log(line: str, secret: str, kept: str) -> None:
    redacted = redact_query(line)
    assert secret not in redacted and "[redacted]" in redacted and kept in redacted


def test_gunicorns_access_log_atoms_are_redacted() -> None:
    from datetime import timedelta
    from types import SimpleNamespace

    from gunicorn.config import Config

    logger = RedactingLogger(Config())
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": "/open311/v2/requests.json?api_key=S3CRET-KEY",
               "SERVER_PROTOCOL": "HTTP/1.1", "QUERY_STRING": "api_key=S3CRET-KEY", "PATH_INFO": "/open311/v2/x",
               "HTTP_REFERER": "https://a.example/?key=S3CRET-KEY"}
    response = SimpleNamespace(status="200 OK", headers=[], sent=10)
    atoms = logger.atoms(response, [("X-Api-Key", "S3CRET-KEY")], environ, timedelta(seconds=1))
    assert "S3CRET-KEY" not in repr(atoms)


TYPED_INTO_EMAIL = ["Rahasia-Sekali-2026", "kata sandi saya panjang", "hunter2hunter2!", "p4ss:w0rd@"]


@pytest.mark.parametrize("typed", TYPED_INTO_EMAIL)
def test_a_password_typed_into_the_email_field_is_never_logged_or_shown(pg: Admin, typed: str) -> None:
    console = Console(pg.stack.app.test_client())
    response = console.login(typed, "whatever-else")
    assert response.status_code == 401 and typed not in response.text
    with pg.stack.runtime.db.session() as session:
        entries = list(session.scalars(select(AuditEntry).where(AuditEntry.action == "login.failed")))
    assert entries and all(typed not in repr((e.actor, e.object_id, e.before, e.after)) for e in entries)


def test_a_failed_login_with_an_email_is_still_recorded(pg: Admin) -> None:
    Console(pg.stack.app.test_client()).login("penyusup@contoh.id", "salah-salah-salah")
    with pg.stack.runtime.db.session() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "login.failed"))
    assert (entry.actor, entry.object_id) == ("penyusup@contoh.id", "penyusup@contoh.id")


# --- 5xx on bad input: a 4xx naming the field ---

BAD_INPUT = [
    ("GET", "/open311/v2/requests.json?start_date=0001-01-01", None, "start_date"),
    ("GET", "/open311/v2/requests.json?end_date=9999-12-31", None, "end_date"),
    ("GET", "/open311/v2/requests.xml?start_date=0001-01-01T00:00:00%2B14:00", None, "start_date"),
    ("GET", "/open311/v2/requests.json?end_date=9999-12-31T23:59:59-12:00", None, "end_date"),
    ("GET", "/open311/v2/requests.json?start_date=1969-12-31&end_date=1970-01-02", None, "start_date"),
    ("GET", "/open311/v2/requests.json?status=open%00", None, "status"),
    ("GET", "/tiket?kode=1234%005678", None, "kode"),
    ("POST", "/admin/login", {"email": "boss\x00@malangkota.go.id", "password": "x"}, "email"),
    ("POST", "/admin/login", {"email": "boss@malangkota.go.id", "password": "a\x00b"}, "password"),
    ("POST", "/api/v1/complaints", {"json": {"text": "jalan rusak\x00 parah", "phone": None}}, "text"),
    ("POST", "/api/v1/complaints", {"json": {"text": "jalan rusak", "address": {"x": 1}, "name": "\x00"}}, "name"),
]


@pytest.mark.parametrize(("method", "path", "data", "field"), BAD_INPUT,
                         ids=[f"{row[0]} {row[1]} {row[3]}" for row in BAD_INPUT])
def test_bad_input_is_a_4xx_naming_the_field(pg: Admin, method: str, path: str, data: Any, field: str) -> None:
    if path.startswith("/admin/"):
        response = Console(pg.stack.app.test_client()).post(path, data)
    elif path.startswith("/api/"):
        from tests.gateway.web.intake_support import new_api_key

        response = pg.stack.client.post(path, json=data["json"], headers={"X-API-Key": new_api_key(pg.stack)})
    else:
        response = pg.stack.client.open(path, method=method)
    assert 400 <= response.status_code < 500, response.text
    assert field in response.text


# --- The signature URL: `sambat web` with Twilio credentials needs the public URL or trusted proxies ---

def _sambat(workdir: Path, *args: str, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SAMBAT, *args], cwd=workdir, env=clean_env(**env), capture_output=True, text=True,
                          timeout=timeout, preexec_fn=lambda: os.umask(0o022))  # the usual umask: 0644 files


TWILIO = {"TWILIO_ACCOUNT_SID": "AC" + "0123456789abcdef" * 2, "TWILIO_AUTH_TOKEN": "f0e1d2c3b4a5968778695a4b3c2d1e0f",
          "SAMBAT_TWILIO_FROM": "+15005550006", "SECRET_KEY": "x" * 40}
REFUSED_WEB = [
    ({**TWILIO}, "SAMBAT_PUBLIC_URL: required for `sambat web` with Twilio credentials"),
    ({**TWILIO, "SAMBAT_PROXY_HOPS": "0"}, "unless SAMBAT_PROXY_HOPS names the reverse proxies"),
]


@pytest.mark.parametrize(("env", "message"), REFUSED_WEB, ids=["no public URL", "no proxy hops either"])
def test_sambat_web_refuses_twilio_without_a_public_url(tmp_path: Path, postgres_url: str, env: dict[str, str],
                                                       message: str) -> None:
    result = _sambat(tmp_path, "web", "--port", "1", DATABASE_URL=postgres_url, **env)
    assert result.returncode == 1 and message in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_sambat_web_behind_a_proxy_starts_and_its_access_log_keeps_no_api_key(tmp_path: Path,
                                                                              postgres_url: str) -> None:
    port = free_port()
    log = tmp_path / "web.log"
    env = clean_env(DATABASE_URL=postgres_url, SAMBAT_PROXY_HOPS="1", **TWILIO)
    process = subprocess.Popen([SAMBAT, "web", "--port", str(port), "--workers", "1", "--host", "127.0.0.1"],
                               cwd=tmp_path, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            try:
                urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).read()
                break
            except OSError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.3)
        try:
            urlopen(f"http://127.0.0.1:{port}/open311/v2/requests.json?api_key=S3CRET-OPEN311-KEY&status=open",
                    timeout=5).read()
        except OSError:
            pass
        deadline = time.monotonic() + 10
        while "requests.json" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        process.terminate()
        process.wait(timeout=20)
        _empty_tables(postgres_url)
    output = log.read_text()
    assert "/open311/v2/requests.json?api_key=[redacted]&status=open" in output, output
    assert "S3CRET-OPEN311-KEY" not in output


@pytest.mark.slow
def test_sambat_ups_request_log_keeps_no_api_key(live_app: Any) -> None:
    try:
        urlopen(live_app.url("/open311/v2/requests.json?api_key=S3CRET-OPEN311-KEY&status=open"), timeout=10).read()
    except OSError:
        pass
    output = live_app.wait_for_output("requests.json")
    assert "api_key=[redacted]&status=open" in output and "S3CRET-OPEN311-KEY" not in output


# --- File permissions: `sambat up`'s SQLite file and instance secret are the owner's alone ---

def _modes(workdir: Path) -> dict[str, int]:
    instance = workdir / "instance"
    return {"instance/": instance.stat().st_mode & 0o777,
            "sambat.sqlite3": (instance / "sambat.sqlite3").stat().st_mode & 0o777,
            "secret_key": (instance / "secret_key").stat().st_mode & 0o777}


def _world_readable_instance(workdir: Path) -> None:
    """What an older version left: instance/ 0755, the secret and the database 0644."""
    instance = workdir / "instance"
    instance.mkdir(mode=0o755)
    instance.chmod(0o755)
    for name, text in (("secret_key", "y" * 48), ("sambat.sqlite3", "")):
        (instance / name).write_text(text)
        (instance / name).chmod(0o644)


PERMISSIONS = [("a fresh machine", None), ("left world-readable by an older version", _world_readable_instance)]


@pytest.mark.parametrize("before", [row[1] for row in PERMISSIONS], ids=[row[0] for row in PERMISSIONS])
def test_the_instance_files_are_the_owners_alone(tmp_path: Path, before: Any) -> None:
    (tmp_path / "config.yaml").write_text((ROOT / "config.yaml").read_text())
    if before is not None:
        before(tmp_path)
    result = _sambat(tmp_path, "users", "list")  # the same embedded defaults as `sambat up`
    assert result.returncode == 0, result.stderr
    assert _modes(tmp_path) == {"instance/": 0o700, "sambat.sqlite3": 0o600, "secret_key": 0o600}
    assert (tmp_path / "instance" / "secret_key").read_text().strip()


def test_sambat_db_upgrade_creates_the_sqlite_file_0600(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text((ROOT / "config.yaml").read_text())
    result = _sambat(tmp_path, "db", "upgrade")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "instance").stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "instance" / "sambat.sqlite3").stat().st_mode & 0o777 == 0o600
