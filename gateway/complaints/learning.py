"""Labelled examples from the city's practice: what the router learns from (issue 12).

A complaint becomes an example of its agency when that agency acknowledges or resolves it (``accepted``,
called by :func:`gateway.complaints.status.change_status`). A super-admin's assignment is recorded at once but
counts only when the agency does not bounce it, i.e. once the agency acknowledges or resolves it; an
assignment that follows a bounce (the super-admin correcting a route with the agency's answer in hand) counts
at once. A bounce ("bukan wewenang") is evidence against the agency that sent it back, and withdraws what the
complaint said for it. The archive (``sambat router import``) adds examples of its own.

Every recording is keyed (``RoutingExample.dedupe_key``), so a job or a request run twice adds nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import Complaint, RoutingExample, StatusEvent
from models.learning import ACCEPTANCE, AGAINST, ARCHIVE, ASSIGNMENT, FOR
from models.tickets import format_ticket_code
from router.learning import Example, content_hash

CHUNK = 500


def _key(source: str, stance: str, complaint_id: int | None, agency: str, digest: str) -> str:
    if source == ARCHIVE:
        return f"archive:{digest}"
    return f"{AGAINST if stance == AGAINST else source}:{complaint_id}:{agency}"


def record(session: Session, complaint: Complaint, agency: str, source: str, *, stance: str = FOR,
           counted: bool = True) -> RoutingExample:
    """Record (or confirm) one complaint's evidence for or against ``agency``; idempotent.

    A row already there is confirmed (``counted``) when this recording counts; it is never un-counted here.
    """
    digest = content_hash(complaint.text, agency)
    key = _key(source, stance, complaint.id, agency, digest)
    row = session.scalar(select(RoutingExample).where(RoutingExample.dedupe_key == key))
    if row is None:
        row = RoutingExample(dedupe_key=key, source=source, stance=stance, agency_code=agency, text=complaint.text,
                             content_hash=digest, ref=format_ticket_code(complaint.ticket_code),
                             complaint_id=complaint.id, counted=counted)
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:  # another process recorded it first
            row = session.scalar(select(RoutingExample).where(RoutingExample.dedupe_key == key))
            assert row is not None
    if counted and not row.counted:
        row.counted = True
    return row


def accepted(session: Session, complaint: Complaint) -> None:
    """The complaint's agency acknowledged or resolved it: an example of that agency, confirming an assignment."""
    agency = complaint.agency_code
    if not agency:
        return
    record(session, complaint, agency, ACCEPTANCE)
    session.execute(update(RoutingExample).where(
        RoutingExample.complaint_id == complaint.id, RoutingExample.agency_code == agency,
        RoutingExample.source == ASSIGNMENT, RoutingExample.stance == FOR).values(counted=True))


def assigned(session: Session, complaint: Complaint, agency: str) -> None:
    """A person assigned the complaint to ``agency``: pending until accepted, counted at once after a bounce."""
    bounced = session.scalar(select(StatusEvent.id).where(StatusEvent.complaint_id == complaint.id,
                                                          StatusEvent.kind == "bounce",
                                                          StatusEvent.agency_code != agency).limit(1))
    record(session, complaint, agency, ASSIGNMENT, counted=bounced is not None)


def bounced(session: Session, complaint: Complaint, agency: str) -> None:
    """``agency`` sent the complaint back: evidence against it, and what the complaint said for it withdrawn."""
    record(session, complaint, agency, ACCEPTANCE, stance=AGAINST, counted=True)
    session.execute(update(RoutingExample).where(
        RoutingExample.complaint_id == complaint.id, RoutingExample.agency_code == agency,
        RoutingExample.stance == FOR).values(counted=False))


def import_rows(session: Session, rows: Sequence, progress: Callable[[int], None] | None = None) -> int:
    """Add archive rows (``router.learning.ArchiveRow``) not already there; return how many were added.

    Rows are keyed by their content hash (agency and whitespace-collapsed text), so importing a file twice, or
    two files holding the same complaint, adds it once. Flushes every ``CHUNK`` rows; the caller commits.
    """
    added = 0
    seen: set[str] = set()
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start:start + CHUNK]
        keys = [f"archive:{row.content_hash}" for row in chunk]
        existing = set(session.scalars(select(RoutingExample.dedupe_key).where(RoutingExample.dedupe_key.in_(keys))))
        for key, row in zip(keys, chunk, strict=True):
            if key in existing or key in seen:
                continue
            seen.add(key)
            session.add(RoutingExample(dedupe_key=key, source=ARCHIVE, stance=FOR, agency_code=row.agency,
                                       text=row.text, content_hash=row.content_hash, ref=f"line {row.line}",
                                       complaint_id=None, counted=True))
            added += 1
        session.flush()
        if progress is not None:
            progress(len(chunk))
    return added


def training_examples(session: Session) -> tuple[list[Example], int]:
    """Every counted example for an agency, one per complaint (its newest) and one per archive text.

    Returns:
        The examples (ref: the ticket code, or the archive line), and the id of the newest row read.
    """
    rows: Iterable[RoutingExample] = session.scalars(
        select(RoutingExample).where(RoutingExample.counted.is_(True), RoutingExample.stance == FOR)
        .order_by(RoutingExample.id))
    chosen: dict[str, RoutingExample] = {}
    newest = 0
    for row in rows:
        newest = max(newest, row.id)
        chosen[f"c{row.complaint_id}" if row.complaint_id is not None else row.dedupe_key] = row
    newest = max([newest, *(session.scalars(select(RoutingExample.id).order_by(RoutingExample.id.desc())
                                            .limit(1)))])
    return [Example(row.text, row.agency_code, row.ref) for row in chosen.values()], newest


def against_examples(session: Session) -> list[Example]:
    """Every bounce: the complaint's text with the agency that sent it back (``Example.agency``), once per
    complaint and agency; the model keeps them as evidence against that agency."""
    rows = session.scalars(select(RoutingExample).where(RoutingExample.counted.is_(True),
                                                         RoutingExample.stance == AGAINST)
                           .order_by(RoutingExample.id))
    return [Example(row.text, row.agency_code, row.ref) for row in rows]


def counted_since(session: Session, after_id: int) -> int:
    """How many counted examples (for an agency, or a bounce against one) were recorded or confirmed after row
    ``after_id``."""
    return session.scalar(select(func.count()).select_from(RoutingExample).where(
        RoutingExample.id > after_id, RoutingExample.counted.is_(True))) or 0
