"""The super-admin's review queue on both stacks: SMS in, unrouted, assigned with one click or many at once,
rejected with or without a reply, merged (every citizen follows the kept ticket), and bounced back by agencies."""

from __future__ import annotations

from html import unescape

import pytest
from sqlalchemy import select

from gateway.complaints.deadlines import open_assignment
from models import AuditEntry, Complaint, ComplaintMerge, Contact, StatusEvent
from models.complaint import ASSIGNED, MERGED, NEW, REJECTED
from models.tickets import format_ticket_code
from tests.gateway.conftest import CITIZEN, DISHUB, SUPER, Admin, sms_complaint, sms_to

UNROUTED = "halo ada masalah di depan rumah saya tolong dicek"
NEIGHBOUR, THIRD = "+6285655512345", "+6281311122233"


def _get(admin: Admin, complaint_id: int) -> Complaint:
    with admin.stack.runtime.db.session() as session:
        complaint = session.get(Complaint, complaint_id)
        complaint.contact  # noqa: B018 - load it before the session closes
        return complaint


def test_unrouted_sms_waits_in_the_queue_with_the_router_evidence(admin: Admin, twilio_standin) -> None:  # noqa: ANN001
    complaint = sms_complaint(admin.stack, "lampu jalan mati dan sampah menumpuk di dekat taman")
    assert complaint.status == NEW, complaint.routing
    page = admin.as_user(SUPER).get("/admin/review")
    assert page.status_code == 200
    assert format_ticket_code(complaint.ticket_code) in page.text
    for candidate in complaint.routing["candidates"][:2]:
        assert f'value="{complaint.id}|{candidate["agency"]}"' in page.text
        assert ", ".join(candidate["matched"]) in page.text


def test_one_click_assigns_notifies_clocks_and_audits(admin: Admin, twilio_standin) -> None:  # noqa: ANN001
    complaint = sms_complaint(admin.stack, UNROUTED)
    response = admin.as_user(SUPER).post("/admin/review", {"one": f"{complaint.id}|DISHUB"})
    assert response.status_code == 302
    admin.stack.work()
    assigned = _get(admin, complaint.id)
    assert (assigned.status, assigned.agency_code) == (ASSIGNED, "DISHUB")
    update = sms_to(twilio_standin, CITIZEN)[-1]
    assert update == f"Tiket {format_ticket_code(complaint.ticket_code)}: Diteruskan ke dinas. Dinas Perhubungan"
    with admin.stack.runtime.db.session() as session:
        event = session.scalars(select(StatusEvent).where(StatusEvent.complaint_id == complaint.id)
                                .order_by(StatusEvent.id.desc())).first()
        assert (event.actor, event.from_status, event.to_status) == (SUPER, NEW, ASSIGNED)
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "complaint.assign"))
        assert entry.actor == SUPER and entry.object_id == format_ticket_code(complaint.ticket_code)
        assert entry.before == {"status": "new", "agency": None}
        assert entry.after == {"status": "assigned", "agency": "DISHUB"}
        clock = open_assignment(session, complaint.id)
        assert clock.agency_code == "DISHUB" and clock.assigned_at == event.created_at
        assert clock.acknowledge_due > clock.assigned_at
    assert format_ticket_code(complaint.ticket_code) not in admin.as_user(SUPER).get("/admin/review").text


def test_many_at_once(admin: Admin, twilio_standin) -> None:  # noqa: ANN001
    first = sms_complaint(admin.stack, UNROUTED)
    second = sms_complaint(admin.stack, "tolong dibantu pak masalah di gang kami", NEIGHBOUR)
    response = admin.as_user(SUPER).post("/admin/review", {"ids": [str(first.id), str(second.id)],
                                                           "action": "assign", "agency": "DLH"})
    assert response.status_code == 302
    assert {_get(admin, first.id).agency_code, _get(admin, second.id).agency_code} == {"DLH"}


