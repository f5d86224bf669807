"""What people do to complaints in the console: assign, reject, merge, acknowledge, work, resolve, bounce.

Each action checks that the move is allowed, changes the complaint through
:func:`gateway.complaints.status.change_status` (a status event, and the citizen's update on the channel they
used), keeps the deadline clock in step and
writes the audit log, all in the caller's transaction. It returns the outbox rows to enqueue after the commit.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gateway.complaints import learning
from gateway.complaints.audit import complaint_state, record, ticket
from gateway.complaints.deadlines import OPEN_STATUSES, sync_assignment
from gateway.complaints.deadlines import assign as assign_to_agency
from gateway.complaints.status import change_status
from gateway.runtime import Runtime
from gateway.settings.deadlines import policy
from gateway.settings.sections import REJECT_REASONS
from models import Agency, AuditEntry, Complaint, ComplaintMerge, Outbox, RoutingExample, StatusEvent, User, utcnow
from models.complaint import ACKNOWLEDGED, ASSIGNED, IN_PROGRESS, MERGED, NEW, REJECTED, REOPENED, RESOLVED
from models.learning import ASSIGNMENT, FOR
from models.message import PENDING, RETRY
from models.tickets import format_ticket_code

# Agency steps: the statuses each may start from.
AGENCY_STEPS = {
    ACKNOWLEDGED: (ASSIGNED, REOPENED),
    IN_PROGRESS: (ASSIGNED, ACKNOWLEDGED, REOPENED),
    RESOLVED: (ASSIGNED, ACKNOWLEDGED, IN_PROGRESS, REOPENED),
}
MAX_NOTE = 1000


class ActionError(ValueError):
    """The action is not possible now; the message says why (shown to the user, answered with a 4xx)."""


def _finish(session: Session, runtime: Runtime, complaint: Complaint, event: StatusEvent) -> list[Outbox]:
    sync_assignment(session, policy(runtime.settings), complaint)
    session.flush()
    return list(session.scalars(select(Outbox).where(Outbox.dedupe_key.like(f"event:{event.id}:%"))))


def assign(session: Session, runtime: Runtime, actor: User, complaint: Complaint, agency_code: str) -> list[Outbox]:
    """Send a complaint from the review queue (or from another agency) to an agency."""
    if not agency_code:
        raise ActionError("Pilih dinas tujuan.")
    agency = session.get(Agency, agency_code)
    if agency is None or not agency.active:
        raise ActionError(f"Dinas {agency_code!r} tidak dikenal.")
    if complaint.status not in (NEW, *OPEN_STATUSES):
        raise ActionError(f"Tiket {ticket(complaint)} sudah {complaint.status}; tidak bisa diteruskan.")
    if complaint.agency_code == agency_code and complaint.status != NEW:
        raise ActionError(f"Tiket {ticket(complaint)} sudah di {agency_code}.")
    before = complaint_state(complaint)
    event, _ = assign_to_agency(session, runtime, complaint, agency_code, actor.email, note=agency.name)
    learning.assigned(session, complaint, agency_code)
    record(session, actor, "complaint.assign", "complaint", ticket(complaint), before, complaint_state(complaint))
    return _finish(session, runtime, complaint, event)


def reject(session: Session, runtime: Runtime, actor: User, complaint: Complaint, reason: str,
           body: str | None = None) -> list[Outbox]:
    """Take a complaint out of the review queue as not a complaint, spam, a short reply, or another body's
    business; the reply is as configured (``admin.reject_replies``), or for another body (``body``, a key of
    ``admin.referrals``) where to go. A reason without a reply is silent, but CEK still gives the reason."""
    if reason not in REJECT_REASONS:
        raise ActionError(f"Alasan {reason!r} tidak dikenal; pilih {', '.join(REJECT_REASONS)}.")
    if complaint.status != NEW:
        raise ActionError(f"Tiket {ticket(complaint)} tidak di antrean tinjauan.")
    referrals = runtime.settings.admin.referrals
    if body and body not in referrals:
        raise ActionError(f"Instansi {body!r} tidak dikenal; pilih {', '.join(referrals) or '(tidak ada)'}.")
    replies = referrals[body] if body and reason == "other_body" else runtime.settings.admin.reject_replies.get(reason)
    language = complaint.contact.language if complaint.contact else runtime.settings.default_language
    note = (replies.get(language) or replies["id"]) if replies else None
    before = complaint_state(complaint)
    event, _ = change_status(session, runtime, complaint, REJECTED, actor.email, note=note or REJECT_REASONS[reason],
                             notify=note is not None)
    record(session, actor, f"complaint.reject.{reason}", "complaint", ticket(complaint), before,
           {**complaint_state(complaint), "reply_sent": note is not None, **({"body": body} if body else {})})
    return _finish(session, runtime, complaint, event)


def merge(session: Session, runtime: Runtime, actor: User, complaint: Complaint, kept: Complaint) -> list[Outbox]:
    """Fold a duplicate into the ticket that stays; its citizen (and those merged into it) follow that ticket."""
    while kept.status == MERGED:  # merging into a merged ticket means into the ticket it went to
        link = session.scalar(select(ComplaintMerge).where(ComplaintMerge.merged_id == kept.id))
        if link is None:
            break
        kept = session.get(Complaint, link.kept_id)
    if kept.id == complaint.id:
        raise ActionError("Tiket tidak bisa digabung dengan dirinya sendiri.")
    if complaint.status in (RESOLVED, REJECTED, MERGED):
        raise ActionError(f"Tiket {ticket(complaint)} sudah ditutup ({complaint.status}).")
    if kept.status == REJECTED:
        raise ActionError(f"Tiket {ticket(kept)} ditolak; pilih tiket lain untuk digabung.")
    before = complaint_state(complaint)
    note = f"Digabung dengan tiket {format_ticket_code(kept.ticket_code)}; kabar selanjutnya lewat tiket itu."
    # Told first: this citizen and those merged into this ticket earlier; from now on all follow the kept one.
    event, _ = change_status(session, runtime, complaint, MERGED, actor.email, note=note)
    carried = []
    for link in session.scalars(select(ComplaintMerge).where(ComplaintMerge.kept_id == complaint.id)):
        link.kept_id = kept.id
        carried.append(link.merged_id)
    session.add(ComplaintMerge(merged_id=complaint.id, kept_id=kept.id, actor=actor.email))
    record(session, actor, "complaint.merge", "complaint", ticket(complaint), before,
           {**complaint_state(complaint), "kept": ticket(kept), "carried": carried})
    return _finish(session, runtime, complaint, event)


def advance(session: Session, runtime: Runtime, actor: User, complaint: Complaint, to_status: str,
            note: str | None = None) -> list[Outbox]:
    """An agency's step: acknowledge, set in progress, or resolve with a public answer."""
    if to_status not in AGENCY_STEPS:
        raise ActionError(f"Langkah {to_status!r} tidak dikenal.")
    if complaint.status not in AGENCY_STEPS[to_status]:
        raise ActionError(f"Tiket {ticket(complaint)} berstatus {complaint.status}; langkah ini tidak bisa.")
    note = (note or "").strip() or None
    if to_status == RESOLVED and not note:
        raise ActionError("Tulis jawaban untuk warga sebelum menandai selesai.")
    if note and len(note) > MAX_NOTE:
        raise ActionError(f"Jawaban terlalu panjang: {len(note)} karakter, paling banyak {MAX_NOTE}.")
    before = complaint_state(complaint)
    event, _ = change_status(session, runtime, complaint, to_status, actor.email, note=note)
    record(session, actor, f"complaint.{to_status}", "complaint", ticket(complaint), before,
           {**complaint_state(complaint), **({"note": note} if note else {})})
    return _finish(session, runtime, complaint, event)


