"""Examples from practice: acceptance, the super-admin's assignment, and a bounce, through the console."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from gateway.complaints import learning
from models import Complaint, RoutingExample
from tests.gateway.conftest import DISHUB, DLH, SUPER, Admin

GARBAGE = "sampah menumpuk di pinggir jalan belum diangkut"


def examples(admin: Admin, complaint_id: int) -> set[tuple[str, str, str, bool]]:
    """(source, stance, agency, counted) of a complaint's examples."""
    with admin.stack.runtime.db.session() as session:
        rows = session.scalars(select(RoutingExample).where(RoutingExample.complaint_id == complaint_id))
        return {(r.source, r.stance, r.agency_code, r.counted) for r in rows}


def step(admin: Admin, user: str, code: str, action: str, **form: str) -> None:
    """One console action by ``user`` on ticket ``code``; it must succeed."""
    response = admin.as_user(user).post(f"/admin/complaints/{code}/{action}", form)
    assert response.status_code == 302, response.text


@pytest.mark.parametrize(("to", "note"), [("acknowledged", ""), ("resolved", "Sudah diangkut.")])
def test_the_agency_taking_it_makes_an_example_once(admin: Admin, to: str, note: str) -> None:
    complaint = admin.complaint(GARBAGE, agency="DLH")
    assert examples(admin, complaint.id) == set()
    step(admin, DLH, complaint.ticket_code, "status", to=to, note=note)
    assert examples(admin, complaint.id) == {("acceptance", "for", "DLH", True)}
    with admin.stack.runtime.db.session() as session:  # a job run twice adds nothing
        learning.accepted(session, session.get(Complaint, complaint.id))
        session.commit()
        row = session.scalars(select(RoutingExample)).one()
        assert (row.text, row.ref) == (GARBAGE, f"{complaint.ticket_code[:4]} {complaint.ticket_code[4:]}")


def test_an_assignment_counts_once_the_agency_does_not_bounce_it(admin: Admin) -> None:
    complaint = admin.complaint(GARBAGE)
    step(admin, SUPER, complaint.ticket_code, "assign", agency="DLH")
    assert examples(admin, complaint.id) == {("assignment", "for", "DLH", False)}  # pending
    step(admin, DLH, complaint.ticket_code, "status", to="acknowledged")
    assert examples(admin, complaint.id) == {("assignment", "for", "DLH", True), ("acceptance", "for", "DLH", True)}


def test_a_bounce_is_evidence_against_and_the_reassignment_for(admin: Admin) -> None:
    complaint = admin.complaint(GARBAGE)
    step(admin, SUPER, complaint.ticket_code, "assign", agency="DISHUB")
    step(admin, DISHUB, complaint.ticket_code, "bounce", reason="Bukan wewenang kami: sampah urusan DLH")
    assert examples(admin, complaint.id) == {("assignment", "for", "DISHUB", False),
                                             ("acceptance", "against", "DISHUB", True)}
    step(admin, SUPER, complaint.ticket_code, "assign", agency="DLH")
    assert ("assignment", "for", "DLH", True) in examples(admin, complaint.id)
    with admin.stack.runtime.db.session() as session:
        trained, _ = learning.training_examples(session)
    assert [(e.text, e.agency) for e in trained] == [(GARBAGE, "DLH")]


def test_a_bounce_after_acknowledging_withdraws_the_example(admin: Admin) -> None:
    complaint = admin.complaint(GARBAGE, agency="DISHUB")
    step(admin, DISHUB, complaint.ticket_code, "status", to="acknowledged")
    step(admin, DISHUB, complaint.ticket_code, "bounce", reason="Salah dinas")
    assert examples(admin, complaint.id) == {("acceptance", "for", "DISHUB", False),
                                             ("acceptance", "against", "DISHUB", True)}
    with admin.stack.runtime.db.session() as session:
        assert learning.training_examples(session)[0] == []
