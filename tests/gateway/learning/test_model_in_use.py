"""The model in use: the scheduler retrains once with two schedulers, workers pick a new version up, and
file_complaint routes with it only from min_examples on; the review queue shows similar complaints."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from gateway.complaints import learning, routing
from gateway.jobs.retrain import retrain_if_due
from models import Complaint, RouterModel
from router.learning import agencies_from_config, read_archive
from tests.conftest import ROOT, Stack
from tests.gateway.conftest import DLH, SUPER, Admin, sms_complaint
from tests.gateway.learning.data import archive, labelled

AGENCIES = agencies_from_config((ROOT / "config.yaml").read_text(encoding="utf-8"))


@pytest.fixture(autouse=True)
def fresh_models(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every call reads the newest model (no 10 s wait); nothing stays cached for other tests."""
    monkeypatch.setattr(routing.models, "check_seconds", 0.0)
    routing.models.forget()
    yield
    routing.models.forget()


def add_examples(stack: Stack, count: int, seed: int = 5) -> None:
    """Import ``count`` labelled complaints as an archive would."""
    reading = read_archive(archive(labelled(count, seed)), AGENCIES)
    with stack.runtime.db.session() as session:
        learning.import_rows(session, reading.rows)
        session.commit()


def versions(stack: Stack) -> list[str]:
    with stack.runtime.db.session() as session:
        return list(session.scalars(select(RouterModel.version).order_by(RouterModel.id)))


def test_two_schedulers_retrain_once_after_retrain_every_examples(stack: Stack) -> None:
    add_examples(stack, 99)
    assert retrain_if_due(stack.runtime) is None  # fewer than min_examples (100): nothing to train yet
    add_examples(stack, 101)
    start, results = threading.Barrier(2), []

    def scheduler() -> None:
        start.wait()
        results.append(retrain_if_due(stack.runtime))

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len([r for r in results if r]) == 1 and len(versions(stack)) == 1
    assert retrain_if_due(stack.runtime) is None  # nothing new since
    add_examples(stack, 49, seed=11)
    assert retrain_if_due(stack.runtime) is None  # 49 < retrain_every (50)
    add_examples(stack, 51, seed=12)
    assert retrain_if_due(stack.runtime) is not None and len(versions(stack)) == 2


def test_a_worker_picks_up_a_new_version_without_a_restart(stack: Stack) -> None:
    runtime = stack.runtime
    with runtime.db.session() as session:
        assert routing.models.current(session, runtime) is None
    add_examples(stack, 120)
    with runtime.db.session() as session:
        first, _ = routing.train_and_store(session, runtime.settings)
        session.commit()
    assert sms_complaint(stack, "sampah bau tumpukan depan rumah").routing["model"] == first.version
    add_examples(stack, 60, seed=9)
    with runtime.db.session() as session:  # trained elsewhere (another process): this one only reads the table
        second, _ = routing.train_and_store(session, runtime.settings)
        session.commit()
    complaint = sms_complaint(stack, "lampu pju padam gang rumah")
    assert second.version != first.version and complaint.routing["model"] == second.version
    assert complaint.agency_code == "DISHUB" and complaint.routing["similar"]


@pytest.mark.parametrize(("examples", "uses_model"), [(60, False), (120, True)])
def test_file_complaint_uses_the_model_from_min_examples(stack: Stack, examples: int, uses_model: bool) -> None:
    add_examples(stack, examples)
    with stack.runtime.db.session() as session:
        row, _ = routing.train_and_store(session, stack.runtime.settings)
        session.commit()
    complaint = sms_complaint(stack, "sampah bau tumpukan depan rumah")
    assert complaint.routing["model"] == (row.version if uses_model else None)
    assert bool(complaint.routing["similar"]) is uses_model and complaint.agency_code == "DLH"


def test_the_review_queue_shows_similar_complaints(admin: Admin) -> None:
    complaint = admin.complaint("sampah apa ini")
    evidence = {
        "agency": None, "confidence": 0.4, "matched": [], "model": "abc",
        "candidates": [{"agency": "DLH", "score": 0.4, "matched": []}, {"agency": "DPUPRPKP", "score": 0.3,
                                                                          "matched": []}],
        "similar": [{"ref": "4821 7730", "agency": "DLH", "similarity": 0.6},
                    {"ref": "1111 2222", "agency": "DLH", "similarity": 0.5},
                    {"ref": "3333 4444", "agency": "DISHUB", "similarity": 0.4}]}
    with admin.stack.runtime.db.session() as session:
        session.get(Complaint, complaint.id).routing = evidence
        session.commit()
    page = admin.as_user(SUPER).get("/admin/review").text
    assert complaint.ticket_code in page
    assert "mirip 4821 7730 1111 2222 -&gt; DLH" in page and "3333 4444 -&gt; DISHUB" in page



def test_a_bounce_keeps_a_near_identical_complaint_from_the_agency_that_sent_it_back(admin: Admin) -> None:
    """DLH sends a complaint back ("bukan wewenang") and nobody reassigns it yet: after retraining, the same
    complaint written again waits for review with the bounce shown, instead of going back to DLH."""
    stack = admin.stack
    add_examples(stack, 120)
    with stack.runtime.db.session() as session:
        routing.train_and_store(session, stack.runtime.settings)
        session.commit()
    text = "sampah bau tumpukan truk depan rumah warga rt"
    first = sms_complaint(stack, text)
    assert first.agency_code == "DLH" and first.routing["model"]
    response = admin.as_user(DLH).post(f"/admin/complaints/{first.ticket_code}/bounce",
                                       {"reason": "Bukan wewenang kami: lahan milik pengembang"})
    assert response.status_code == 302, response.text
    with stack.runtime.db.session() as session:
        row, new = routing.train_and_store(session, stack.runtime.settings)
        session.commit()
    assert new and row.figures["against_examples"] == 1
    again = sms_complaint(stack, text + " tolong")
    assert again.agency_code is None and again.routing["review_reason"] == "bounced"
    assert again.routing["bounced"][0]["agency"] == "DLH"
