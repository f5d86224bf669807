"""The whole flow in Debian's Chromium against `sambat up` on PostgreSQL and Redis: an SMS comes in, the router is
not sure, the super-admin assigns it with one click on a laptop, the agency admin acknowledges and resolves it on a
phone, and the citizen gets each update by SMS at the Twilio stand-in. Users are made with `sambat users add`."""

from __future__ import annotations

import subprocess
from pathlib import Path
from urllib.parse import urlencode
from urllib.request import Request, urlopen

import pytest

from tests.channels.test_twilio import form
from tests.channels.twilio_payloads import SMS
from tests.conftest import twilio_signature
from tests.support.live import ARTIFACTS, SAMBAT, Up, clean_env

CITIZEN = "+6281234567890"
PASSWORD = "kata-sandi-konsol-2026"


def _add_user(live_app: Up, tmp_path: Path, email: str, *options: str) -> None:
    result = subprocess.run([SAMBAT, "users", "add", email, *options], cwd=tmp_path, capture_output=True, text=True,
                            env=clean_env(**live_app.env, SAMBAT_NEW_PASSWORD=PASSWORD), timeout=120)
    assert result.returncode == 0, result.stderr


def _text_in(live_app: Up, body: str) -> None:
    url = live_app.url("/webhooks/twilio/sms")
    params = form(SMS, Body=body, From=CITIZEN)
    request = Request(url, data=urlencode(params).encode(), method="POST",
                      headers={"X-Twilio-Signature": twilio_signature(url, params)})
    with urlopen(request, timeout=5) as response:
        assert response.status == 200


def _shot(page, name: str) -> None:  # noqa: ANN001
    """Keep a full-page screenshot in test-artifacts/ (pass or fail), to judge the pages by eye."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"console-{name}.png"), full_page=True)


def _login(page, live_app: Up, email: str) -> None:  # noqa: ANN001
    page.goto(live_app.url("/admin/"))
    assert "/admin/login" in page.url
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("#login")


@pytest.mark.slow
def test_sms_to_review_to_agency_to_citizen(live_app: Up, browser_page, chromium, twilio_standin,  # noqa: ANN001
                                            tmp_path: Path, request: pytest.FixtureRequest) -> None:
    _add_user(live_app, tmp_path, "kominfo@malangkota.go.id", "--role", "super-admin")
    _add_user(live_app, tmp_path, "pju@malangkota.go.id", "--role", "agency-admin", "--agency", "DISHUB")

    # 1. The citizen texts; the router is torn between DISHUB and DLH, so it waits for review.
    _text_in(live_app, "lampu jalan mati dan sampah menumpuk di dekat taman")
    [reply] = twilio_standin.wait_for_messages(1, timeout=20)
    assert "Sedang kami periksa" in reply["body"]
    code = reply["body"].split("Tiket ")[1][:9]
    digits = code.replace(" ", "")

    # 2. The super-admin, on a laptop, assigns it with one click on the router's first candidate. (The queue on a
    # phone first, for the screenshot.)
    phone = chromium.new_context(viewport={"width": 360, "height": 740}, locale="id-ID")
    try:
        phone_page = phone.new_page()
        _login(phone_page, live_app, "kominfo@malangkota.go.id")
        phone_page.wait_for_url("**/admin/review")
        _shot(phone_page, "phone-review")
        assert phone_page.evaluate("document.documentElement.scrollWidth") <= 360  # nothing wider than the phone
    finally:
        phone.close()
    laptop = chromium.new_context(viewport={"width": 1280, "height": 800}, locale="id-ID")
    admin_page = laptop.new_page()
    try:
        _login(admin_page, live_app, "kominfo@malangkota.go.id")
        admin_page.wait_for_url("**/admin/review")
        _shot(admin_page, "laptop-review")
        card = admin_page.locator(f"#complaint-{digits}")
        assert "lampu jalan" in card.inner_text() and "sampah" in card.inner_text()  # the matched terms
        card.locator("button.assign-one[data-agency=DISHUB]").click()
        admin_page.wait_for_url("**/admin/review*done=**")
        assert admin_page.inner_text("#done-list").endswith("diteruskan ke DISHUB")
        assert admin_page.locator(f"#complaint-{digits}").count() == 0
    except BaseException:
        ARTIFACTS.mkdir(exist_ok=True)
        admin_page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-laptop.png"), full_page=True)
        raise
    finally:
        laptop.close()
    assigned = twilio_standin.wait_for_messages(2, timeout=20)[-1]
    assert assigned["to"] == CITIZEN and assigned["body"] == f"Tiket {code}: Diteruskan ke dinas. Dinas Perhubungan"

    # 3. The agency admin, on a phone, finds it in the work queue, acknowledges it and resolves it.
    page = browser_page
    _login(page, live_app, "pju@malangkota.go.id")
    page.wait_for_url("**/admin/queue")
    _shot(page, "phone-queue")
    page.click(f"tr[data-ticket='{digits}'] a")
    assert page.inner_text("#status") == "Diteruskan ke dinas"
    _shot(page, "phone-complaint")
    page.click("#action-acknowledged")
    assert page.inner_text("#status") == "Diterima dinas"
    page.fill("#note", "Petugas dijadwalkan besok pagi.")
    page.fill("#note", "Perbaikan " * 30)  # issue 15: the counter says what the answer costs, up to 3 SMS
    assert page.inner_text("#note-count") == "299 karakter: 3 SMS (digabung di ponsel warga)."
    page.fill("#note", "Perbaikan " * 50)
    assert page.inner_text("#note-count").startswith("499 karakter: lebih dari 3 SMS")
    page.fill("#note", "Petugas dijadwalkan besok pagi.")
    assert page.inner_text("#note-count") == "31 karakter: 1 SMS."
    page.click("#action-in_progress")
    assert page.inner_text("#status") == "Sedang dikerjakan"
    page.click("#action-resolved")  # an empty answer: the browser asks for one, nothing is sent
    assert page.inner_text("#status") == "Sedang dikerjakan"
    page.fill("#note", "Lampu PJU sudah diganti, sampah diteruskan ke DLH.")
    page.click("#action-resolved")
    assert page.inner_text("#status") == "Selesai"
    _shot(page, "phone-resolved")
    page.goto(live_app.url("/admin/dashboard"))
    _shot(page, "phone-dashboard")

    # 4. The citizen heard of each step by SMS, each in one segment.
    updates = [message["body"] for message in twilio_standin.wait_for_messages(5, timeout=20)[2:]]
    assert updates == [f"Tiket {code}: Diterima dinas.",
                       f"Tiket {code}: Sedang dikerjakan. Petugas dijadwalkan besok pagi.",
                       f"Tiket {code}: Selesai. Lampu PJU sudah diganti, sampah diteruskan ke DLH."]
    assert all(len(body) <= 160 for body in updates)
    page.goto(live_app.url(f"/tiket/{digits}"))
    assert "Lampu PJU sudah diganti" in page.content()
    page.goto(live_app.url("/transparansi?days=7"))
    _shot(page, "phone-transparency")
    assert "Dinas Perhubungan" in page.inner_text("#figures")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
