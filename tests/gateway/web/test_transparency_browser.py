"""/transparansi in Chromium, on a 360 px phone and a 1366 px laptop: no sideways scrolling, the charts drawn.

Screenshots are kept under the test's tmp dir (transparansi-360.png, transparansi-1366.png, and English).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from gateway.complaints.intake import unused_ticket_code
from models import Assignment, Complaint, Database, StatusEvent
from models.complaint import ASSIGNED, NEW
from tests.support.live import Up

DAY = timedelta(days=1)


def _fill(url: str) -> None:
    """A year of complaints at three agencies, some late, and two waiting in review."""
    now = datetime.now(UTC)
    database = Database(url)
    with database.session() as session:
        for agency, count in (("DISHUB", 30), ("DLH", 14), ("DPUPRPKP", 6)):
            for n in range(count):
                assigned = now - (n * 11 + 2) * DAY
                complaint = Complaint(ticket_code=unused_ticket_code(session), text="uji", channel="twilio",
                                      medium="sms", agency_code=agency, status=ASSIGNED, created_at=assigned)
                session.add(complaint)
                session.flush()
                event = StatusEvent(complaint_id=complaint.id, kind="status", from_status=NEW, to_status=ASSIGNED,
                                    agency_code=agency, actor="router", note="uji")
                session.add(event)
                session.flush()
                resolved = assigned + (2 + n % 9) * DAY if n % 5 else None
                session.add(Assignment(
                    complaint_id=complaint.id, event_id=event.id, agency_code=agency, assigned_at=assigned,
                    acknowledge_due=assigned + DAY, respond_due=assigned + 3 * DAY, resolve_due=assigned + 9 * DAY,
                    acknowledged_at=assigned + timedelta(hours=5 + n), resolved_at=resolved,
                    ended_at=resolved, outcome="resolved" if resolved else None))
        for hours in (50, 3):
            session.add(Complaint(ticket_code=unused_ticket_code(session), text="uji", channel="twilio", medium="sms",
                                  status=NEW, created_at=now - timedelta(hours=hours)))
        session.commit()
        assert session.scalar(select(Assignment.id).limit(1)) is not None
    database.engine.dispose()


def _charts_drawn(page) -> int:  # noqa: ANN001 - a playwright Page
    """Scroll through the page (lazy images load) and count the charts the browser decoded."""
    height = page.evaluate("document.documentElement.scrollHeight")
    for y in range(0, height + 800, 600):
        page.evaluate(f"window.scrollTo(0, {y})")
        page.wait_for_timeout(60)
    page.wait_for_function("Array.from(document.querySelectorAll('img[data-chart]'))"
                           ".every(i => i.complete)", timeout=15000)
    return page.evaluate("Array.from(document.querySelectorAll('img[data-chart]'))"
                         ".filter(i => i.naturalWidth > 0 && i.getBoundingClientRect().width > 0).length")


@pytest.mark.slow
def test_transparency_on_a_phone_and_a_laptop(live_app: Up, postgres_url: str, browser_page,  # noqa: ANN001
                                               tmp_path: Path) -> None:
    _fill(postgres_url)
    page = browser_page
    page.goto(live_app.url("/transparansi"))
    assert "2 aduan menunggu diperiksa" in page.inner_text("#backlog")
    assert "Biasanya diterima dalam" in page.inner_text("#agency-DISHUB")
    charts = page.locator("img[data-chart]").count()
    assert charts == 8  # the city and three agencies, two each
    assert _charts_drawn(page) == charts
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    city_chart = page.locator("#city img[data-chart='aduan']").bounding_box()
    assert city_chart is not None and 300 <= city_chart["width"] <= 360 and city_chart["height"] > 120
    page.screenshot(path=str(tmp_path / "transparansi-360.png"), full_page=True)

    page.click("#language")
    assert page.evaluate("document.documentElement.lang") == "en"
    assert "2 complaints are waiting to be checked" in page.inner_text("#backlog")
    assert _charts_drawn(page) == charts
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=str(tmp_path / "transparansi-360-en.png"), full_page=True)

    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(live_app.url("/transparansi?lang=id"))
    assert _charts_drawn(page) == charts
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    first, second = (page.locator("#city img[data-chart]").nth(n).bounding_box() for n in (0, 1))
    assert first["y"] == second["y"] and second["x"] > first["x"]  # side by side on a wide screen
    page.screenshot(path=str(tmp_path / "transparansi-1366.png"), full_page=True)
    for name in ("transparansi-360.png", "transparansi-360-en.png", "transparansi-1366.png"):
        assert (tmp_path / name).stat().st_size > 10_000
