"""Agencies' work queues on both stacks: sorted by deadline, filtered; each step writes a status event and sends the
citizen one SMS segment (STOPped contacts get nothing); viewers see phones and e-mails masked."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from models import Complaint, Contact, StatusEvent, utcnow
from models.complaint import ACKNOWLEDGED, IN_PROGRESS, RESOLVED
from models.tickets import format_ticket_code
from tests.gateway.conftest import CITIZEN, DISHUB, SUPER, VIEWER, Admin, sms_complaint, sms_to


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
    assert console.get("/admin/queue?channel=sms").text.count('data-ticket="') == 2
    assert '<option value="sms" >SMS</option>' in console.get("/admin/queue").text
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
    from tests.gateway.conftest import text_in

    text_in(admin.stack, f"INFO {complaint.ticket_code} tiangnya juga miring")
    admin.stack.work()
    page = admin.as_user(DISHUB).get(f"/admin/complaints/{complaint.ticket_code}").text
    assert "lampu pju mati di jl danau toba" in page
    assert "tiangnya juga miring" in page
    assert 'id="deadlines"' in page and "Diteruskan ke dinas" in page


def test_per_category_deadlines_reach_the_complaints_clock(admin: Admin, twilio_standin) -> None:  # noqa: ANN001
    """config.yaml: DPUPRPKP resolves in 14 working days, but its pohon-taman category in 7."""
    from gateway.complaints.deadlines import open_assignment
    from gateway.complaints.reminders import check_deadlines
    from gateway.settings.deadlines import policy
    from tests.gateway.web.intake_support import new_api_key

    key = new_api_key(admin.stack)
    codes = {}
    for category, text in (("jalan", "jalan rusak berlubang di depan sekolah"),
                           ("pohon-taman", "pohon tumbang menutup jalan di taman")):
        response = admin.stack.client.post("/api/v1/complaints", headers={"X-API-Key": key},
                                           json={"text": text, "category": category, "phone": "+6281234567890"})
        assert response.status_code == 201 and response.json["agency"]["code"] == "DPUPRPKP", response.json
        codes[category] = response.json["ticket_code"]
    check_deadlines(admin.stack.runtime)  # the scheduler starts the clocks of complaints the router placed
    calendar = policy(admin.stack.runtime.settings).calendar()
    with admin.stack.runtime.db.session() as session:
        clocks = {category: open_assignment(session, session.scalar(
            select(Complaint.id).where(Complaint.ticket_code == code))) for category, code in codes.items()}
    for category, days in (("jalan", 14), ("pohon-taman", 7)):
        clock = clocks[category]
        assert clock.category == category
        assert clock.resolve_due == calendar.add_working_days(clock.assigned_at, days), category
        assert clock.acknowledge_due == calendar.add_working_days(clock.assigned_at, 1)
    page = admin.as_user(SUPER).get(f"/admin/complaints/{codes['pohon-taman']}").text
    assert 'data-stage="resolve"' in page


LONG_ANSWER = ("Lampu PJU di Jl. Danau Toba sudah diganti petugas pada Selasa pagi. Kabel yang putus karena dahan "
               "pohon juga sudah disambung, dan dahan di sekitar tiang sudah dipangkas bersama DLH supaya tidak "
               "terulang.")


def test_a_long_answer_goes_whole_by_sms_and_email(admin: Admin, twilio_standin) -> None:  # noqa: ANN001
    from email.message import EmailMessage

    from gateway.jobs.mail import accept_mail
    from models import Outbox

    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "warga.mail@example.id", "aduan@malangkota.go.id", "PJU mati"
    mail["Message-ID"] = "<pju-1@example.id>"
    mail.set_content("lampu pju mati di jl danau toba\n")
    accept_mail(admin.stack.runtime, bytes(mail), "warga.mail@example.id")
    admin.stack.work()
    by_sms = sms_complaint(admin.stack, "lampu pju mati di jl danau toba")
    with admin.stack.runtime.db.session() as session:
        by_email = session.scalar(select(Complaint).where(Complaint.channel == "email"))
    console = admin.as_user(DISHUB)
    for complaint in (by_email, by_sms):
        assert console.post(f"/admin/complaints/{complaint.ticket_code}/status",
                            {"to": RESOLVED, "note": LONG_ANSWER}).status_code == 302
    admin.stack.work()
    with admin.stack.runtime.db.session() as session:
        email = session.scalar(select(Outbox).where(Outbox.complaint_id == by_email.id,
                                                    Outbox.kind == "status_update"))
    assert email.channel == "email" and email.body.endswith(LONG_ANSWER)
    sms = sms_to(twilio_standin, CITIZEN)[-1]
    # Issue 15: a concatenated SMS of up to 3 segments carries it whole (longer ones are cut at a word).
    assert sms == f"Tiket {format_ticket_code(by_sms.ticket_code)}: Selesai. {LONG_ANSWER}" and len(sms) <= 3 * 153
    # The whole answer is on the public ticket page.
    assert "dipangkas bersama DLH" in admin.stack.client.get(f"/tiket/{by_sms.ticket_code}").text
