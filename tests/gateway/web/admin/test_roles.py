"""Who may open what: every console route, for an anonymous visitor, the super-admin, an agency admin (DISHUB) asking
for their own and for another agency's complaints, and a viewer.

The table is checked against ``app.url_map``: a new console route without a row fails
``test_every_console_route_is_in_the_table``, and a route that takes a complaint (by ticket code in the URL, or by id
in the form) fails it too unless a row asks for another agency's complaint and expects 404.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from models import Attachment, User
from tests.gateway.conftest import DISHUB, SUPER, VIEWER, Admin

ANON, SUPER_ROLE, AGENCY, VIEW = "anonymous", "super-admin", "agency-admin", "viewer"
LOGIN = "login"  # a redirect to the login page
BLUEPRINTS = ("admin", "transparency")  # the console and its public page
# Placeholders that name a complaint the DISHUB admin may not see: DLH's, and one still in review.
NOT_THEIRS = ("{dlh}", "{review}", "{dlh_id}", "{review_id}")
COMPLAINT_IDS = ("{dlh_id}", "{own_id}", "{review_id}")  # complaints named by id in a form


@dataclass(frozen=True)
class Route:
    """One request: method, path with placeholders, form data, and the answer each role gets."""

    method: str
    path: str
    expect: dict[str, int | str]
    data: dict[str, str | list[str]] | None = None


def _all(code: int | str, anon: int | str = LOGIN) -> dict[str, int | str]:
    return {ANON: anon, SUPER_ROLE: code, AGENCY: code, VIEW: code}


def _roles(super_: int, agency: int, viewer: int) -> dict[str, int | str]:
    return {ANON: LOGIN, SUPER_ROLE: super_, AGENCY: agency, VIEW: viewer}


# {dlh}: a complaint of DLH (another agency for the DISHUB admin); {own}: one of DISHUB; {review}: one in the review
# queue; {photo}: a photo of the DLH complaint, {own_photo}: of the DISHUB one; {*_id}: their database ids;
# {n}: a fresh number, for names that must be new.
ROUTES = [
    Route("GET", "/admin/", _all(302)),
    Route("GET", "/admin/login", {ANON: 200, SUPER_ROLE: 302, AGENCY: 302, VIEW: 302}),
    Route("POST", "/admin/login", _all(401, anon=401), {"email": "nobody@example.org", "password": "wrong-password"}),
    Route("POST", "/admin/logout", _all(302, anon=302)),
    Route("GET", "/admin/dashboard", _all(200)),
    Route("GET", "/admin/dashboard?days=7", _all(200)),
    Route("GET", "/admin/review", _roles(200, 403, 403)),
    Route("POST", "/admin/review", _roles(302, 404, 403), {"one": "{review_id}|DISHUB"}),
    Route("POST", "/admin/review", _roles(302, 404, 403),
          {"ids": ["{dlh_id}"], "action": "assign", "agency": "DISHUB"}),
    Route("POST", "/admin/review", _roles(409, 403, 403), {"ids": ["{own_id}"], "action": "reject:spam"}),
    Route("POST", "/admin/review/undo", _roles(400, 403, 403), {"events": "x"}),
    Route("GET", "/admin/queue", _all(200)),
    Route("GET", "/admin/queue?agency=DLH&status=overdue", _all(200)),
    Route("GET", "/admin/complaints/{dlh}", _roles(200, 404, 200)),
    Route("GET", "/admin/complaints/{review}", _roles(200, 404, 200)),
    Route("GET", "/admin/complaints/{own}", _roles(200, 200, 200)),
    Route("GET", "/admin/complaints/{dlh}/photos/{photo}", _roles(200, 404, 200)),
    Route("GET", "/admin/complaints/{own}/photos/{own_photo}", _roles(200, 200, 200)),
    Route("GET", "/admin/complaints/{own}/photos/{photo}", _roles(404, 404, 404)),  # a photo of another complaint
    Route("POST", "/admin/complaints/{dlh}/status", _roles(302, 404, 403), {"to": "acknowledged"}),
    Route("POST", "/admin/complaints/{own}/status", _roles(302, 302, 403), {"to": "acknowledged"}),
    Route("POST", "/admin/complaints/{dlh}/bounce", _roles(302, 404, 403), {"reason": "urusan PLN"}),
    Route("POST", "/admin/complaints/{review}/bounce", _roles(404, 404, 403), {"reason": "urusan PLN"}),
    Route("POST", "/admin/complaints/{own}/bounce", _roles(302, 302, 403), {"reason": "urusan PLN"}),
    Route("POST", "/admin/complaints/{dlh}/assign", _roles(302, 404, 403), {"agency": "DISHUB"}),
    Route("POST", "/admin/complaints/{own}/assign", _roles(302, 403, 403), {"agency": "DLH"}),
    Route("POST", "/admin/complaints/{review}/reject", _roles(302, 404, 403), {"reason": "spam"}),
    Route("POST", "/admin/complaints/{own}/reject", _roles(409, 403, 403), {"reason": "spam"}),
    Route("POST", "/admin/complaints/{review}/merge", _roles(302, 404, 403), {"kept": "{dlh}"}),
    Route("POST", "/admin/complaints/{own}/merge", _roles(302, 403, 403), {"kept": "{dlh}"}),
    Route("GET", "/admin/users", _roles(200, 403, 403)),
    Route("POST", "/admin/users", _roles(302, 403, 403),
          {"email": "new-{n}@malangkota.go.id", "role": "viewer", "password": "panjang-sekali-99"}),
    Route("POST", "/admin/users/{user_id}", _roles(302, 403, 403), {"role": "agency-admin", "agency": "DLH"}),
    Route("POST", "/admin/users/{user_id}/active", _roles(302, 403, 403), {"active": "0"}),
    Route("POST", "/admin/users/{user_id}/password", _roles(302, 403, 403), {"password": "baru-dan-panjang-77"}),
    Route("GET", "/admin/agencies", _roles(200, 403, 403)),
    Route("POST", "/admin/agencies", _roles(302, 403, 403), {"code": "PDAM{n}", "name": "Perumda Air Minum"}),
    Route("POST", "/admin/agencies/DINKES", _roles(302, 403, 403), {"name": "Dinas Kesehatan Kota Malang"}),
    Route("GET", "/admin/audit", _roles(200, 403, 403)),
    Route("GET", "/admin/dead", _roles(200, 403, 403)),
    Route("POST", "/admin/dead/send/1/retry", _roles(302, 403, 403)),  # nothing dead: said so, redirected
    Route("GET", "/admin/static/admin.css", _all(200, anon=200)),
    Route("GET", "/transparansi", _all(200, anon=200)),
    Route("GET", "/transparansi?days=90", _all(200, anon=200)),
    Route("GET", "/transparansi/grafik/aduan/DISHUB.svg", _all(200, anon=200)),
    Route("GET", "/transparansi/grafik/tepat-waktu/semua.svg?lang=en", _all(200, anon=200)),
]
USERS = {ANON: None, SUPER_ROLE: SUPER, AGENCY: DISHUB, VIEW: VIEWER}


def _pattern(rule: str) -> re.Pattern[str]:
    """A Flask rule as a regex over the table's paths: each ``<converter:name>`` is one path segment."""
    return re.compile(re.sub(r"<[^>]+>", "[^/]+", re.escape(rule).replace(r"\<", "<").replace(r"\>", ">")))


