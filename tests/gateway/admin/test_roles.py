"""Who may open what: every console route, for an anonymous visitor, the super-admin, an agency admin asking for
another agency's complaint, and a viewer. A table, so a new route without a row fails the coverage test."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from gateway.admin import bp
from models import Attachment, User
from tests.gateway.admin.conftest import DISHUB, SUPER, VIEWER, Admin

ANON, SUPER_ROLE, AGENCY, VIEW = "anonymous", "super-admin", "other-agency-admin", "viewer"
LOGIN = "login"  # a redirect to the login page


@dataclass(frozen=True)
class Route:
    """One console route: method, path with placeholders, form data, and the answer each role gets."""

    method: str
    path: str
    expect: dict[str, int | str]
    data: dict[str, str] | None = None


def _all(code: int | str, anon: int | str = LOGIN) -> dict[str, int | str]:
    return {ANON: anon, SUPER_ROLE: code, AGENCY: code, VIEW: code}


# {dlh}: a complaint of DLH (another agency for the DISHUB admin); {review}: one in the review queue.
ROUTES = [
    Route("GET", "/admin/", _all(302)),
    Route("GET", "/admin/login", {ANON: 200, SUPER_ROLE: 302, AGENCY: 302, VIEW: 302}),
    Route("POST", "/admin/login", {ANON: 401, SUPER_ROLE: 401, AGENCY: 401, VIEW: 401},
          {"email": "nobody@example.org", "password": "wrong-password"}),
    Route("POST", "/admin/logout", {ANON: 302, SUPER_ROLE: 302, AGENCY: 302, VIEW: 302}),
    Route("GET", "/admin/dashboard", _all(200)),
    Route("GET", "/admin/dashboard?days=7", _all(200)),
    Route("GET", "/admin/review", {ANON: LOGIN, SUPER_ROLE: 200, AGENCY: 403, VIEW: 403}),
    Route("POST", "/admin/review", {ANON: LOGIN, SUPER_ROLE: 302, AGENCY: 403, VIEW: 403},
          {"one": "{review_id}|DISHUB"}),
    Route("GET", "/admin/queue", _all(200)),
    Route("GET", "/admin/queue?agency=DLH&status=overdue", _all(200)),
    Route("GET", "/admin/complaints/{dlh}", {ANON: LOGIN, SUPER_ROLE: 200, AGENCY: 404, VIEW: 200}),
    Route("GET", "/admin/complaints/{review}", {ANON: LOGIN, SUPER_ROLE: 200, AGENCY: 404, VIEW: 200}),
    Route("GET", "/admin/complaints/{dlh}/photos/{photo}", {ANON: LOGIN, SUPER_ROLE: 200, AGENCY: 404, VIEW: 200}),
    Route("POST", "/admin/complaints/{dlh}/status", {ANON: LOGIN, SUPER_ROLE: 302, AGENCY: 404, VIEW: 403},
          {"to": "acknowledged"}),
    Route("POST", "/admin/complaints/{dlh}/bounce", {ANON: LOGIN, SUPER_ROLE: 302, AGENCY: 404, VIEW: 403},
          {"reason": "urusan PLN"}),
    Route("POST", "/admin/complaints/{dlh}/assign", {ANON: LOGIN, SUPER_ROLE: 302, AGENCY: 403, VIEW: 403},
          {"agency": "DISHUB"}),
    Route("POST", "/admin/complaints/{review}/reject", {ANON: LOGIN, SUPER_ROLE: 302, AGENCY: 403, VIEW: 403},
          {"reason": "spam"}),
    Route("POST", "/admin/complaints/{review}/merge", {ANON: LOGIN, SUPER_ROLE: 302, AGENCY: 403, VIEW: 403},
          {"kept": "{dlh}"}),
    Route("GET", "/admin/users", {ANON: LOGIN, SUPER_ROLE: 200, AGENCY: 403, VIEW: 403}),
    Route("POST", "/admin/users", {ANON: LOGIN, SUPER_ROLE: 302, AGENCY: 403, VIEW: 403},
          {"email": "new@malangkota.go.id", "role": "viewer", "password": "panjang-sekali-99"}),
    Route("POST", "/admin/users/{user_id}/active", {ANON: LOGIN, SUPER_ROLE: 302, AGENCY: 403, VIEW: 403},
          {"active": "0"}),
    Route("POST", "/admin/users/{user_id}/password", {ANON: LOGIN, SUPER_ROLE: 302, AGENCY: 403, VIEW: 403},
          {"password": "baru-dan-panjang-77"}),
    Route("GET", "/admin/agencies", {ANON: LOGIN, SUPER_ROLE: 200, AGENCY: 403, VIEW: 403}),
    Route("GET", "/admin/audit", {ANON: LOGIN, SUPER_ROLE: 200, AGENCY: 403, VIEW: 403}),
    Route("GET", "/admin/static/admin.css", _all(200, anon=200)),
    Route("GET", "/transparansi", _all(200, anon=200)),
]
USERS = {ANON: None, SUPER_ROLE: SUPER, AGENCY: DISHUB, VIEW: VIEWER}


def test_every_console_route_is_in_the_table(admin: Admin) -> None:
    rules = {(method, rule.rule) for rule in admin.stack.app.url_map.iter_rules()
             if rule.endpoint.startswith(f"{bp.name}.") for method in rule.methods - {"HEAD", "OPTIONS"}}
    covered = set()
    for route in ROUTES:
        for method, rule in rules:
            pattern = rule.replace("<code>", "{dlh}").replace("<int:attachment_id>", "{photo}") \
                .replace("<int:user_id>", "{user_id}").replace("<path:filename>", "admin.css")
            if method == route.method and route.path.split("?")[0] in (pattern, pattern.replace("{dlh}", "{review}")):
                covered.add((method, rule))
    assert rules - covered == set()


def _photo(admin: Admin, complaint_id: int, media: Path) -> int:
    (media / "2026" / "03").mkdir(parents=True, exist_ok=True)
    (media / "2026" / "03" / f"photo-{complaint_id}.jpg").write_bytes(b"\xff\xd8\xff\xe0 test jpeg")
    with admin.stack.runtime.db.session() as session:
        photo = Attachment(complaint_id=complaint_id, path=f"2026/03/photo-{complaint_id}.jpg",
                           content_type="image/jpeg", original_type="JPEG", size_bytes=15, width=1, height=1,
                           sha256="0" * 64)
        session.add(photo)
        session.commit()
        return photo.id


@pytest.mark.parametrize("role", [ANON, SUPER_ROLE, AGENCY, VIEW])
def test_each_role_gets_the_right_answer_on_every_route(admin: Admin, role: str, tmp_path: Path) -> None:
    runtime = admin.stack.runtime
    runtime.settings = runtime.settings.with_overrides(media_dir=str(tmp_path))
    wrong = []
    console = admin.as_user(USERS[role])  # one browser session, as a person would use it
    for route in ROUTES:
        dlh = admin.complaint("sampah menumpuk di TPS", agency="DLH")
        review = admin.complaint("ada yang aneh di kampung kami")
        with runtime.db.session() as session:
            spare = User(email=f"spare-{dlh.id}@malangkota.go.id", role="viewer", password_hash="x", active=True)
            session.add(spare)
            session.commit()
            spare_id = spare.id
        values = {"dlh": dlh.ticket_code, "review": review.ticket_code, "review_id": str(review.id),
                  "photo": str(_photo(admin, dlh.id, tmp_path)), "user_id": str(spare_id)}
        path = route.path.format(**values)
        data = {key: value.format(**values) for key, value in (route.data or {}).items()}
        response = console.get(path) if route.method == "GET" else console.post(path, data)
        if route.path == "/admin/logout":
            console = admin.as_user(USERS[role])
        expected = route.expect[role]
        got: int | str = response.status_code
        if expected == LOGIN:
            got = LOGIN if response.status_code == 302 and "/admin/login" in response.location else got
        if got != expected:
            wrong.append(f"{route.method} {route.path} as {role}: {response.status_code} "
                         f"{response.location or response.text[:200]!r}, expected {expected}")
    assert wrong == []
