"""The citizen's form (issue 15, point 8): the "gunakan lokasi saya" button (a static script, the form whole
without it), the privacy notice and /privasi in config.yaml's words, a rate-limited submission shown again with the
typed text kept, the city's SMS number wherever the pages say "kirim SMS", and the /tiket link in e-mail
confirmations. Both stacks where a complaint is filed."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pytest
from sqlalchemy import select

from gateway.app import create_app
from gateway.jobs.queue import EmbeddedQueue
from gateway.settings import ConfigError, load_settings
from gateway.settings.sections import DEFAULT_PRIVACY
from models import Complaint, Outbox
from tests.conftest import PUBLIC_URL, ROOT, Stack, _empty_tables, _stack, make_settings
from tests.gateway.web.form.test_form_submit import open_form, send
from tests.gateway.web.intake_support import csrf_token, web_stack_fixture  # noqa: F401
from tests.support.twilio_standin import TwilioStandIn

NUMBER = "0811 3600 123"


@pytest.fixture(params=["postgres", "sqlite"])
def numbered(request: pytest.FixtureRequest, twilio_standin: TwilioStandIn, tmp_path: Path):  # noqa: ANN201
    """A stack whose config names the city's SMS number."""
    url = request.getfixturevalue(f"{request.param}_url")
    built = _stack(request.param, url, twilio_standin, intake__media_dir=str(tmp_path),
                   public={"sms_number": NUMBER})
    yield built
    built.runtime.db.dispose()
    if request.param == "postgres":
        built.runtime.queue.connection.flushdb()
    _empty_tables(url)


def test_location_button_is_a_static_script_and_hidden_without_it(web_stack: Stack) -> None:
    page = web_stack.client.get("/aduan").text
    button = re.search(r'<button type="button" class="secondary" id="use-location" hidden[^>]*>', page)
    assert button, "the button is in the page, hidden until form.js shows it"
    assert 'data-denied="Izin lokasi ditolak.' in button.group(0)
    assert '<script src="/aduan/static/form.js" defer></script>' in page
    assert '<link rel="stylesheet" href="/aduan/static/form.css">' in page
    # Nothing the Content-Security-Policy would block: no inline script, no event handler, no style attribute.
    assert not re.search(r"<script(?![^>]*\bsrc=)", page) and not re.search(r"\son[a-z]+=", page)
    assert "style=" not in page.split("<body>", 1)[1]
    script = web_stack.client.get("/aduan/static/form.js")
    assert script.status_code == 200 and "getCurrentPosition" in script.text
    assert "[hidden]" in web_stack.client.get("/aduan/static/form.css").text
    # The coordinates stay plain fields: without JavaScript they are typed, and sent like any other.
    assert 'id="latitude" name="latitude"' in page and 'id="longitude" name="longitude"' in page


@pytest.mark.parametrize(("lang", "words"), [("id", DEFAULT_PRIVACY["id"]), ("en", DEFAULT_PRIVACY["en"])])
def test_privacy_notice_and_page(web_stack: Stack, lang: str, words: dict[str, str]) -> None:
    client = web_stack.client
    form = unescape(client.get(f"/aduan?lang={lang}").text)
    notice = form.split('id="privacy">', 1)[1].split("</p>", 1)[0]
    assert words["summary"] in notice and 'href="/privasi"' in notice
    assert "UU 27/2022" in notice
    page = unescape(client.get("/privasi").text)
    for paragraph in words["page"].split("\n\n"):
        assert f"<p>{paragraph}</p>" in page