def _rows_for(method: str, rule: str) -> list[Route]:
    pattern = _pattern(rule)
    return [route for route in ROUTES if route.method == method and pattern.fullmatch(route.path.split("?")[0])]


def _names_a_complaint(route: Route, placeholders: tuple[str, ...]) -> bool:
    values = [route.path, *[str(value) for value in (route.data or {}).values()]]
    return any(name in value for value in values for name in placeholders)


def test_every_console_route_is_in_the_table(admin: Admin) -> None:
    rules = {(method, rule.rule) for rule in admin.stack.app.url_map.iter_rules()
             if rule.endpoint.split(".")[0] in BLUEPRINTS for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert len(rules) >= 20  # the console is there at all
    missing = sorted(f"{method} {rule}" for method, rule in rules if not _rows_for(method, rule))
    assert missing == [], "console routes with no row in ROUTES"
    # Every route that takes a complaint is asked, by the DISHUB admin, for one that is not DISHUB's: 404.
    takes_a_complaint = sorted((method, rule) for method, rule in rules
                               if "<code>" in rule or any(_names_a_complaint(row, COMPLAINT_IDS)
                                                          for row in _rows_for(method, rule)))
    assert ("POST", "/admin/review") in takes_a_complaint
    untested = [f"{method} {rule}" for method, rule in takes_a_complaint
                if not any(_names_a_complaint(row, NOT_THEIRS) and row.expect[AGENCY] == 404
                           for row in _rows_for(method, rule))]
    assert untested == [], "routes that take a complaint without a 404 case for another agency's"


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


def _fill(value: str | list[str], values: dict[str, str]) -> str | list[str]:
    return [item.format(**values) for item in value] if isinstance(value, list) else value.format(**values)


@pytest.mark.parametrize("role", [ANON, SUPER_ROLE, AGENCY, VIEW])
def test_each_role_gets_the_right_answer_on_every_route(admin: Admin, role: str, tmp_path: Path) -> None:
    runtime = admin.stack.runtime
    runtime.settings = runtime.settings.with_overrides(intake__media_dir=str(tmp_path))
    wrong = []
    console = admin.as_user(USERS[role])  # one browser session, as a person would use it
    for route in ROUTES:
        dlh = admin.complaint("sampah menumpuk di TPS", agency="DLH")
        own = admin.complaint("lampu lalu lintas mati", agency="DISHUB")
        review = admin.complaint("ada yang aneh di kampung kami")
        with runtime.db.session() as session:
            spare = User(email=f"spare-{dlh.id}@malangkota.go.id", role="viewer", password_hash="x", active=True)
            session.add(spare)
            session.commit()
            spare_id = spare.id
        values = {"dlh": dlh.ticket_code, "own": own.ticket_code, "review": review.ticket_code,
                  "dlh_id": str(dlh.id), "own_id": str(own.id), "review_id": str(review.id),
                  "photo": str(_photo(admin, dlh.id, tmp_path)), "own_photo": str(_photo(admin, own.id, tmp_path)),
                  "user_id": str(spare_id), "n": str(own.id)}
        path = route.path.format(**values)
        data = {key: _fill(value, values) for key, value in (route.data or {}).items()}
        response = console.get(path) if route.method == "GET" else console.post(path, data)
        if route.path == "/admin/logout":
            console = admin.as_user(USERS[role])
        expected = route.expect[role]
        got: int | str = response.status_code
        if expected == LOGIN:
            got = LOGIN if response.status_code == 302 and "/admin/login" in response.location else got
        if got != expected:
            wrong.append(f"{route.method} {route.path} {route.data or ''} as {role}: {response.status_code} "
                         f"{response.location or response.text[:200]!r}, expected {expected}")
    assert wrong == []
