"""The form in Debian's Chromium (Playwright) against `sambat up` on PostgreSQL and Redis, on a small phone's
screen: a submission, errors next to their fields, a photo upload, and the whole form with JavaScript off.
A failing test leaves a screenshot in test-artifacts/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.gateway.web.intake_support import assert_clean, photo
from tests.support.live import ARTIFACTS, Up

CITIZEN = "+6281234567890"


@pytest.fixture
def no_js_page(chromium, request: pytest.FixtureRequest) -> Iterator:  # noqa: ANN001
    """A cheap phone's browser with JavaScript turned off; a screenshot when the test fails."""
    context = chromium.new_context(viewport={"width": 320, "height": 640}, locale="id-ID", java_script_enabled=False)
    page = context.new_page()
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.mark.slow
def test_citizen_files_a_complaint_and_sees_the_ticket(live_app: Up, browser_page, twilio_standin) -> None:  # noqa: ANN001
    page = browser_page
    page.goto(live_app.url("/aduan"))
    page.fill("#text", "Lampu PJU mati di Jl. Danau Toba sudah tiga malam")
    page.select_option("#kelurahan", "sawojajar")
    page.fill("#address", "Jl. Danau Toba depan SDN 3")
    page.fill("#phone", "0812 3456 7890")
    page.click("button[type=submit]")
    page.wait_for_url("**/aduan/terkirim")
    code = page.inner_text("#ticket-code")
    assert len(code) == 9 and code[4] == " "
    font_size = page.eval_on_selector("#ticket-code", "e => parseFloat(getComputedStyle(e).fontSize)")
    assert font_size >= 32  # large and clear on a 360 px screen
    assert "Dinas Perhubungan" in page.content()
    [sms] = twilio_standin.wait_for_messages(1, timeout=20)
    assert sms["to"] == CITIZEN and code in sms["body"]
    page.click("text=Lihat status tiket")
    assert page.inner_text("#status") == "Diteruskan ke dinas"


@pytest.mark.slow
def test_errors_show_next_to_fields_with_the_text_kept_javascript_off(live_app: Up, no_js_page) -> None:  # noqa: ANN001
    page = no_js_page
    page.goto(live_app.url("/aduan?lang=en"))
    assert not page.locator("#use-location").is_visible()  # no JavaScript: no button, the fields are typed
    page.fill("#text", "Sampah menumpuk di TPS Jl. Kawi")
    page.fill("#phone", "12345")
    page.fill("#email", "not-an-email")
    page.click("button[type=submit]")
    assert page.inner_text("#phone-error").startswith("Not a valid mobile number")
    assert page.inner_text("#email-error").startswith("Not a valid e-mail address")
    assert page.input_value("#text") == "Sampah menumpuk di TPS Jl. Kawi"
    assert page.input_value("#phone") == "12345"
    # The error sits right under its field on the page: both measured at once, once the page (its CSS) has loaded,
    # so a scroll or a late style between two measurements cannot move one of them.
    page.wait_for_load_state("load")
    gap = page.evaluate("""() => {
        const field = document.querySelector('#phone').getBoundingClientRect();
        return document.querySelector('#phone-error').getBoundingClientRect().top - field.bottom;
    }""")
    assert 0 <= gap < 40
    page.fill("#phone", "0812 3456 7890")
    page.fill("#email", "")
    page.click("button[type=submit]")
    assert page.inner_text("#ticket-code")


@pytest.mark.slow
def test_photo_upload_is_stored_without_location(live_app: Up, browser_page, postgres_url: str,  # noqa: ANN001
                                                 tmp_path: Path) -> None:
    picture = tmp_path / "IMG_20261123_081500.jpg"
    picture.write_bytes(photo("JPEG", size=(640, 480)))
    page = browser_page
    page.goto(live_app.url("/aduan"))
    page.fill("#text", "Pohon tumbang menutup jalan di Jl. Ijen")
    page.set_input_files("#photos", [str(picture)])
    page.click("button[type=submit]")
    page.wait_for_url("**/aduan/terkirim")
    code = page.inner_text("#ticket-code").replace(" ", "")
    engine = create_engine(postgres_url)
    with engine.connect() as connection:
        [(path, original)] = connection.execute(text(
            "SELECT a.path, a.original_type FROM attachments a JOIN complaints c ON c.id = a.complaint_id "
            "WHERE c.ticket_code = :code"), {"code": code}).all()
    engine.dispose()
    assert original == "JPEG"
    stored = live_app.log.parent / "instance" / "media" / path
    assert assert_clean(stored).size == (480, 640)  # upright, pixels only
    page.goto(live_app.url(f"/tiket/{code}"))
    assert "Foto terlampir: 1" in page.content() and "IMG_2026" not in page.content()


@pytest.mark.slow
def test_location_button_fills_the_coordinates(live_app: Up, chromium, postgres_url: str,  # noqa: ANN001
                                               request: pytest.FixtureRequest) -> None:
    """The browser allows its location: one tap fills latitude and longitude, and the complaint keeps them."""
    context = chromium.new_context(viewport={"width": 360, "height": 740}, locale="id-ID",
                                   geolocation={"latitude": -7.9666, "longitude": 112.6326, "accuracy": 10},
                                   permissions=["geolocation"])
    page = context.new_page()
    try:
        page.goto(live_app.url("/aduan"))
        button = page.locator("#use-location")
        assert button.is_visible() and button.inner_text() == "Gunakan lokasi saya"
        button.click()
        page.wait_for_function("document.getElementById('latitude').value !== ''")
        assert (page.input_value("#latitude"), page.input_value("#longitude")) == ("-7.966600", "112.632600")
        assert page.inner_text("#location-status").startswith("Koordinat terisi")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "form-location.png"), full_page=True)
        page.fill("#text", "Genangan air setinggi lutut di depan rumah kami")
        page.click("button[type=submit]")
        page.wait_for_url("**/aduan/terkirim")
        code = page.inner_text("#ticket-code").replace(" ", "")
        engine = create_engine(postgres_url)
        with engine.connect() as connection:
            [(latitude, longitude)] = connection.execute(text(
                "SELECT latitude, longitude FROM complaints WHERE ticket_code = :code"), {"code": code}).all()
        engine.dispose()
        assert (latitude, longitude) == (-7.9666, 112.6326)
    except Exception:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
        raise
    finally:
        context.close()


@pytest.mark.slow
def test_location_refused_says_so_and_the_form_still_works(live_app: Up, chromium) -> None:  # noqa: ANN001
    context = chromium.new_context(viewport={"width": 360, "height": 740}, locale="id-ID")  # no permission given
    page = context.new_page()
    try:
        page.goto(live_app.url("/aduan"))
        page.click("#use-location")
        page.wait_for_function("document.getElementById('location-status').textContent.startsWith('Izin')")
        assert page.input_value("#latitude") == "" and page.input_value("#longitude") == ""
        page.fill("#text", "Genangan air setinggi lutut di depan rumah kami")
        page.click("button[type=submit]")
        page.wait_for_url("**/aduan/terkirim")
    finally:
        context.close()
