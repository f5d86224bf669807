"""The super-admin manages agencies in the console on both stacks: adds one config.yaml does not list, renames,
deactivates (the router's choice of it then waits for review) and reactivates, hands one back to config.yaml; a
restart keeps the console's changes; every change is in the audit log with before and after."""

from __future__ import annotations

from html import unescape

from sqlalchemy import select

from gateway.runtime import sync_agencies
from models import Agency, AuditEntry, Complaint
from models.complaint import ASSIGNED, NEW
from tests.gateway.conftest import PASSWORD, SUPER, Admin, Console, sms_complaint

GARBAGE = "sampah menumpuk di pinggir jalan belum diangkut"  # the router sends this to DLH


def _agency(admin: Admin, code: str) -> Agency | None:
    with admin.stack.runtime.db.session() as session:
        return session.get(Agency, code)


def _audit(admin: Admin, code: str) -> list[tuple[str, dict | None, dict | None]]:
    with admin.stack.runtime.db.session() as session:
        return [(entry.action, entry.before, entry.after) for entry in session.scalars(
            select(AuditEntry).where(AuditEntry.object_type == "agency", AuditEntry.object_id == code)
            .order_by(AuditEntry.id))]


def test_add_an_agency_and_send_it_complaints(admin: Admin, twilio_standin) -> None:  # noqa: ANN001
    console = admin.as_user(SUPER)
    response = console.post("/admin/agencies", {"code": "pln", "name": "  PLN  UP3 Malang "})
    assert response.status_code == 302
    pln = _agency(admin, "PLN")
    assert (pln.name, pln.active, pln.source) == ("PLN UP3 Malang", True, "console")
    assert _audit(admin, "PLN") == [("agency.create", None, {"code": "PLN", "name": "PLN UP3 Malang",
                                                              "active": True, "source": "console"})]
    with admin.stack.runtime.db.session() as session:
        assert session.scalar(select(AuditEntry.actor).where(AuditEntry.action == "agency.create")) == SUPER
    page = console.get("/admin/agencies").text
    assert 'data-agency="PLN"' in page and "tanpa kata kunci router" in page
    # It is offered in the review queue, takes complaints, and can have its own admin.
    complaint = sms_complaint(admin.stack, "token listrik rumah saya tidak bisa diisi")
    assert complaint.status == NEW
    assert 'value="PLN"' in console.get("/admin/review").text
    assert console.post("/admin/review", {"ids": [str(complaint.id)], "action": "assign",
                                          "agency": "PLN"}).status_code == 302
    assert console.post("/admin/users", {"email": "pln@malangkota.go.id", "role": "agency-admin", "agency": "PLN",
                                         "password": PASSWORD}).status_code == 302
    pln_admin = admin.as_user("pln@malangkota.go.id")
    assert complaint.ticket_code in pln_admin.get("/admin/queue").text
    # A restart (agencies synced with config.yaml, which does not list PLN) keeps it.
    sync_agencies(admin.stack.runtime)
    assert _agency(admin, "PLN").active


def test_bad_agencies_are_refused_with_the_reason(admin: Admin) -> None:
    console = admin.as_user(SUPER)
    for form, message in (({"code": "1PLN", "name": "x"}, "Kode dinas &#39;1PLN&#39; tidak sah"),
                          ({"code": "PL N", "name": "x"}, "tidak sah"),
                          ({"code": "DLH", "name": "Dinas Lain"}, "Kode DLH sudah dipakai."),
                          ({"code": "PLN", "name": "   "}, "Nama dinas wajib diisi."),
                          ({"code": "PLN", "name": "x" * 201}, "Nama dinas terlalu panjang: 201 karakter")):
        response = console.post("/admin/agencies", form)
        assert response.status_code == 422 and message in response.text, (form, response.text[:300])
        assert f'value="{form["code"].strip().upper()}"' in response.text  # what was typed is kept
    assert _agency(admin, "PLN") is None
    assert console.post("/admin/agencies/NOPE", {"name": "x"}).status_code == 404
    assert console.post("/admin/agencies/DLH", {"name": ""}).status_code == 409
    assert _audit(admin, "DLH") == []


