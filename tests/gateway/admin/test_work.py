"""Agencies' work queues on both stacks: sorted by deadline, filtered; each step writes a status event and sends the
citizen one SMS segment (STOPped contacts get nothing); viewers see phones and e-mails masked."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from models import Complaint, Contact, StatusEvent, utcnow
from models.complaint import ACKNOWLEDGED, IN_PROGRESS, RESOLVED
from models.tickets import format_ticket_code
from tests.gateway.admin.conftest import CITIZEN, DISHUB, SUPER, VIEWER, Admin, sms_complaint, sms_to


def test_agency_steps_each_notify_the_citizen_in_one_segment(admin: Admin, twilio_standin) -> None:  # noqa: ANN001
    complaint = sms_complaint(admin.stack, "lampu pju mati di jl danau toba")
    code = format_ticket_code(complaint.ticket_code)
    console = admin.as_user(DISHUB)
    for to, note in ((ACKNOWLEDGED, ""), (IN_PROGRESS, "Petugas dijadwalkan besok pagi."),
                     (RESOLVED, "Lampu PJU sudah diganti petugas, terima kasih laporannya.")):
        response = console.post(f"/admin/complaints/{complaint.ticket_code}/status", {"to": to, "note": note})
        assert response.status_code == 302, response.text
    admin.stack.work()
    updates = sms_to(twilio_standin, CITIZEN)[1:]
    assert updates == [f"Tiket {code}: Diterima dinas.",
                       f"Tiket {code}: Sedang dikerjakan. Petugas dijadwalkan besok pagi.",
                       f"Tiket {code}: Selesai. Lampu PJU sudah diganti petugas, terima kasih laporannya."]
    assert all(len(update) <= 160 for update in updates)
    with admin.stack.runtime.db.session() as session:
        events = list(session.scalars(select(StatusEvent).where(StatusEvent.complaint_id == complaint.id)
                                      .order_by(StatusEvent.id)))
        assert [(e.to_status, e.actor) for e in events[1:]] == [(ACKNOWLEDGED, DISHUB), (IN_PROGRESS, DISHUB),
                                                                (RESOLVED, DISHUB)]
    # The public answer shows on the citizen's ticket page.
    assert "Lampu PJU sudah diganti petugas" in admin.stack.client.get(f"/tiket/{complaint.ticket_code}").text


def test_stopped_contacts_get_nothing(admin: Admin, twilio_standin) -> None:  # noqa: ANN001
    complaint = sms_complaint(admin.stack, "lampu pju mati di jl danau toba")
    with admin.stack.runtime.db.session() as session:
        session.get(Contact, complaint.contact_id).opted_out = True
        session.commit()
    before = len(sms_to(twilio_standin, CITIZEN))
    admin.as_user(DISHUB).post(f"/admin/complaints/{complaint.ticket_code}/status", {"to": ACKNOWLEDGED})
    admin.stack.work()
    assert len(sms_to(twilio_standin, CITIZEN)) == before


def test_refused_steps(admin: Admin) -> None:
    complaint = admin.complaint("lampu pju mati", agency="DISHUB")
    console = admin.as_user(DISHUB)
    path = f"/admin/complaints/{complaint.ticket_code}"
    response = console.post(f"{path}/status", {"to": RESOLVED, "note": "  "})
    assert response.status_code == 409 and "Tulis jawaban untuk warga" in response.text
    response = console.post(f"{path}/bounce", {"reason": ""})
    assert response.status_code == 409 and "Tulis alasan" in response.text
    response = console.post(f"{path}/status", {"to": "rejected"})
    assert response.status_code == 409
    assert console.post(f"{path}/status", {"to": IN_PROGRESS}).status_code == 302
    response = console.post(f"{path}/status", {"to": ACKNOWLEDGED})  # no going back
    assert response.status_code == 409
    with admin.stack.runtime.db.session() as session:
        assert session.get(Complaint, complaint.id).status == IN_PROGRESS


def test_queue_is_sorted_by_deadline_and_filtered(admin: Admin) -> None:
    older = admin.complaint("lampu merah mati", agency="DISHUB")
    newer = admin.complaint("parkir liar", agency="DISHUB", kelurahan="sawojajar")
    other = admin.complaint("sampah", agency="DLH")
    with admin.stack.runtime.db.session() as session:
        # The older one reached the agency two weeks ago: its deadline comes first.
        for event in session.scalars(select(StatusEvent).where(StatusEvent.complaint_id == older.id)):
            event.created_at = utcnow() - timedelta(days=14)
        session.get(Complaint, older.id).created_at = utcnow() - timedelta(days=14)
        session.commit()
    page = admin.as_user(DISHUB).get("/admin/queue").text
    assert page.index(older.ticket_code) < page.index(newer.ticket_code)
    assert other.ticket_code not in page
    assert "(lewat)" in page  # the old one is overdue
    console = admin.as_user(DISHUB)
    assert newer.ticket_code not in console.get("/admin/queue?status=overdue").text
    assert older.ticket_code in console.get("/admin/queue?status=overdue").text
    filtered = console.get("/admin/queue?kelurahan=sawojajar").text
    assert newer.ticket_code in filtered and older.ticket_code not in filtered
    aged = console.get("/admin/queue?age=7").text
    assert older.ticket_code in aged and newer.ticket_code not in aged
    assert console.get("/admin/queue?channel=web").text.count('data-ticket="') == 0
    # An agency admin cannot widen the list to another agency.
    assert other.ticket_code not in console.get("/admin/queue?agency=DLH").text
    assert other.ticket_code in admin.as_user(SUPER).get("/admin/queue?agency=DLH").text


def test_viewer_sees_masked_phone_and_email(admin: Admin) -> None:
    by_phone = admin.complaint("jalan rusak", agency="DISHUB", phone="+6281234567890")
    by_email = admin.complaint("jalan rusak", agency="DISHUB", phone=None, email="budi.santoso@gmail.com")
    for complaint, full, masked in ((by_phone, "+6281234567890", "+62812•••••890"),
                                    (by_email, "budi.santoso@gmail.com", "b•••@gmail.com")):
        viewer = admin.as_user(VIEWER).get(f"/admin/complaints/{complaint.ticket_code}").text
        assert masked in viewer and full not in viewer
        assert full in admin.as_user(DISHUB).get(f"/admin/complaints/{complaint.ticket_code}").text
    # Read-only: no action forms for a viewer.
    assert "action-resolved" not in admin.as_user(VIEWER).get(f"/admin/complaints/{by_phone.ticket_code}").text


def test_complaint_page_shows_the_citizens_messages_and_history(admin: Admin, twilio_standin) -> None:  # noqa: ANN001
    complaint = sms_complaint(admin.stack, "lampu pju mati di jl danau toba")
    from tests.gateway.admin.conftest import text_in

    text_in(admin.stack, f"INFO {complaint.ticket_code} tiangnya juga miring")
    admin.stack.work()
    page = admin.as_user(DISHUB).get(f"/admin/complaints/{complaint.ticket_code}").text
    assert "lampu pju mati di jl danau toba" in page
    assert "tiangnya juga miring" in page
    assert 'id="deadlines"' in page and "Diteruskan ke dinas" in page