def bounce(session: Session, runtime: Runtime, actor: User, complaint: Complaint, reason: str) -> list[Outbox]:
    """"Bukan wewenang": back to the review queue with the agency's reason (the citizen is not told)."""
    reason = (reason or "").strip()
    if not reason:
        raise ActionError("Tulis alasan mengapa aduan ini bukan wewenang dinas Anda.")
    if len(reason) > MAX_NOTE:
        raise ActionError(f"Alasan terlalu panjang: {len(reason)} karakter, paling banyak {MAX_NOTE}.")
    if complaint.status not in OPEN_STATUSES:
        raise ActionError(f"Tiket {ticket(complaint)} berstatus {complaint.status}; tidak bisa dikembalikan.")
    before = complaint_state(complaint)
    agency = complaint.agency_code
    event, _ = change_status(session, runtime, complaint, NEW, actor.email, note=reason, agency_code=None,
                             notify=False)
    # Not a public answer: kept out of the ticket page; the agency that sent it back is kept on the event.
    event.kind, event.agency_code = "bounce", agency
    if agency:
        learning.bounced(session, complaint, agency)
    record(session, actor, "complaint.bounce", "complaint", ticket(complaint), before,
           {**complaint_state(complaint), "reason": reason})
    return _finish(session, runtime, complaint, event)


