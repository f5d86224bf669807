"""The review queue at 200 complaints a day (issue 15, point 9), on both stacks: pages past the first 200, filters
(channel, kelurahan, age, first candidate, text), "Pilih dinas tujuan", the confirmation naming each ticket and
where it went, and undo within admin.undo_minutes (assign, reject, merge)."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from typing import Any

import pytest
from sqlalchemy import select

from gateway.complaints.deadlines import open_assignment
from gateway.complaints.intake import unused_ticket_code
from models import AuditEntry, Complaint, ComplaintMerge, Outbox, RoutingExample, StatusEvent, utcnow
from models.complaint import ASSIGNED, MERGED, NEW, REJECTED
from models.learning import ASSIGNMENT
from models.tickets import format_ticket_code
from tests.gateway.conftest import CITIZEN, SUPER, Admin, sms_complaint, sms_to

CARD = re.compile(r'class="card review-card" id="complaint-(\d{8})"')
UNROUTED = "halo ada masalah di depan rumah saya tolong dicek"


def many(admin: Admin, count: int, **fields: Any) -> list[int]:
    """``count`` complaints waiting in review, oldest first, put straight in the database (fast)."""
    first = fields.pop("first", "DPUPRPKP")
    start = utcnow() - timedelta(hours=count + 1)
    with admin.stack.runtime.db.session() as session:
        rows = []
        for n in range(count):
            routing = {"agency": None, "confidence": 0.4, "matched": [],
                       "candidates": [{"agency": first, "score": 2.0, "matched": ["jalan"]}] if first else []}
            values = {"text": f"aduan nomor {n}", "medium": "sms", **fields}
            complaint = Complaint(ticket_code=unused_ticket_code(session), channel="twilio", status=NEW,
                                  routing=routing, created_at=start + timedelta(hours=n), **values)
            session.add(complaint)
            rows.append(complaint)
        session.flush()
        for complaint in rows:
            session.add(StatusEvent(complaint_id=complaint.id, kind="status", from_status=None, to_status=NEW,
                                    actor="router", created_at=complaint.created_at))
        session.commit()
        return [complaint.id for complaint in rows]


def cards(page: Any) -> list[str]:
    return CARD.findall(page.text)


def _complaint(admin: Admin, complaint_id: int) -> Complaint:
    with admin.stack.runtime.db.session() as session:
        return session.get(Complaint, complaint_id)


def test_pages_past_the_first_200(admin: Admin) -> None:
    many(admin, 250)
    console = admin.as_user(SUPER)
    first = console.get("/admin/review")
    assert len(cards(first)) == 200
    assert "Aduan 1–200 dari 250" in first.text and 'id="page-next"' in first.text
    second = console.get("/admin/review?page=2")
    assert len(cards(second)) == 50
    assert "Aduan 201–250 dari 250" in second.text and 'id="page-prev"' in second.text
    assert not set(cards(first)) & set(cards(second))
    assert len(cards(console.get("/admin/review?page=3"))) == 0


def _filter_table(admin: Admin) -> dict[str, set[int]]:
    """Complaints that differ in one way each; returns which ids each filter must show."""
    plain = many(admin, 2)
    web = many(admin, 1, medium="web", text="lampu taman mati")
    place = many(admin, 1, kelurahan="sawojajar")
    dishub = many(admin, 2, first="DISHUB")
    nothing = many(admin, 1, first=None)
    old = many(admin, 1, text="genangan air di gang 5")
    with admin.stack.runtime.db.session() as session:
        session.get(Complaint, old[0]).created_at = utcnow() - timedelta(days=8)
        session.commit()
    everyone = {*plain, *web, *place, *dishub, *nothing, *old}
    return {"": everyone, "channel=web": set(web), "kelurahan=sawojajar": set(place), "age=7": set(old),
            "candidate=DISHUB": set(dishub), "candidate=-": set(nothing), "q=LAMPU+TAMAN": set(web),
            "q=genangan": set(old), "channel=web&candidate=DISHUB": set()}


def test_filters_channel_kelurahan_age_candidate_and_text(admin: Admin) -> None:
    expected = _filter_table(admin)
    console = admin.as_user(SUPER)
    codes = {}
    with admin.stack.runtime.db.session() as session:
        for complaint in session.scalars(select(Complaint)):
            codes[complaint.ticket_code] = complaint.id
    for query, ids in expected.items():
        page = console.get(f"/admin/review?{query}")
        assert page.status_code == 200
        assert {codes[code] for code in cards(page)} == ids, query
    # A ticket code (printed with its space) finds its complaint.
    some = next(iter(expected["age=7"]))
    code = _complaint(admin, some).ticket_code
    assert cards(console.get(f"/admin/review?q={format_ticket_code(code)}")) == [code]


def test_assign_without_an_agency_says_pilih_dinas_tujuan(admin: Admin) -> None:
    ids = many(admin, 3)
    console = admin.as_user(SUPER)
    response = console.post("/admin/review?candidate=DPUPRPKP", {"ids": [str(ids[0]), str(ids[2])],
                                                                 "action": "assign", "agency": ""})
    assert response.status_code == 400
    assert "Pilih dinas tujuan" in response.text
    # The page again, the ticks kept; nothing changed.
    assert f'value="{ids[0]}" class="pick" checked' in response.text
    assert f'value="{ids[1]}" class="pick">' in response.text
    assert {_complaint(admin, i).status for i in ids} == {NEW}


def test_confirmation_names_each_ticket_and_undo_takes_it_back(admin: Admin, twilio_standin) -> None:  # noqa: ANN001
    first = sms_complaint(admin.stack, UNROUTED)
    second = sms_complaint(admin.stack, "tolong dibantu pak masalah di gang kami", "+6285655512345")
    console = admin.as_user(SUPER)
    response = console.post("/admin/review?channel=sms", {"ids": [str(first.id), str(second.id)],
                                                          "action": "assign", "agency": "DLH"})
    assert response.status_code == 302
    assert "channel=sms" in response.location and "done=" in response.location
    page = console.get(response.location)
    done = unescape(page.text)
    for complaint in (first, second):
        assert f"Tiket {format_ticket_code(complaint.ticket_code)}</a> diteruskan ke DLH" in done
    assert 'id="undo"' in page.text
    assert {_complaint(admin, c.id).status for c in (first, second)} == {ASSIGNED}
    events = re.findall(r'name="events" value="(\d+)"', page.text)
    assert len(events) == 2
    undone = console.post("/admin/review/undo?channel=sms", {"events": events})
    assert undone.status_code == 302 and "channel=sms" in undone.location
    after = console.get(undone.location)
    assert "Dibatalkan, kembali ke antrean tinjauan" in after.text
    for complaint in (first, second):
        back = _complaint(admin, complaint.id)
        assert (back.status, back.agency_code) == (NEW, None)
        assert format_ticket_code(complaint.ticket_code) in after.text
    with admin.stack.runtime.db.session() as session:
        assert open_assignment(session, first.id) is None  # the clock stopped
        updates = list(session.scalars(select(Outbox).where(Outbox.kind == "status_update")))
        assert updates and {row.status for row in updates} == {"canceled"}  # not yet sent: never sent
        example = session.scalar(select(RoutingExample).where(RoutingExample.complaint_id == first.id,
                                                              RoutingExample.source == ASSIGNMENT))
        assert example is not None and not example.counted
        assert session.scalar(select(AuditEntry).where(AuditEntry.action == "complaint.undo")) is not None
    replies = len(sms_to(twilio_standin, CITIZEN))
    admin.stack.work()
    assert len(sms_to(twilio_standin, CITIZEN)) == replies  # the cancelled update never goes out
    # Twice is refused, by name: nothing left to undo.
    again = console.post("/admin/review/undo", {"events": events})
    assert again.status_code == 302
    assert "tidak bisa dibatalkan" in unescape(console.get(again.location).text)


def test_undo_reject_and_merge(admin: Admin) -> None:
    rejected, merged, kept, carried = (admin.complaint(f"aduan {n}") for n in range(4))
    console = admin.as_user(SUPER)
    assert console.post(f"/admin/complaints/{carried.ticket_code}/merge",
                        {"kept": merged.ticket_code}).status_code == 302
    response = console.post("/admin/review", {"ids": [str(rejected.id)], "action": "reject:spam"})
    page = unescape(console.get(response.location).text)
    assert f"Tiket {format_ticket_code(rejected.ticket_code)}</a> ditolak (tanpa balasan)" in page
    response = console.post("/admin/review", {"ids": [str(merged.id)], "action": "merge", "kept": kept.ticket_code})
    page = console.get(response.location)
    assert f"Tiket {format_ticket_code(merged.ticket_code)}</a> digabung" in unescape(page.text)
    assert _complaint(admin, merged.id).status == MERGED and _complaint(admin, rejected.id).status == REJECTED
    with admin.stack.runtime.db.session() as session:
        links = {(link.merged_id, link.kept_id) for link in session.scalars(select(ComplaintMerge))}
        assert links == {(merged.id, kept.id), (carried.id, kept.id)}
        events = [str(session.scalar(select(StatusEvent.id).where(StatusEvent.complaint_id == c.id)
                                     .order_by(StatusEvent.id.desc()).limit(1))) for c in (rejected, merged)]
    assert console.post("/admin/review/undo", {"events": events}).status_code == 302
    assert _complaint(admin, rejected.id).status == _complaint(admin, merged.id).status == NEW
    with admin.stack.runtime.db.session() as session:
        links = {(link.merged_id, link.kept_id) for link in session.scalars(select(ComplaintMerge))}
        assert links == {(carried.id, merged.id)}  # the earlier duplicate follows its ticket again


def test_undo_only_within_the_window(admin: Admin) -> None:
    complaint = admin.complaint("aduan lama")
    console = admin.as_user(SUPER)
    response = console.post("/admin/review", {"one": f"{complaint.id}|DISHUB"})
    event_id = int(re.search(r"done=(\d+)", response.location).group(1))
    with admin.stack.runtime.db.session() as session:
        session.get(StatusEvent, event_id).created_at = utcnow() - timedelta(minutes=6)
        session.commit()
    page = console.get(response.location)
    assert "diteruskan ke DISHUB" in page.text and 'id="undo"' not in page.text
    refused = console.post("/admin/review/undo", {"events": [str(event_id)]})
    assert "lewat 5 menit" in console.get(refused.location).text
    assert _complaint(admin, complaint.id).status == ASSIGNED


@pytest.mark.parametrize("form", [{"events": "x"}, {}])
def test_undo_with_nothing_sensible_is_a_400(admin: Admin, form: dict[str, str]) -> None:
    response = admin.as_user(SUPER).post("/admin/review/undo", form)
    assert response.status_code == 400


def test_the_page_has_no_inline_script_or_style(admin: Admin) -> None:
    many(admin, 3)
    page = admin.as_user(SUPER).get("/admin/review").text
    assert '<script src="/admin/static/review.js" defer></script>' in page
    assert "<script>" not in page and not re.search(r"\son[a-z]+=", page)
    main = page.split("<main>", 1)[1]
    assert "style=" not in main
    assert admin.as_user(SUPER).get("/admin/static/review.js").status_code == 200


def test_complaint_page_assign_without_an_agency_says_pilih_dinas_tujuan(admin: Admin) -> None:
    complaint = admin.complaint("aduan tanpa dinas")
    response = admin.as_user(SUPER).post(f"/admin/complaints/{complaint.ticket_code}/assign", {"agency": ""})
    assert response.status_code == 409 and "Pilih dinas tujuan." in response.text
    assert _complaint(admin, complaint.id).status == NEW
