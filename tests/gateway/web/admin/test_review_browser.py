"""The review queue at 250 complaints in Debian's Chromium against `sambat up` on PostgreSQL and Redis (issue 15,
point 9): pages past the first 200, a filter, select all on the page, "select all with the same first candidate",
"Pilih dinas tujuan", the confirmation naming each ticket, undo, and the keyboard (j/k, 1). Screenshots of the
queue go to test-artifacts/."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from gateway.complaints.intake import unused_ticket_code
from models import Complaint, StatusEvent, utcnow
from models.complaint import ASSIGNED, NEW
from tests.gateway.web.admin.test_console_browser import _add_user, _login, _shot
from tests.support.live import Up

SUPER = "kominfo@malangkota.go.id"
COUNT = 250


def _queue(url: str) -> None:
    """250 complaints waiting in review, oldest first: every fifth has DISHUB as its first candidate, the rest
    DPUPRPKP; every tenth came by the web form."""
    engine = create_engine(url)
    start = utcnow() - timedelta(hours=COUNT + 1)
    with Session(engine) as session:
        rows = []
        for n in range(COUNT):
            first = "DISHUB" if n % 5 == 0 else "DPUPRPKP"
            rows.append(Complaint(
                ticket_code=unused_ticket_code(session), text=f"aduan warga nomor {n}", channel="twilio",
                medium="web" if n % 10 == 0 else "sms", status=NEW, created_at=start + timedelta(hours=n),
                routing={"agency": None, "confidence": 0.4, "matched": ["x"], "candidates": [
                    {"agency": first, "score": 2.0, "matched": ["x"]},
                    {"agency": "DLH", "score": 1.0, "matched": ["y"]}]}))
        session.add_all(rows)
        session.flush()
        session.add_all(StatusEvent(complaint_id=c.id, kind="status", from_status=None, to_status=NEW, actor="router",
                                    created_at=c.created_at) for c in rows)
        session.commit()
    engine.dispose()


def _count(url: str, *where) -> int:  # noqa: ANN002
    engine = create_engine(url)
    with Session(engine) as session:
        value = session.scalar(select(func.count(Complaint.id)).where(*where))
    engine.dispose()
    return value


@pytest.mark.slow
def test_review_queue_at_250(live_app: Up, chromium, postgres_url: str, tmp_path: Path) -> None:  # noqa: ANN001
    _add_user(live_app, tmp_path, SUPER, "--role", "super-admin")
    _queue(postgres_url)
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="id-ID")
    page = context.new_page()
    try:
        _login(page, live_app, SUPER)
        page.wait_for_url("**/admin/review")
        cards = page.locator(".review-card")

        # Paging: 200 on the first page, the other 50 on the second.
        assert cards.count() == 200
        assert page.inner_text("#queue-range").startswith("Aduan 1–200 dari 250")
        _shot(page, "review-250")
        page.click("#page-next")
        page.wait_for_url("**page=2**")
        assert cards.count() == 50
        assert page.inner_text("#queue-range").startswith("Aduan 201–250 dari 250")

        # A filter: the first candidate DISHUB (50 of them, all on one page), then select all on the page.
        page.goto(live_app.url("/admin/review"))
        page.select_option("#filter-candidate", "DISHUB")
        page.click("#filter-apply")
        page.wait_for_url("**candidate=DISHUB**")
        assert cards.count() == 50
        assert set(page.eval_on_selector_all(".review-card", "cs => cs.map(c => c.dataset.first)")) == {"DISHUB"}
        page.check("#select-all")
        assert page.locator("input.pick:checked").count() == 50
        assert page.inner_text("#picked-count") == " (50)"
        # "Teruskan" with no agency chosen says so, and sends nothing.
        page.click("#bulk-assign")
        assert page.locator("#bulk-error").is_visible()
        assert "Pilih dinas tujuan" in page.inner_text("#bulk-error")
        assert "candidate=DISHUB" in page.url and _count(postgres_url, Complaint.status == NEW) == COUNT
        page.uncheck("#select-all")
        assert page.locator("input.pick:checked").count() == 0

        # Select all with the same first candidate, on the whole first page: 40 of its 200 are DISHUB's.
        page.goto(live_app.url("/admin/review"))
        page.locator("#complaint-" + page.locator(".review-card").first.get_attribute("data-ticket")
                     + " button.select-same").click()
        assert page.locator("input.pick:checked").count() == 40
        assert page.input_value("#bulk-agency") == "DISHUB"
        page.click("#bulk-assign")
        page.wait_for_url("**done=**")
        done = page.locator("#done-list li")
        assert done.count() == 40
        assert all(text.endswith("diteruskan ke DISHUB") for text in done.all_inner_texts())
        assert _count(postgres_url, Complaint.status == ASSIGNED, Complaint.agency_code == "DISHUB") == 40
        assert page.inner_text("#queue-size") == "210"
        _shot(page, "review-done")

        # Undo: all 40 wait in review again.
        page.click("#undo")
        page.wait_for_load_state()
        assert "Dibatalkan, kembali ke antrean tinjauan" in page.inner_text("main")
        assert _count(postgres_url, Complaint.status == NEW) == COUNT
        assert page.inner_text("#queue-size") == str(COUNT)

        # The keyboard: j to the first complaint, j/k about, 1 sends it to its first candidate.
        first = page.locator(".review-card").first.get_attribute("data-ticket")
        page.keyboard.press("j")
        page.keyboard.press("j")
        page.keyboard.press("k")
        assert page.get_attribute(f"#complaint-{first}", "class").endswith("current")
        page.keyboard.press("1")
        page.wait_for_url("**done=**")
        assert page.locator("#done-list li").count() == 1
        assert page.inner_text("#done-list li").endswith("diteruskan ke DISHUB")
        assert first in page.inner_html("#done-list")
    finally:
        context.close()