def test_not_a_complaint_gets_a_polite_reply_and_spam_gets_none(admin: Admin, twilio_standin) -> None:  # noqa: ANN001
    polite = sms_complaint(admin.stack, "selamat pagi pak, terima kasih banyak")
    spam = sms_complaint(admin.stack, "PROMO pinjaman cepat cair klik link", NEIGHBOUR)
    console = admin.as_user(SUPER)
    response = console.post(f"/admin/complaints/{polite.ticket_code}/reject", {"reason": "not_complaint"})
    assert response.status_code == 302
    assert console.post("/admin/review", {"ids": [str(spam.id)], "action": "reject:spam"}).status_code == 302
    admin.stack.work()
    assert _get(admin, polite.id).status == _get(admin, spam.id).status == REJECTED
    reply = sms_to(twilio_standin, CITIZEN)[-1]
    assert reply.startswith(f"Tiket {format_ticket_code(polite.ticket_code)}: Ditolak. Pesan Anda bukan aduan")
    assert len(reply) <= 160
    assert len(sms_to(twilio_standin, NEIGHBOUR)) == 1  # only the ticket reply; spam gets nothing more


def test_merged_citizens_all_get_the_kept_tickets_updates(admin: Admin, twilio_standin) -> None:  # noqa: ANN001
    kept = sms_complaint(admin.stack, "lampu pju mati di jl danau toba", CITIZEN)
    duplicate = sms_complaint(admin.stack, "pju danau toba mati sudah 3 hari", NEIGHBOUR)
    earlier = sms_complaint(admin.stack, "lampu jalan danau toba padam", THIRD)
    console = admin.as_user(SUPER)
    # THIRD was merged into the duplicate first; merging the duplicate into kept carries THIRD along.
    assert console.post(f"/admin/complaints/{earlier.ticket_code}/merge",
                        {"kept": format_ticket_code(duplicate.ticket_code)}).status_code == 302
    assert console.post(f"/admin/complaints/{duplicate.ticket_code}/merge",
                        {"kept": kept.ticket_code}).status_code == 302
    admin.stack.work()
    kept_code = format_ticket_code(kept.ticket_code)
    assert sms_to(twilio_standin, NEIGHBOUR)[-1].endswith(f"Digabung dengan tiket {kept_code}; kabar selanjutnya "
                                                          "lewat tiket itu.")
    assert f"tiket {kept_code}" in sms_to(twilio_standin, THIRD)[-1]
    with admin.stack.runtime.db.session() as session:
        links = {(link.merged_id, link.kept_id) for link in session.scalars(select(ComplaintMerge))}
        assert links == {(duplicate.id, kept.id), (earlier.id, kept.id)}
        assert session.get(Complaint, duplicate.id).status == MERGED
        session.get(Contact, earlier.contact_id).opted_out = True  # THIRD texted STOP meanwhile
        session.commit()
    agency = admin.as_user(DISHUB)
    assert agency.post(f"/admin/complaints/{kept.ticket_code}/status",
                       {"to": "resolved", "note": "PJU sudah diganti."}).status_code == 302
    admin.stack.work()
    resolved = f"Tiket {kept_code}: Selesai. PJU sudah diganti."
    assert sms_to(twilio_standin, CITIZEN)[-1] == resolved
    assert sms_to(twilio_standin, NEIGHBOUR)[-1] == resolved
    assert resolved not in sms_to(twilio_standin, THIRD)


def test_bounce_comes_back_to_review_with_the_reason_and_stays_private(admin: Admin, twilio_standin) -> None:  # noqa: ANN001
    complaint = sms_complaint(admin.stack, "lampu pju mati di jl danau toba")
    assert complaint.agency_code == "DISHUB"
    sent_before = len(sms_to(twilio_standin, CITIZEN))
    response = admin.as_user(DISHUB).post(f"/admin/complaints/{complaint.ticket_code}/bounce",
                                          {"reason": "Lampu taman milik DLH, bukan PJU."})
    assert response.status_code == 302 and response.location.endswith("/admin/queue")
    admin.stack.work()
    bounced = _get(admin, complaint.id)
    assert (bounced.status, bounced.agency_code) == (NEW, None)
    assert len(sms_to(twilio_standin, CITIZEN)) == sent_before  # internal: the citizen is not told
    queue = admin.as_user(SUPER).get("/admin/review").text
    assert "Dikembalikan oleh <b>DISHUB</b>" in queue and "Lampu taman milik DLH, bukan PJU." in queue
    assert "Lampu taman milik DLH" not in admin.stack.client.get(f"/tiket/{complaint.ticket_code}").text
    with admin.stack.runtime.db.session() as session:
        assert open_assignment(session, complaint.id) is None
    # The agency no longer sees it.
    assert admin.as_user(DISHUB).get(f"/admin/complaints/{complaint.ticket_code}").status_code == 404


