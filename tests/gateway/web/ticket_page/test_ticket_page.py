"""GET /tiket/<code>: status, agency, dates and public answers; never personal data; help for a wrong code."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from stdnum import damm

from gateway.complaints.status import change_status
from models import Complaint
from tests.conftest import Stack
from tests.gateway.web.form.test_form_submit import open_form, send
from tests.gateway.web.intake_support import web_stack_fixture  # noqa: F401


def file_one(stack: Stack) -> str:
    client, hidden = open_form(stack)
    send(client, {**hidden, "text": "Sampah menumpuk di TPS Jl. Kawi, rumah saya no 12", "kelurahan": "kauman",
                  "address": "Jl. Kawi 12", "latitude": "-7.97", "longitude": "112.62", "name": "Siti Rahayu",
                  "phone": "081234567890", "email": "siti@example.id"})
    with stack.runtime.db.session() as session:
        return session.scalar(select(Complaint.ticket_code))


def test_ticket_page_shows_status_agency_dates_and_public_answers_only(web_stack: Stack) -> None:
    code = file_one(web_stack)
    with web_stack.runtime.db.session() as session:
        complaint = session.scalar(select(Complaint))
        change_status(session, web_stack.runtime, complaint, "in_progress", actor="admin@dlh.malangkota.go.id",
                      note="Truk sampah dijadwalkan besok pagi.")
        session.commit()
    response = web_stack.client.get(f"/tiket/{code}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f'id="ticket-code">{code[:4]} {code[4:]}</p>' in html
    assert '<dd id="status">Sedang dikerjakan</dd>' in html and "Dinas Lingkungan Hidup" in html
    assert "Truk sampah dijadwalkan besok pagi." in html and "Kauman, Kec. Klojen" in html
    for private in ("Siti", "Rahayu", "081234567890", "+6281234567890", "siti@example.id", "Jl. Kawi",
                    "rumah saya", "-7.97", "112.62", "admin@dlh", "confidence", "router"):
        assert private not in html, private


def test_ticket_page_in_english_and_with_spaces_in_the_code(web_stack: Stack) -> None:
    code = file_one(web_stack)
    client = web_stack.client
    response = client.get(f"/tiket/{code[:4]}-{code[4:]}?lang=en")
    assert response.status_code == 301 and response.headers["Location"].endswith(f"/tiket/{code}")
    html = client.get(f"/tiket/{code}").get_data(as_text=True)
    assert 'lang="en"' in html and "Sent to the agency" in html
    assert web_stack.client.get(f"/tiket?kode={code[:4]}+{code[4:]}").headers["Location"].endswith(f"/tiket/{code}")


def swapped(code: str) -> str:
    for index in range(7):
        candidate = code[:index] + code[index + 1] + code[index] + code[index + 2:]
        if candidate != code:
            return candidate
    raise AssertionError(code)


@pytest.mark.parametrize("mistake", ["one wrong digit", "neighbours swapped"])
def test_mistyped_code_gets_the_same_check_digit_help_as_sms(web_stack: Stack, mistake: str) -> None:
    code = file_one(web_stack)
    wrong = swapped(code) if mistake == "neighbours swapped" else code[:3] + str((int(code[3]) + 1) % 10) + code[4:]
    assert not damm.is_valid(wrong)
    response = web_stack.client.get(f"/tiket/{wrong}")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    sms_text = f"Tiket tidak ditemukan, periksa nomornya. {wrong} tampaknya salah ketik"
    assert sms_text in html and "angka pemeriksa" in html and 'name="kode"' in html


def test_unknown_and_malformed_codes_get_a_friendly_page(web_stack: Stack) -> None:
    unknown = "1234567" + damm.calc_check_digit("1234567")
    html = web_stack.client.get(f"/tiket/{unknown}").get_data(as_text=True)
    assert "Kode tiket 8 angka" in html
    response = web_stack.client.get("/tiket/halo<script>")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "bukan nomor tiket" in html and "<script>" not in html.split("<main>")[1]