def test_privacy_words_come_from_config_yaml(sqlite_url: str, tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    words = {"id": {"summary": "Ringkas kota.", "page": "Satu.\n\nDua."}}
    shipped = (ROOT / "config.yaml").read_text(encoding="utf-8")
    shipped = re.sub(r"^public:\n(?:(?:  .*)?\n)*?(?=\S)", "", shipped, flags=re.MULTILINE)
    config.write_text(shipped + "\npublic:\n  privacy:\n"
                      "    id: {summary: \"Ringkas kota.\", page: \"Satu.\\n\\nDua.\"}\n", encoding="utf-8")
    settings = load_settings(environ={"DATABASE_URL": sqlite_url, "SECRET_KEY": "x" * 40}, config_path=str(config))
    assert settings.public.privacy["id"] == words["id"]
    assert settings.public.privacy["en"] == DEFAULT_PRIVACY["en"]  # a language left out keeps Sambat's words
    app = create_app(settings, queue=EmbeddedQueue(), start_embedded=False)
    try:
        client = app.test_client()
        assert "Ringkas kota." in client.get("/aduan").text
        assert "<p>Satu.</p>\n<p>Dua.</p>" in client.get("/privasi").text
    finally:
        app.extensions["sambat"].db.dispose()


@pytest.mark.parametrize(("yaml_text", "message"), [
    ("public: {sms_number: call us}", "public.sms_number: not a phone number"),
    ("public: {privacy: {fr: {summary: a, page: b}}}", "public.privacy.fr: unknown language"),
    ("public: {privacy: {id: {summary: a}}}", "public.privacy.id.page: missing or empty"),
    ("public: {privacy: {id: {summary: a, page: b, footer: c}}}", "public.privacy.id.footer: unknown key"),
    ("admin: {undo_minutes: 600}", "admin.undo_minutes: must be a whole number from 0 to 60"),
    ("admin: {hold_without_users: perhaps}", "admin.hold_without_users"),
])
def test_bad_public_settings_name_the_key(tmp_path: Path, yaml_text: str, message: str) -> None:
    shipped = (ROOT / "config.yaml").read_text(encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text(shipped.replace("public:\n", "public_shipped:\n").replace("admin:\n", "admin_shipped:\n")
                      + "\n" + yaml_text + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_settings(environ={}, config_path=str(config))
    assert message in str(refused.value)


def test_a_rate_limited_submission_shows_the_form_with_the_text_kept(sqlite_url: str, tmp_path: Path) -> None:
    settings = make_settings(sqlite_url, intake__media_dir=str(tmp_path), intake__form_rate_limit="1 per minute")
    app = create_app(settings, queue=EmbeddedQueue(), start_embedded=False)
    try:
        client = app.test_client()
        token = csrf_token(client.get("/aduan").text)
        typed = {"csrf_token": token, "text": "", "address": "Jl. Kawi 12", "phone": "0812 3456 7890"}
        assert client.post("/aduan", data=typed).status_code == 422
        text = "Sampah menumpuk di TPS Jl. Kawi <sudah> seminggu"
        limited = client.post("/aduan", data={**typed, "text": text, "kelurahan": "bareng"})
        assert limited.status_code == 429
        page = unescape(limited.text)
        assert "Terlalu banyak pengiriman dari jaringan Anda. Isian Anda masih di bawah" in page
        assert f">{text}</textarea>" in page
        assert 'value="Jl. Kawi 12"' in page and 'value="0812 3456 7890"' in page
        assert '<option value="bareng" selected>' in page
        assert 'name="csrf_token"' in page  # sent again in a few minutes, it files the complaint
    finally:
        app.extensions["sambat"].db.dispose()
        _empty_tables(sqlite_url)


def test_the_sms_number_wherever_the_pages_say_kirim_sms(numbered: Stack) -> None:
    client, hidden = open_form(numbered)
    response = send(client, {**hidden, "text": "Jalan rusak berlubang depan SDN 3 Sawojajar",
                             "phone": "0812 3456 7890"})
    assert response.status_code == 303
    done = unescape(client.get("/aduan/terkirim").text)
    with numbered.runtime.db.session() as session:
        code = session.scalar(select(Complaint.ticket_code))
    assert f'<p id="check-sms">Atau kirim SMS ke {NUMBER}: CEK {code}</p>' in done
    ticket = unescape(client.get(f"/tiket/{code}").text)
    assert f"Atau kirim SMS ke {NUMBER}: CEK {code}" in ticket
    assert f"Or text CEK {code} to {NUMBER}" in unescape(client.get(f"/tiket/{code}?lang=en").text)
    assert f"SMS: {NUMBER}" in client.get("/privasi").text


def test_without_a_number_the_pages_say_it_without_one(web_stack: Stack) -> None:
    client, hidden = open_form(web_stack)
    send(client, {**hidden, "text": "Jalan rusak berlubang depan SDN 3 Sawojajar"})
    done = unescape(client.get("/aduan/terkirim").text)
    assert re.search(r'<p id="check-sms">Atau kirim SMS: CEK \d{8}</p>', done)


def test_email_confirmation_links_the_ticket_page(web_stack: Stack) -> None:
    client, hidden = open_form(web_stack)
    response = send(client, {**hidden, "text": "Jalan rusak berlubang depan SDN 3 Sawojajar",
                             "email": "warga@contoh.id"})
    assert response.status_code == 303
    with web_stack.runtime.db.session() as session:
        code = session.scalar(select(Complaint.ticket_code))
        [row] = session.scalars(select(Outbox).where(Outbox.medium == "email"))
        assert row.body.startswith(f"Aduan diterima. Tiket {code[:4]} {code[4:]}")
        assert row.body.endswith(f"\n\nStatus tiket / ticket status: {PUBLIC_URL}/tiket/{code}")
