"""Issue 15, end to end on both stacks (PostgreSQL + rq, SQLite + the embedded queue): codes as people type them,
thanks that are no complaint, a dispute that reopens, the questionnaire, long answers, status texts that help."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from gateway.complaints.figures import confirmed_fixed, share_text
from gateway.complaints.questionnaire import ask_due
from models import Assignment, Complaint, Contact, InboundMessage, Outbox, Questionnaire, StatusEvent, utcnow
from models.complaint import REJECTED, REOPENED, RESOLVED
from models.tickets import format_ticket_code
from tests.gateway.conftest import CITIZEN, DISHUB, SUPER, Admin, sms_complaint, sms_to, text_in

CODE = "66283615"  # the issue's own code (its check digit is right)
OTHER = "+6285712345678"


def _complaint_with_code(admin: Admin, code: str = CODE, phone: str = CITIZEN) -> Complaint:
    complaint = admin.complaint("lampu pju mati di jl danau toba", agency="DISHUB", phone=phone)
    with admin.stack.runtime.db.session() as session:
        session.get(Complaint, complaint.id).ticket_code = code
        session.commit()
        return session.get(Complaint, complaint.id)


def _count(admin: Admin, model: type) -> int:
    with admin.stack.runtime.db.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def _resolve(admin: Admin, complaint: Complaint, note: str = "Lampu PJU sudah diganti petugas.") -> None:
    response = admin.as_user(DISHUB).post(f"/admin/complaints/{complaint.ticket_code}/status",
                                          {"to": RESOLVED, "note": note})
    assert response.status_code == 302, response.text
    admin.stack.work()


STATUS_TEXTS = [
    # the texts, exactly as written there
    "Cek66283615", "cek66283615", "CEK 6628 3615 tolong dipercepat", "cek tiket saya 66283615",
    "status aduan 6628-3615", "gimana 66283615 pak",
    # more of our own
    "cEk 6628.3615", "CEK #6628-3615", "cekk 66283615", "STATUS66283615", "66283615", "6628 3615",
    "tiket saya 6628-3615 gimana?",
]


def test_codes_as_people_type_them_get_the_status(admin: Admin, twilio_standin) -> None:  # noqa: ANN001
    _complaint_with_code(admin, phone=OTHER)  # anyone may ask for a ticket's status
    complaints = _count(admin, Complaint)
    for number, typed in enumerate(STATUS_TEXTS):
        text_in(admin.stack, typed)
        admin.stack.work()
        replies = sms_to(twilio_standin, CITIZEN)
        assert len(replies) == number + 1, typed
        assert replies[-1].startswith("Tiket 6628 3615: Diteruskan ke dinas. Ditangani: DISHUB."), (typed, replies[-1])
    assert _count(admin, Complaint) == complaints  # none of them opened a complaint


@pytest.mark.parametrize(("typed", "reply"), [
    ("CEK", "Format: CEK <kode tiket>. Contoh: CEK 12345678"),
    ("STATUS", "Format: CEK <kode tiket>. Contoh: CEK 12345678"),
    ("cek tiket saya", "Format: CEK <kode tiket>. Contoh: CEK 12345678"),
    ("CEK 6628361", "Tiket tidak ditemukan, periksa nomornya. Kode tiket 8 angka, contoh: CEK 12345678"),
    ("CEK 66283614", "Tiket tidak ditemukan, periksa nomornya. 66283614 tampaknya salah ketik"),
    ("CEK 55555559", "Tiket tidak ditemukan, periksa nomornya. Kode tiket 8 angka"),  # right check digit, no ticket
])
def test_usage_and_wrong_codes(admin: Admin, twilio_standin, typed: str, reply: str) -> None:  # noqa: ANN001
    text_in(admin.stack, typed)
    admin.stack.work()
    assert sms_to(twilio_standin, CITIZEN)[-1].startswith(reply)
    assert _count(admin, Complaint) == 0


@pytest.mark.parametrize("typed", ["bayar Rp 50000 ke petugas parkir", "gimana 66283614 pak",
                                   "gimana 55555559 pak", "pungli Rp 50.000.000 di kelurahan"])
def test_numbers_that_are_not_codes_are_complaints(admin: Admin, twilio_standin, typed: str) -> None:  # noqa: ANN001
    complaint = sms_complaint(admin.stack, typed)
    assert complaint.text == typed
    assert sms_to(twilio_standin, CITIZEN)[-1].startswith("Aduan diterima.")


SHORT_TEXTS = ["terima kasih", "makasih", "ok", "oke", "siap", "👍", "?", "Terima kasih, Pak!", "makasih bu 🙏",
               "oke siap", "p"]


def test_thanks_are_not_complaints(admin: Admin, twilio_standin) -> None:  # noqa: ANN001
    complaint = sms_complaint(admin.stack, "lampu pju mati di jl danau toba")
    before = len(sms_to(twilio_standin, CITIZEN))
    for typed in SHORT_TEXTS:
        text_in(admin.stack, typed)
        admin.stack.work()
    assert _count(admin, Complaint) == 1
    replies = sms_to(twilio_standin, CITIZEN)[before:]
    code = format_ticket_code(complaint.ticket_code)
    assert replies == [f"Terima kasih. Tiket {code} tetap kami pantau; kabar berikutnya kami kirim ke nomor ini."]
    with admin.stack.runtime.db.session() as session:
        notes = list(session.scalars(select(StatusEvent.note).where(StatusEvent.complaint_id == complaint.id,
                                                                    StatusEvent.kind == "citizen_info")
                                     .order_by(StatusEvent.id)))
        assert notes == SHORT_TEXTS  # attached to the open ticket as notes
    page = admin.as_user(DISHUB).get(f"/admin/complaints/{complaint.ticket_code}").text
    assert "warga menambahkan: oke siap" in page


def test_thanks_without_a_ticket_are_rejected_silently(admin: Admin, twilio_standin) -> None:  # noqa: ANN001
    complaint = sms_complaint(admin.stack, "terima kasih")  # no ticket to attach it to: it is filed...
    assert complaint.status == "new"
    before = len(sms_to(twilio_standin, CITIZEN))
    response = admin.as_user(SUPER).post(f"/admin/complaints/{complaint.ticket_code}/reject",
                                         {"reason": "short_reply"})
    assert response.status_code == 302, response.text
    admin.stack.work()
    assert len(sms_to(twilio_standin, CITIZEN)) == before  # ...and rejected without a word
    with admin.stack.runtime.db.session() as session:
        assert session.get(Complaint, complaint.id).status == REJECTED


@pytest.mark.parametrize("dispute", ["INFO {digits} belum selesai, lampunya mati lagi", "belum", "masih",
                                     "tidak benar", "belum beres", "Belum beres pak, masih gelap"])
def test_a_dispute_reopens(admin: Admin, twilio_standin, dispute: str) -> None:  # noqa: ANN001
    complaint = sms_complaint(admin.stack, "lampu pju mati di jl danau toba")
    code = format_ticket_code(complaint.ticket_code)
    _resolve(admin, complaint)
    text_in(admin.stack, dispute.format(digits=complaint.ticket_code))
    admin.stack.work()
    assert _count(admin, Complaint) == 1  # not a new complaint
    with admin.stack.runtime.db.session() as session:
        reopened = session.get(Complaint, complaint.id)
        assert (reopened.status, reopened.agency_code) == (REOPENED, "DISHUB")
        clocks = list(session.scalars(select(Assignment).where(Assignment.complaint_id == complaint.id)
                                      .order_by(Assignment.id)))
        assert [clock.outcome for clock in clocks] == ["resolved", None]  # a new response deadline
        assert clocks[1].acknowledge_due > utcnow() and clocks[1].respond_due > clocks[1].assigned_at
        notes = list(session.scalars(select(StatusEvent.note).where(StatusEvent.complaint_id == complaint.id,
                                                                    StatusEvent.kind == "citizen_info")))
        assert notes and notes[-1] in dispute.format(digits=complaint.ticket_code)
    told = sms_to(twilio_standin, CITIZEN)[-1]
    assert told.startswith(f"Tiket {code}: Dibuka kembali. Warga menyatakan belum beres; diteruskan lagi ke Dinas")
    # Back in the agency's queue and on the super-admin's dashboard; the agency can work it again.
    assert complaint.ticket_code in admin.as_user(DISHUB).get("/admin/queue").text
    dashboard = admin.as_user(SUPER).get("/admin/dashboard").text
    assert 'id="reopened"' in dashboard and complaint.ticket_code in dashboard
    _resolve(admin, complaint, "Lampu diganti lagi, kabelnya juga.")
    with admin.stack.runtime.db.session() as session:
        assert session.get(Complaint, complaint.id).status == RESOLVED


def test_a_late_dispute_or_one_from_another_phone_reopens_nothing(admin: Admin, twilio_standin) -> None:  # noqa: ANN001
    complaint = sms_complaint(admin.stack, "lampu pju mati di jl danau toba")
    _resolve(admin, complaint)
    text_in(admin.stack, f"INFO {complaint.ticket_code} belum selesai", sender=OTHER)
    admin.stack.work()
    assert sms_to(twilio_standin, OTHER)[-1].startswith("Tiket tidak ditemukan untuk nomor Anda")
    with admin.stack.runtime.db.session() as session:
        for event in session.scalars(select(StatusEvent).where(StatusEvent.complaint_id == complaint.id)):
            event.created_at -= timedelta(days=30)
        session.commit()
    text_in(admin.stack, "belum beres")
    admin.stack.work()
    with admin.stack.runtime.db.session() as session:
        assert session.get(Complaint, complaint.id).status == RESOLVED


def test_questionnaire_yes_and_no(admin: Admin, twilio_standin) -> None:  # noqa: ANN001
    runtime = admin.stack.runtime
    fixed = sms_complaint(admin.stack, "lampu pju mati di jl danau toba")
    unfixed = sms_complaint(admin.stack, "lampu merah mati di perempatan", sender=OTHER)
    for complaint in (fixed, unfixed):
        _resolve(admin, complaint)
    assert ask_due(runtime) == 0  # not yet: questionnaire.after_days working days after resolution
    later = utcnow() + timedelta(days=7)  # three working days, whatever the weekday
    assert ask_due(runtime, now=later) == 2
    assert ask_due(runtime, now=later) == 0  # asked once
    admin.stack.work()
    for phone, complaint in ((CITIZEN, fixed), (OTHER, unfixed)):
        assert sms_to(twilio_standin, phone)[-1] == \
            f"Tiket {format_ticket_code(complaint.ticket_code)} sudah beres? Balas YA atau BELUM"
    text_in(admin.stack, "YA")
    text_in(admin.stack, "BELUM", sender=OTHER)
    admin.stack.work()
    assert sms_to(twilio_standin, CITIZEN)[-1] == \
        f"Terima kasih, tiket {format_ticket_code(fixed.ticket_code)} kami catat sudah beres."
    assert "Dibuka kembali" in sms_to(twilio_standin, OTHER)[-1]
    with runtime.db.session() as session:
        assert session.get(Complaint, fixed.id).status == RESOLVED
        assert session.get(Complaint, unfixed.id).status == REOPENED
        answers = dict(session.execute(select(Questionnaire.complaint_id, Questionnaire.answer)).all())
        assert answers == {fixed.id: "yes", unfixed.id: "no"}
        figures = confirmed_fixed(session, 30, now=later)
        assert (figures["DISHUB"].asked, figures["DISHUB"].answered, figures["DISHUB"].confirmed) == (2, 2, 1)
        assert share_text(figures["DISHUB"].share) == "50%" and figures["DLH"].share is None
        assert figures[""].answered == 2
    assert _count(admin, Complaint) == 2
    # the answers feed the dashboard
    page = admin.as_user(SUPER).get("/admin/dashboard").text
    assert 'id="confirmed"' in page and "50%" in page
    # the scheduler's hook runs it at most once a minute
    from gateway.complaints.questionnaire import questionnaire_work

    questionnaire_work(runtime, interval=3600)
    assert questionnaire_work(runtime, interval=3600) is None


def test_questionnaire_skips_stopped_and_re_resolved(admin: Admin, twilio_standin) -> None:  # noqa: ANN001
    complaint = sms_complaint(admin.stack, "lampu pju mati di jl danau toba")
    _resolve(admin, complaint)
    with admin.stack.runtime.db.session() as session:
        session.get(Contact, complaint.contact_id).opted_out = True
        session.commit()
    before = len(sms_to(twilio_standin, CITIZEN))
    assert ask_due(admin.stack.runtime, now=utcnow() + timedelta(days=7)) == 0
    admin.stack.work()
    assert len(sms_to(twilio_standin, CITIZEN)) == before
    with admin.stack.runtime.db.session() as session:
        assert confirmed_fixed(session, 30, now=utcnow() + timedelta(days=7))["DISHUB"].asked == 0


LONG_ANSWER = ("Lampu PJU di Jl. Danau Toba sudah kami ganti pada hari Senin dengan lampu LED 60 watt. Kabel yang "
               "putus di tiang nomor 12 juga sudah disambung, dan panel di ujung gang sudah kami periksa. Bila lampu "
               "masih mati pada malam hari, mohon kabari kami lagi dengan membalas SMS ini. Terima kasih atas "
               "laporannya, semoga jalan di lingkungan Bapak/Ibu kembali terang dan aman untuk semua warga "
               "sekitar. Jika ada kerusakan lain di sekitar lokasi, silakan laporkan lewat SMS ke nomor ini atau "
               "lewat situs Sambat.")


def test_a_long_answer_arrives_whole_and_cek_returns_it(admin: Admin, twilio_standin) -> None:  # noqa: ANN001
    from gateway.complaints.replies import segments

    complaint = sms_complaint(admin.stack, "lampu pju mati di jl danau toba")
    code = format_ticket_code(complaint.ticket_code)
    page = admin.as_user(DISHUB).get(f"/admin/complaints/{complaint.ticket_code}").text
    assert f'data-frame="Tiket {code}: Selesai. "' in page and "sms-counter.js" in page
    _resolve(admin, complaint, LONG_ANSWER)
    update = sms_to(twilio_standin, CITIZEN)[-1]
    assert update.startswith(f"Tiket {code}: Selesai. Lampu PJU") and segments(update) == 3
    assert update.endswith("...") and LONG_ANSWER.startswith(update[len(f"Tiket {code}: Selesai. "):-3])
    assert LONG_ANSWER[len(update) - len(f"Tiket {code}: Selesai. ") - 3] == " "  # cut at a word
    text_in(admin.stack, f"CEK {complaint.ticket_code}")
    admin.stack.work()
    answer = sms_to(twilio_standin, CITIZEN)[-1]
    assert answer.startswith(f"Tiket {code}: Selesai, ") and "Lampu PJU di Jl. Danau Toba" in answer
    assert segments(answer) <= 3


def test_merged_and_rejected_status_texts(admin: Admin, twilio_standin) -> None:  # noqa: ANN001
    kept = admin.complaint("lampu pju mati di jl danau toba", agency="DISHUB", phone=OTHER)
    duplicate = sms_complaint(admin.stack, "lampu jalan mati di danau toba")
    console = admin.as_user(SUPER)
    assert console.post(f"/admin/complaints/{duplicate.ticket_code}/merge",
                        {"kept": kept.ticket_code}).status_code == 302
    admin.stack.work()
    assert "Digabung dengan tiket" in sms_to(twilio_standin, CITIZEN)[-1]  # told at the merge
    text_in(admin.stack, f"CEK {duplicate.ticket_code}")
    admin.stack.work()
    kept_code = format_ticket_code(kept.ticket_code)
    assert sms_to(twilio_standin, CITIZEN)[-1] == (
        f"Tiket {format_ticket_code(duplicate.ticket_code)} digabung ke tiket {kept_code}. Kabar selanjutnya lewat "
        f"tiket itu: ketik CEK {kept_code}")

    power = sms_complaint(admin.stack, "listrik padam sejak pagi, token listrik habis terus", sender=OTHER)
    assert power.status == "new"  # PLN's business: the router leaves it to review
    response = console.post(f"/admin/complaints/{power.ticket_code}/reject", {"reason": "other_body", "body": "PLN"})
    assert response.status_code == 302, response.text
    admin.stack.work()
    told = sms_to(twilio_standin, OTHER)[-1]
    assert told.endswith("Listrik adalah urusan PLN: telepon 123 atau aplikasi PLN Mobile.") and len(told) <= 160
    text_in(admin.stack, f"cek {power.ticket_code}", sender=OTHER)
    admin.stack.work()
    assert "Ditolak" in sms_to(twilio_standin, OTHER)[-1]
    assert sms_to(twilio_standin, OTHER)[-1].endswith("Listrik adalah urusan PLN: telepon 123 atau aplikasi PLN "
                                                      "Mobile.")
    response = console.post(f"/admin/complaints/{kept.ticket_code}/reject", {"reason": "other_body", "body": "XX"})
    assert response.status_code == 409

    spam = sms_complaint(admin.stack, "menang undian hubungi nomor ini", sender="+6281399999999")
    console.post(f"/admin/complaints/{spam.ticket_code}/reject", {"reason": "spam"})
    admin.stack.work()
    text_in(admin.stack, f"CEK {spam.ticket_code}", sender="+6281399999999")
    admin.stack.work()
    assert sms_to(twilio_standin, "+6281399999999")[-1].endswith(". Spam")  # the reason, even when silent


def test_control_characters_stripped_full_text_kept(admin: Admin, twilio_standin) -> None:  # noqa: ANN001
    typed = "lampu pju mati\x00 di jl\x07 danau \u202etoba\u202c\r\nsudah 3 hari"
    complaint = sms_complaint(admin.stack, typed)
    assert complaint.text == "lampu pju mati di jl danau toba\nsudah 3 hari"
    with admin.stack.runtime.db.session() as session:
        # kept whole, but for the NUL no PostgreSQL text column takes (U+FFFD stands for it, on both databases)
        assert session.get(InboundMessage, complaint.inbound_message_id).body == typed.replace("\x00", "\ufffd")
    long_word = "a" * 3000
    complaint = sms_complaint(admin.stack, f"lampu pju mati {long_word}", sender=OTHER)
    page = admin.as_user(SUPER).get(f"/admin/complaints/{complaint.ticket_code}").text
    assert long_word[:500] in page
    css = admin.stack.client.get("/admin/static/admin.css").text
    assert "body{overflow-wrap:anywhere}" in css
    assert "overflow-wrap:anywhere" in admin.stack.client.get(f"/tiket/{complaint.ticket_code}").text \
        or "overflow-wrap:anywhere" in admin.stack.client.get("/aduan").text


def test_outbox_rows_are_numbered_where_the_provider_does_not_join(admin: Admin, monkeypatch) -> None:  # noqa: ANN001
    from channels import registry
    from gateway.complaints.status import add_parts

    original = registry.spec_for
    monkeypatch.setattr(registry, "spec_for", lambda name: dataclasses.replace(original(name), concatenates_sms=False)
                        if name == "twilio" else original(name))
    runtime = admin.stack.runtime
    with runtime.db.session() as session:
        first = add_parts(session, runtime, dedupe_key="test:1", kind="status_update", channel="twilio", medium="sms",
                          recipient=CITIZEN, body="Tiket 1234 5678: Selesai. " + LONG_ANSWER[:250])
        session.commit()
        bodies = list(session.scalars(select(Outbox.body).where(Outbox.dedupe_key.like("test:1%"))
                                      .order_by(Outbox.id)))
        assert first.body == bodies[0] and [body[:6] for body in bodies] == ["(1/2) ", "(2/2) "]