def test_counters_show_the_queue_growing_and_shrinking(admin: Admin, twilio_standin) -> None:  # noqa: ANN001
    first = sms_complaint(admin.stack, UNROUTED)
    sms_complaint(admin.stack, "tolong dibantu pak masalah di gang kami", NEIGHBOUR)
    admin.as_user(SUPER).post("/admin/review", {"one": f"{first.id}|DLH"})
    from gateway.web.admin.review import queue_counters

    with admin.stack.app.app_context(), admin.stack.runtime.db.session() as session:
        counters = queue_counters(session)
    assert counters["size"] == 1
    assert (counters["per_day"][-1].came_in, counters["per_day"][-1].went_out) == (2, 1)


def test_refused_actions_change_nothing(admin: Admin, twilio_standin) -> None:  # noqa: ANN001
    complaint = sms_complaint(admin.stack, UNROUTED)
    console = admin.as_user(SUPER)
    response = console.post("/admin/review", {"ids": [str(complaint.id)], "action": "merge", "kept": "1234 5670"})
    assert response.status_code == 400 and "Tiket tujuan penggabungan tidak ditemukan" in response.text
    response = console.post("/admin/review", {"one": f"{complaint.id}|PLN"})
    assert response.status_code == 409 and "Dinas 'PLN' tidak dikenal" in unescape(response.text)
    response = console.post("/admin/review", {"ids": ["999999"], "action": "assign", "agency": "DLH"})
    assert response.status_code == 404
    response = console.post(f"/admin/complaints/{complaint.ticket_code}/merge", {"kept": complaint.ticket_code})
    assert response.status_code == 409 and "dirinya sendiri" in response.text
    response = console.client.post("/admin/review", data={"one": f"{complaint.id}|DLH"})  # no CSRF token
    assert response.status_code == 400 and "Token formulir tidak sah" in response.text
    assert _get(admin, complaint.id).status == NEW


# --- the router's evidence, whichever way the complaint came in ---------------------------------------------

TORN = "lampu jalan mati dan sampah menumpuk di dekat taman"  # DISHUB by "lampu jalan", DLH by "sampah": a tie


def _by_form(admin: Admin) -> None:
    from tests.gateway.web.form.test_form_submit import open_form, send

    client, hidden = open_form(admin.stack)
    assert send(client, {**hidden, "text": TORN, "phone": "081311122233"}).status_code == 303


def _by_api(admin: Admin) -> None:
    from tests.gateway.web.intake_support import new_api_key

    response = admin.stack.client.post("/api/v1/complaints", json={"text": TORN, "email": "warga@example.id"},
                                       headers={"X-API-Key": new_api_key(admin.stack)})
    assert response.status_code == 201, response.text


def _by_email(admin: Admin) -> None:
    from email.message import EmailMessage

    from gateway.jobs.mail import accept_mail

    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "Warga <warga.mail@example.id>", "aduan@malangkota.go.id", "Aduan"
    mail["Message-ID"] = "<torn-1@example.id>"
    mail.set_content(TORN + "\n")
    accept_mail(admin.stack.runtime, bytes(mail), "warga.mail@example.id")
    admin.stack.work()


def _by_sms(admin: Admin) -> None:
    sms_complaint(admin.stack, TORN)


@pytest.mark.parametrize(("channel", "file_it"), [("twilio", _by_sms), ("web", _by_form), ("api", _by_api),
                                                  ("email", _by_email)])
