"""The public /transparansi page: the review backlog, plain sentences in working days, SVG charts without script,
Indonesian and English; and the home page at /."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta

import pytest

from gateway.complaints.figures import (
    Month,
    Share,
    monthly_figures,
    review_backlog,
    typical_days,
    working_days_taken,
)
from gateway.settings.deadlines import WorkingCalendar
from gateway.web.admin.charts import complaints_chart, deadline_chart
from gateway.web.admin.transparency import WORDS, age_text, share_sentence
from tests.gateway.complaints.test_figures import DAY, HOUR, NOW, _clock
from tests.gateway.conftest import Admin

CALENDAR = WorkingCalendar("Asia/Jakarta")
JAKARTA = timedelta(hours=7)


def _wib(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC) - JAKARTA  # a wall-clock time in Malang, as UTC


@pytest.mark.parametrize(("start", "end", "days"), [
    (_wib(2026, 11, 16, 10), _wib(2026, 11, 16, 11), 1),   # the same morning: within 1 working day
    (_wib(2026, 11, 16, 10), _wib(2026, 11, 17, 10), 1),   # Monday 10:00 to Tuesday 10:00
    (_wib(2026, 11, 16, 10), _wib(2026, 11, 17, 10, 1), 2),
    (_wib(2026, 11, 20, 10), _wib(2026, 11, 23, 9), 1),    # Friday to Monday: the weekend does not count
    (_wib(2026, 11, 21, 10), _wib(2026, 11, 23, 9), 1),    # filed on Saturday: counts from Monday 00:00
    (_wib(2026, 3, 13, 10), _wib(2026, 3, 31, 10), 7),     # Nyepi, Idul Fitri and cuti bersama between
], ids=["same day", "one day", "a minute over", "over a weekend", "filed on a Saturday", "over the holidays"])
def test_working_days_taken_count_like_the_deadlines(start: datetime, end: datetime, days: int) -> None:
    assert working_days_taken(CALENDAR, start, end) == days


@pytest.mark.parametrize(("hours", "language", "text"), [
    (None, "id", "belum ada data"), (0.5, "id", "kurang dari 1 jam"), (5.9, "id", "5 jam"), (50, "id", "2 hari"),
    (0.5, "en", "less than an hour"), (30, "en", "30 hours"), (24 * 3.5, "en", "3 days"), (24 * 1, "en", "24 hours"),
])
def test_ages_in_plain_words(hours: float | None, language: str, text: str) -> None:
    assert age_text(hours, WORDS[language]) == text


@pytest.mark.parametrize(("share", "language", "text"), [
    (Share(3, 4), "id", "3 dari 4 aduan selesai sebelum batas waktunya."),
    (Share(40, 50), "id", "Sekitar 8 dari 10 aduan selesai sebelum batas waktunya (40 dari 50)."),
    (Share(3, 4), "en", "3 of 4 complaints were resolved by their deadline."),
    (Share(0, 0), "id", None),
])
def test_shares_in_plain_words(share: Share, language: str, text: str | None) -> None:
    assert share_sentence("share", share, WORDS[language]) == text


# --- the figures, with fixed timestamps -----------------------------------------------------------------------


def test_months_count_complaints_and_the_share_within_deadline(admin: Admin) -> None:
    _clock(admin, "DISHUB", NOW - 10 * DAY, ack=2 * HOUR, resolved=48 * HOUR)   # November, on time
    _clock(admin, "DISHUB", NOW - 5 * DAY)                                       # November, open
    _clock(admin, "DISHUB", NOW - 40 * DAY, ack=30 * HOUR, resolved=12 * DAY)   # October, late (resolved Oct 23)
    _clock(admin, "DLH", NOW - 400 * DAY, ack=HOUR, resolved=HOUR)                # long before the 12 months
    with admin.stack.runtime.db.session() as session:
        monthly = monthly_figures(session, "Asia/Jakarta", 12, now=NOW, agency_codes=["DISHUB", "DLH"])
    dishub = monthly["DISHUB"]
    assert [m.month for m in dishub][-2:] == [date(2026, 10, 1), date(2026, 11, 1)]
    assert len(dishub) == 12 and dishub[0].month == date(2025, 12, 1)
    assert (dishub[-1].complaints, dishub[-1].within_deadline) == (2, Share(1, 1))
    assert (dishub[-2].complaints, dishub[-2].within_deadline) == (1, Share(0, 1))
    assert all(m.complaints == 0 and m.within_deadline.whole == 0 for m in monthly["DLH"])
    assert monthly[""][-1].complaints == 2


def test_typical_days_are_medians_in_working_days(admin: Admin) -> None:
    _clock(admin, "DISHUB", NOW - 10 * DAY, ack=2 * HOUR, resolved=48 * HOUR)
    _clock(admin, "DISHUB", NOW - 20 * DAY, ack=30 * HOUR, resolved=12 * DAY)
    _clock(admin, "DISHUB", NOW - 3 * DAY, ack=1 * HOUR, resolved=24 * HOUR)
    with admin.stack.runtime.db.session() as session:
        typical = typical_days(session, CALENDAR, 30, now=NOW, agency_codes=["DISHUB", "DLH"])
    assert typical["DISHUB"].acknowledge_days == 1
    assert typical["DISHUB"].resolve_days == 2  # Nov 10 (Tue) +2 days = Nov 12: 2 working days
    assert typical["DISHUB"].within_deadline == Share(2, 3)
    assert (typical["DLH"].acknowledge_days, typical["DLH"].resolve_days) == (None, None)


def test_the_review_backlog_counts_what_waits_and_since_when(admin: Admin) -> None:
    with admin.stack.runtime.db.session() as session:
        assert (review_backlog(session).count, review_backlog(session).oldest) == (0, None)
    admin.complaint("lampu mati", created_at=NOW - 3 * DAY)
    admin.complaint("sampah", created_at=NOW - 1 * DAY)
    admin.complaint("jalan", agency="DISHUB", created_at=NOW - 9 * DAY)  # at an agency: not waiting for review
    with admin.stack.runtime.db.session() as session:
        backlog = review_backlog(session)
    assert backlog.count == 2 and backlog.oldest_hours(NOW) == pytest.approx(72)


# --- the page ---------------------------------------------------------------------------------------------------


def test_the_page_speaks_plainly_in_indonesian_and_english(admin: Admin) -> None:
    complaint = admin.complaint("Jalan depan rumah Bu Sri Wahyuni no. 12 berlubang", agency="DISHUB",
                                phone="+6281298765432", address="Jl. Kawi 12")
    now = datetime.now(UTC)
    _clock(admin, "DISHUB", now - 3 * DAY, ack=2 * HOUR, resolved=3 * HOUR)
    admin.complaint("lampu mati", created_at=now - 50 * HOUR)  # these two wait in review
    admin.complaint("sampah menumpuk", created_at=now - 10 * HOUR)
    client = admin.stack.app.test_client()
    page = client.get("/transparansi")
    assert page.status_code == 200
    html = page.text
    assert '<html lang="id">' in html
    assert "2 aduan menunggu diperiksa sebelum diteruskan ke dinas. Yang paling lama sudah menunggu 2 hari." in html
    assert "Biasanya diterima dalam 1 hari kerja" in html and "1 dari 1 aduan selesai sebelum batas waktunya." in html
    assert 'data-agency="DISHUB"' in html and "Dinas Perhubungan" in html
    assert 'href="/transparansi?days=30&amp;lang=en"' in html
    for private in ("Sri Wahyuni", "+6281298765432", "81298765432", "Jl. Kawi", complaint.ticket_code, "@"):
        assert private not in html
    # No inline script, no event handler attributes, no style attributes (a strict CSP holds).
    assert "<script" not in html and not re.search(r"\son[a-z]+=", html) and "style=" not in html

    english = client.get("/transparansi?lang=en").text
    assert '<html lang="en">' in english
    assert "2 complaints are waiting to be checked before they go to an office. The oldest has waited 2 days." \
        in english
    assert "Usually acknowledged within 1 working day and resolved within 1 working day." in english
    assert "1 of 1 complaints were resolved by their deadline." in english
    assert "Bahasa Indonesia" in english
    assert '<html lang="en">' in client.get("/transparansi?days=7").text  # the choice is remembered
    charts = re.findall(r'<img src="([^"]+)"', english)
    assert "/transparansi/grafik/aduan/semua.svg?lang=en" in charts
    assert "/transparansi/grafik/tepat-waktu/DISHUB.svg?lang=en" in charts


@pytest.mark.parametrize("path", ["/transparansi/grafik/aduan/semua.svg", "/transparansi/grafik/tepat-waktu/semua.svg",
                                  "/transparansi/grafik/aduan/DISHUB.svg?lang=en",
                                  "/transparansi/grafik/tepat-waktu/DISHUB.svg", "/transparansi/grafik/aduan/DLH.svg"])
def test_charts_are_svg_images_without_script(admin: Admin, path: str) -> None:
    _clock(admin, "DISHUB", datetime.now(UTC) - 3 * DAY, ack=2 * HOUR, resolved=30 * HOUR)
    response = admin.stack.app.test_client().get(path)
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    _check_svg(response.text)


@pytest.mark.parametrize("path", ["/transparansi/grafik/aduan/NOPE.svg", "/transparansi/grafik/pie/DISHUB.svg"])
def test_unknown_charts_are_not_found(admin: Admin, path: str) -> None:
    assert admin.stack.app.test_client().get(path).status_code == 404


MONTHS = [Month(date(2026, n, 1), n % 5, Share(n % 3, 3 if n % 4 else 0)) for n in range(1, 13)]
EMPTY = [Month(date(2026, n, 1), 0, Share(0, 0)) for n in range(1, 13)]


@pytest.mark.parametrize(("draw", "months", "language", "label"), [
    (complaints_chart, MONTHS, "id", "Mei 26"), (complaints_chart, MONTHS, "en", "Apr 26"),
    (deadline_chart, MONTHS, "id", "100%"), (deadline_chart, EMPTY, "id", "Belum ada data"),
    (deadline_chart, EMPTY, "en", "No data yet"), (complaints_chart, EMPTY[:1], "id", "Jan 26"),
])
def test_chart_documents(draw, months: list[Month], language: str, label: str) -> None:  # noqa: ANN001
    svg = draw(months, language)
    _check_svg(svg)
    assert label in svg


def _check_svg(svg: str) -> None:
    root = ET.fromstring(svg)  # well-formed XML
    assert root.tag in ("svg", "{http://www.w3.org/2000/svg}svg")
    for element in root.iter():
        assert str(element.tag).rsplit("}", 1)[-1] not in ("script", "foreignObject")
        assert not [name for name in element.attrib if name.lower().startswith("on")]
        assert not any("javascript:" in value for value in element.attrib.values())
    assert "<script" not in svg


# --- the home page ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("query", "lang", "words"), [
    ("", "id", ["Kirim aduan", "Cek nomor tiket", "Seberapa cepat dinas menjawab", "English"]),
    ("?lang=en", "en", ["Send a complaint", "Check a ticket number", "How fast the offices answer",
                        "Bahasa Indonesia"]),
], ids=["indonesian", "english"])
def test_home_page_links_the_form_the_lookup_and_transparency(admin: Admin, query: str, lang: str,
                                                             words: list[str]) -> None:
    page = admin.stack.app.test_client().get(f"/{query}")
    assert page.status_code == 200
    assert f'<html lang="{lang}">' in page.text
    for word in words:
        assert word in page.text
    links = dict(re.findall(r'id="(home-[a-z]+)" href="([^"]+)"', page.text))
    assert links == {"home-form": f"/aduan?lang={lang}", "home-lookup": f"/tiket/?lang={lang}",
                     "home-transparency": f"/transparansi?lang={lang}"}
    assert "Not Found" not in page.text and "<script" not in page.text
