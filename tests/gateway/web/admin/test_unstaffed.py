"""No complaint sent into the void (issue 15, point 10), on both stacks: the router never assigns to an agency with
no active console user (the complaint waits in review, the reason shown); such agencies are marked among the review
candidates, on the dashboard, and listed first on /admin/agencies."""

from __future__ import annotations

from collections.abc import Iterator
from html import unescape

import pytest
from sqlalchemy import select

from gateway.runtime import sync_agencies
from gateway.web.auth import create_user
from models import User
from models.complaint import ASSIGNED, NEW
from tests.conftest import _empty_tables, _stack
from tests.gateway.conftest import DISHUB, PASSWORD, SUPER, VIEWER, Admin, add_users, sms_complaint
from tests.gateway.web.intake_support import new_api_key
from tests.support.twilio_standin import TwilioStandIn

PJU = "lampu pju mati di jl danau toba"  # the router is sure: DISHUB
JALAN = "jalan rusak berlubang besar di jl kawi"  # the router is sure: DPUPRPKP


@pytest.fixture(params=["postgres", "sqlite"])
def held(request: pytest.FixtureRequest, twilio_standin: TwilioStandIn) -> Iterator[Admin]:
    """The console's stack with admin.hold_without_users on (as config.yaml ships it); users for DISHUB and DLH."""
    url = request.getfixturevalue(f"{request.param}_url")
    stack = _stack(request.param, url, twilio_standin, admin={"hold_without_users": True})
    add_users(stack)
    yield Admin(stack)
    stack.runtime.db.dispose()
    if stack.name == "postgres":
        stack.runtime.queue.connection.flushdb()
    _empty_tables(url)


def test_the_router_assigns_only_to_agencies_someone_reads(held: Admin) -> None:
    staffed = sms_complaint(held.stack, PJU)
    assert (staffed.status, staffed.agency_code) == (ASSIGNED, "DISHUB")
    waiting = sms_complaint(held.stack, JALAN)
    assert (waiting.status, waiting.agency_code) == (NEW, None)
    assert waiting.routing["agency"] == "DPUPRPKP" and waiting.routing["review_reason"] == "no_user"
    page = unescape(held.as_user(SUPER).get("/admin/review").text)
    assert "Tidak diteruskan otomatis ke DPUPRPKP: dinas ini belum punya pengguna konsol aktif." in page
    card = page.split(f'id="complaint-{waiting.ticket_code}"', 1)[1].split('class="card', 1)[0]
    assert 'data-agency="DPUPRPKP"' in card and "tanpa pengguna" in card


def test_a_deactivated_user_counts_as_none(held: Admin) -> None:
    with held.stack.runtime.db.session() as session:
        session.scalar(select(User).where(User.email == DISHUB)).active = False
        session.commit()
    complaint = sms_complaint(held.stack, PJU)
    assert (complaint.status, complaint.routing["review_reason"]) == (NEW, "no_user")
    with held.stack.runtime.db.session() as session:
        create_user(session, "pju2@malangkota.go.id", "agency-admin", PASSWORD, agency_code="DISHUB")
        session.commit()
    assert sms_complaint(held.stack, PJU).agency_code == "DISHUB"


def test_a_category_agency_without_users_does_not_take_it_either(held: Admin) -> None:
    key = new_api_key(held.stack)
    headers = {"X-API-Key": key}
    staffed = held.stack.client.post("/api/v1/complaints", headers=headers,
                                     json={"text": "tolong dibantu pak", "category": "sampah"})  # DLH has a user
    assert staffed.status_code == 201 and staffed.json["agency"]["code"] == "DLH"
    waiting = held.stack.client.post("/api/v1/complaints", headers=headers,
                                     json={"text": "tolong dibantu pak", "category": "kesehatan"})  # DINKES: none
    assert waiting.status_code == 201 and waiting.json["agency"] is None


def test_dashboard_and_agencies_page_name_them_first(held: Admin) -> None:
    dashboard = unescape(held.as_user(SUPER).get("/admin/dashboard").text)
    line = dashboard.split('id="unstaffed"', 1)[1].split("</p>", 1)[0]
    assert 'data-agency="DPUPRPKP"' in line and 'data-agency="DISHUB"' not in line and 'data-agency="DLH"' not in line
    assert 'id="unstaffed"' in held.as_user(VIEWER).get("/admin/dashboard").text
    assert 'id="unstaffed"' not in held.as_user(DISHUB).get("/admin/dashboard").text
    agencies = held.as_user(SUPER).get("/admin/agencies").text
    order = [chunk.split('"', 1)[0] for chunk in agencies.split('<tr data-agency="')[1:]]
    staffed_at = [order.index("DISHUB"), order.index("DLH")]
    unstaffed_at = order.index("DPUPRPKP")
    assert unstaffed_at < min(staffed_at)
    assert 'class=" unstaffed"' in agencies


def test_hold_off_assigns_as_before(admin: Admin) -> None:
    sync_agencies(admin.stack.runtime)
    assert sms_complaint(admin.stack, JALAN).agency_code == "DPUPRPKP"  # nobody reads DPUPRPKP, but hold is off