def test_review_queue_shows_candidates_and_matched_terms_for_every_channel(admin: Admin, twilio_standin,  # noqa: ANN001
                                                                           channel: str, file_it) -> None:  # noqa: ANN001
    file_it(admin)
    with admin.stack.runtime.db.session() as session:
        complaint = session.scalars(select(Complaint).order_by(Complaint.id.desc())).first()
    assert (complaint.channel, complaint.status) == (channel, NEW)
    page = admin.as_user(SUPER).get("/admin/review").text
    card = page[page.index(f'id="complaint-{complaint.ticket_code}"'):]
    card = card[:card.index("</div>\n</div>") if "</div>\n</div>" in card else None]
    for agency, term in (("DISHUB", "lampu jalan"), ("DLH", "sampah")):
        assert f'value="{complaint.id}|{agency}"' in card, (channel, agency)
        assert f"skor 3.0: {term}" in card, (channel, term)
    assert "· " + {"twilio": "SMS", "web": "formulir web", "api": "aplikasi", "email": "e-mail"}[channel] in card


def test_replies_to_rejected_messages_follow_the_config(admin: Admin, twilio_standin) -> None:  # noqa: ANN001
    """The city may turn it round: a short warning to spammers, nothing for messages that are not complaints."""
    runtime = admin.stack.runtime
    runtime.settings = runtime.settings.with_overrides(admin={"reject_replies": {
        "not_complaint": None,
        "spam": {"id": "Pesan promosi tidak dilayani di nomor ini.", "en": "Advertising is not served here."}}})
    polite = sms_complaint(admin.stack, "selamat pagi pak, terima kasih banyak")
    spam = sms_complaint(admin.stack, "PROMO pinjaman cepat cair klik link", NEIGHBOUR)
    console = admin.as_user(SUPER)
    assert console.post("/admin/review", {"ids": [str(polite.id)], "action": "reject:not_complaint"}).status_code == 302
    assert console.post(f"/admin/complaints/{spam.ticket_code}/reject", {"reason": "spam"}).status_code == 302
    admin.stack.work()
    assert len(sms_to(twilio_standin, CITIZEN)) == 1  # the ticket reply only
    assert sms_to(twilio_standin, NEIGHBOUR)[-1] == (f"Tiket {format_ticket_code(spam.ticket_code)}: Ditolak. "
                                                     "Pesan promosi tidak dilayani di nomor ini.")
    with admin.stack.runtime.db.session() as session:
        entries = {entry.action: entry.after["reply_sent"] for entry in session.scalars(
            select(AuditEntry).where(AuditEntry.action.like("complaint.reject.%")))}
    assert entries == {"complaint.reject.not_complaint": False, "complaint.reject.spam": True}


def test_an_email_citizen_gets_the_polite_reply_by_email(admin: Admin, twilio_standin) -> None:  # noqa: ANN001
    from email.message import EmailMessage

    from gateway.jobs.mail import accept_mail
    from models import Outbox

    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "warga.mail@example.id", "aduan@malangkota.go.id", "Terima kasih"
    mail["Message-ID"] = "<thanks-1@example.id>"
    mail.set_content("Terima kasih atas bantuannya kemarin pak.\n")
    accept_mail(admin.stack.runtime, bytes(mail), "warga.mail@example.id")
    admin.stack.work()
    with admin.stack.runtime.db.session() as session:
        complaint = session.scalar(select(Complaint))
    assert complaint.status == NEW
    admin.as_user(SUPER).post(f"/admin/complaints/{complaint.ticket_code}/reject", {"reason": "not_complaint"})
    with admin.stack.runtime.db.session() as session:
        reply = session.scalars(select(Outbox).order_by(Outbox.id.desc())).first()
    assert (reply.channel, reply.recipient, reply.kind) == ("email", "warga.mail@example.id", "status_update")
    assert reply.body.endswith("Ditolak. Pesan Anda bukan aduan untuk Pemkot, jadi tidak kami teruskan. Info: ketik "
                               "BANTUAN.")
    assert reply.in_reply_to == "<thanks-1@example.id>"


def test_review_queue_says_when_it_may_not_be_the_citys(admin: Admin, twilio_standin) -> None:  # noqa: ANN001
    complaint = sms_complaint(admin.stack, "ada pohon tumbang di gang, sudah lapor pln belum datang")
    assert complaint.status == NEW
    assert complaint.routing["out_of_scope"] == ["pln"]
    page = admin.as_user(SUPER).get("/admin/review").text
    card = page[page.index(f'id="complaint-{complaint.ticket_code}"'):]
    assert "Mungkin bukan urusan pemkot: pln" in card
    assert f'value="{complaint.id}|BPBD"' in card  # the agency is still offered with one click