def test_rename_survives_a_restart_until_handed_back_to_config(admin: Admin) -> None:
    console = admin.as_user(SUPER)
    assert console.post("/admin/agencies/DISHUB", {"name": "Dinas Perhubungan Kota Malang"}).status_code == 302
    sync_agencies(admin.stack.runtime)  # a restart: config.yaml still says "Dinas Perhubungan"
    dishub = _agency(admin, "DISHUB")
    assert (dishub.name, dishub.source) == ("Dinas Perhubungan Kota Malang", "console")
    assert "kembalikan ke config" in console.get("/admin/agencies").text.lower()
    assert console.post("/admin/agencies/DISHUB", {"action": "config"}).status_code == 302
    dishub = _agency(admin, "DISHUB")
    assert (dishub.name, dishub.active, dishub.source) == ("Dinas Perhubungan", True, "config")
    assert [(action, before["name"], after["name"], after["source"]) for action, before, after in
            _audit(admin, "DISHUB")] == [
        ("agency.update", "Dinas Perhubungan", "Dinas Perhubungan Kota Malang", "console"),
        ("agency.config", "Dinas Perhubungan Kota Malang", "Dinas Perhubungan", "config")]
    # A console-only agency has nothing in config to go back to.
    console.post("/admin/agencies", {"code": "PLN", "name": "PLN"})
    response = console.post("/admin/agencies/PLN", {"action": "config"})
    assert response.status_code == 409 and "tidak ada di config.yaml" in response.text


def test_deactivated_agency_gets_nothing_new_until_reactivated(admin: Admin, twilio_standin) -> None:  # noqa: ANN001
    console = admin.as_user(SUPER)
    routed = sms_complaint(admin.stack, GARBAGE)
    assert (routed.status, routed.agency_code) == (ASSIGNED, "DLH")
    # Not while it holds open complaints: they would be stranded.
    response = console.post("/admin/agencies/DLH", {"active": "0"})
    assert response.status_code == 409 and "masih memegang 1 aduan terbuka" in unescape(response.text)
    assert _agency(admin, "DLH").active
    assert console.post(f"/admin/complaints/{routed.ticket_code}/assign", {"agency": "DPUPRPKP"}).status_code == 302
    assert console.post("/admin/agencies/DLH", {"active": "0"}).status_code == 302
    dlh = _agency(admin, "DLH")
    assert (dlh.active, dlh.source) == (False, "console")
    assert _audit(admin, "DLH")[-1][0] == "agency.deactivate"
    sync_agencies(admin.stack.runtime)  # a restart does not bring it back
    assert not _agency(admin, "DLH").active

    # The router still names DLH, but a person decides: the complaint waits in review; DLH is not offered.
    waiting = sms_complaint(admin.stack, GARBAGE)
    assert (waiting.status, waiting.agency_code) == (NEW, None)
    assert waiting.routing["agency"] == "DLH"
    review = console.get("/admin/review").text
    assert waiting.ticket_code in review and 'data-agency="DLH"' not in review
    response = console.post("/admin/review", {"one": f"{waiting.id}|DLH"})
    assert response.status_code == 409 and "Dinas &#39;DLH&#39; tidak dikenal" in response.text
    response = console.post("/admin/users", {"email": "dlh2@malangkota.go.id", "role": "agency-admin",
                                             "agency": "DLH", "password": "panjang-sekali-99"})
    assert response.status_code == 422

    assert console.post("/admin/agencies/DLH", {"active": "1"}).status_code == 302
    assert _audit(admin, "DLH")[-1][0] == "agency.activate"
    again = sms_complaint(admin.stack, GARBAGE)
    assert (again.status, again.agency_code) == (ASSIGNED, "DLH")


def test_only_the_super_admin_manages_agencies(admin: Admin) -> None:
    from tests.gateway.conftest import DISHUB, VIEWER

    for email in (DISHUB, VIEWER):
        console = admin.as_user(email)
        assert console.post("/admin/agencies", {"code": "PLN", "name": "PLN"}).status_code == 403
        assert console.post("/admin/agencies/DLH", {"active": "0"}).status_code == 403
    assert Console(admin.stack.app.test_client()).post("/admin/agencies/DLH", {"active": "0"}).status_code == 302
    assert _agency(admin, "DLH").active and _agency(admin, "PLN") is None
    with admin.stack.runtime.db.session() as session:
        assert session.scalar(select(Complaint.id)) is None