def last_bounce(session: Session, complaint: Complaint) -> StatusEvent | None:
    """The newest "bukan wewenang" of a complaint back in review, or None."""
    return session.scalar(select(StatusEvent).where(StatusEvent.complaint_id == complaint.id,
                                                    StatusEvent.kind == "bounce")
                          .order_by(StatusEvent.id.desc()).limit(1))


UNDOABLE = (ASSIGNED, REJECTED, MERGED)


def undo_refusal(session: Session, actor: User, event: StatusEvent, minutes: int) -> str | None:
    """Why ``event`` cannot be undone by ``actor`` now, or None when it can.

    Only the actor's own move out of the review queue, within ``minutes``, and only while nothing else has
    happened to the complaint since.
    """
    code = format_ticket_code(event.complaint.ticket_code)
    if event.actor != actor.email or event.kind != "status" or event.from_status != NEW \
            or event.to_status not in UNDOABLE:
        return f"Tiket {code}: tindakan ini tidak bisa dibatalkan."
    if utcnow() - event.created_at > timedelta(minutes=minutes):
        return f"Tiket {code}: lewat {minutes} menit, tidak bisa dibatalkan lagi."
    latest = session.scalar(select(StatusEvent.id).where(StatusEvent.complaint_id == event.complaint_id)
                            .order_by(StatusEvent.id.desc()).limit(1))
    if latest != event.id:
        return f"Tiket {code}: sudah berubah lagi sesudahnya, tidak bisa dibatalkan."
    return None


def undo(session: Session, runtime: Runtime, actor: User, event: StatusEvent, minutes: int) -> list[Outbox]:
    """Take back a move out of the review queue (assign, reject, merge): the complaint waits in review again.

    The citizen's update of that move is cancelled if it has not gone out yet; one already sent stays sent, and
    the citizen hears of the next move as usual. Nothing is sent for the undo itself.

    Raises:
        ActionError: :func:`undo_refusal` says why not.
    """
    refusal = undo_refusal(session, actor, event, minutes)
    if refusal:
        raise ActionError(refusal)
    complaint = event.complaint
    before = complaint_state(complaint)
    session.execute(update(Outbox).where(Outbox.dedupe_key.like(f"event:{event.id}:%"),
                                         Outbox.status.in_((PENDING, RETRY))).values(status="canceled"))
    if event.to_status == ASSIGNED and event.agency_code:
        # The assignment's example is withdrawn: the super-admin took it back.
        session.execute(update(RoutingExample).where(
            RoutingExample.complaint_id == complaint.id, RoutingExample.agency_code == event.agency_code,
            RoutingExample.source == ASSIGNMENT, RoutingExample.stance == FOR).values(counted=False))
    if event.to_status == MERGED:
        link = session.scalar(select(ComplaintMerge).where(ComplaintMerge.merged_id == complaint.id))
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "complaint.merge",
                                                        AuditEntry.object_id == ticket(complaint))
                               .order_by(AuditEntry.id.desc()).limit(1))
        carried = [int(i) for i in ((entry.after or {}).get("carried") or [])] if entry else []
        if carried:  # the tickets merged into this one earlier come back to it
            session.execute(update(ComplaintMerge).where(ComplaintMerge.merged_id.in_(carried))
                            .values(kept_id=complaint.id))
        if link is not None:
            session.delete(link)
    undone, _ = change_status(session, runtime, complaint, NEW, actor.email, note=f"dibatalkan ({event.to_status})",
                              agency_code=None, notify=False)
    undone.kind = "undo"
    record(session, actor, "complaint.undo", "complaint", ticket(complaint), before,
           {**complaint_state(complaint), "undone": event.to_status})
    return _finish(session, runtime, complaint, undone)
