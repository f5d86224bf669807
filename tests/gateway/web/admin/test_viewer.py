"""Viewers (the mayor's office) read everything and change nothing, and no page shows them a citizen's phone number
or e-mail address: not the contact, not the messages, not numbers typed into a complaint, not staff addresses."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from gateway.web.admin.scope import mask_text
from models import Complaint, Contact
from tests.gateway.conftest import DISHUB, VIEWER, Admin, sms_complaint, text_in

PHONE = "+6281377788899"
# What a citizen types into a complaint: numbers and addresses of their own and of others, in local formats.
TEXT = ("Lampu PJU mati di Jl. Kawi 12, RT 03/RW 05, tgl 12-03-2026. Hubungi saya 0813-7778-8899 atau WA "
        "+62 856 5551 2345, e-mail budi.santoso@gmail.com. Tiket lama 1234 5678.")
SECRETS = ("+6281377788899", "6281377788899", "081377788899", "0813-7778-8899", "7778-8899", "5551 2345",
           "budi.santoso", "siti.aminah", "dishub@malangkota.go.id", "boss@malangkota.go.id")


@pytest.mark.parametrize(("text", "masked"), [
    ("hubungi 0812-3456-7890", "hubungi 0812-••••-•890"),
    ("wa +62 812 3456 7890 ya", "wa +62 81• •••• •890 ya"),
    ("6281234567890", "6281••••••890"),
    ("telp (0341) 551234", "telp (0341) •••234"),
    ("budi.santoso@gmail.com", "b•••@gmail.com"),
    ("tiket 1234 5678, 12345678, tgl 12-03-2026 jam 10.30, RT 03 RW 05 no 12", None),  # not phone numbers
])
def test_phones_and_emails_in_free_text_are_masked(text: str, masked: str | None) -> None:
    assert mask_text(text) == (masked if masked is not None else text)


def _console_pages(admin: Admin, code: str) -> list[str]:
    """Every GET page of the console a viewer can open, with this complaint's code where a route takes one."""
    paths = []
    for rule in admin.stack.app.url_map.iter_rules():
        if not rule.endpoint.startswith("admin.") or "GET" not in rule.methods or "filename" in rule.arguments \
                or "attachment_id" in rule.arguments or rule.endpoint == "admin.login":
            continue
        paths.append(re.sub(r"<code>", code, rule.rule))
    return paths


def test_no_console_page_shows_a_viewer_a_phone_or_email(admin: Admin, twilio_standin) -> None:  # noqa: ANN001
    complaint = sms_complaint(admin.stack, TEXT, sender=PHONE)  # routed to DISHUB by "lampu pju"
    assert complaint.agency_code == "DISHUB"
    with admin.stack.runtime.db.session() as session:
        session.get(Contact, complaint.contact_id).email = "siti.aminah@yahoo.co.id"
        session.commit()
    text_in(admin.stack, f"INFO {complaint.ticket_code} atau telp suami 0813-7778-8899", sender=PHONE)
    earlier = sms_complaint(admin.stack, "lampu merah mati, sms saya di 081377788899", sender=PHONE)
    agency = admin.as_user(DISHUB)
    agency.post(f"/admin/complaints/{complaint.ticket_code}/status",
                {"to": "in_progress", "note": "Petugas akan telepon 0813-7778-8899 besok."})
    admin.stack.work()

    viewer = admin.as_user(VIEWER)
    pages = _console_pages(admin, complaint.ticket_code) + [
        f"/admin/complaints/{earlier.ticket_code}", "/admin/queue?agency=DISHUB", "/admin/queue?status=in_progress"]
    assert "/admin/complaints/" + complaint.ticket_code in pages and "/admin/queue" in pages
    seen = {}
    for path in pages:
        response = viewer.get(path, follow_redirects=True)
        assert response.status_code in (200, 403), (path, response.status_code)
        seen[path] = response.status_code
        for secret in SECRETS:
            assert secret not in response.text, f"{secret!r} shown to a viewer on {path}"
    assert seen["/admin/review"] == seen["/admin/users"] == seen["/admin/audit"] == 403
    page = viewer.get(f"/admin/complaints/{complaint.ticket_code}").text
    for masked in ("+62813•••••899", "0813-••••-•899", "+62 85• •••• •345", "b•••@gmail.com", "s•••@yahoo.co.id",
                   "d•••@malangkota.go.id", "Tiket lama 1234 5678"):
        assert masked in page, masked
    assert "action-" not in page  # read-only: no buttons
    # The same page for the agency admin shows what they need to call the citizen back.
    full = agency.get(f"/admin/complaints/{complaint.ticket_code}").text
    assert PHONE in full and "0813-7778-8899" in full and "siti.aminah@yahoo.co.id" in full
    assert 'href="tel:+6281377788899"' in full


def test_viewers_change_nothing(admin: Admin) -> None:
    complaint = admin.complaint("lampu pju mati", agency="DISHUB")
    review = admin.complaint("ada yang aneh")
    viewer = admin.as_user(VIEWER)
    for path, data in ((f"/admin/complaints/{complaint.ticket_code}/status", {"to": "acknowledged"}),
                       (f"/admin/complaints/{complaint.ticket_code}/bounce", {"reason": "bukan kami"}),
                       (f"/admin/complaints/{complaint.ticket_code}/assign", {"agency": "DLH"}),
                       (f"/admin/complaints/{review.ticket_code}/reject", {"reason": "spam"}),
                       ("/admin/review", {"one": f"{review.id}|DLH"})):
        assert viewer.post(path, data).status_code == 403, path
    with admin.stack.runtime.db.session() as session:
        statuses = dict(session.execute(select(Complaint.id, Complaint.status)).all())
    assert statuses == {complaint.id: "assigned", review.id: "new"}
