"""Every outbound message is a row before it is sent: the domain writes rows, ``gateway.jobs.outbox`` sends them."""

from __future__ import annotations

from sqlalchemy.orm import Session

from models import Outbox
from models.message import PENDING

WRITTEN = "sambat.outbox_written"  # session.info key: the rows add_message wrote in this session


def add_message(session: Session, *, dedupe_key: str, kind: str, channel: str, medium: str, recipient: str,
                body: str, sender: str | None = None, contact_id: int | None = None,
                complaint_id: int | None = None, inbound_message_id: int | None = None, subject: str | None = None,
                in_reply_to: str | None = None, references: str | None = None,
                template_values: dict[str, object] | None = None) -> Outbox:
    """Add an outbox row (not yet committed). ``dedupe_key`` makes a repeated job add nothing new.

    ``template_values`` are the values the body was rendered from: past WhatsApp's window they fill an approved
    template instead (kept for WhatsApp rows only).
    """
    values = {key: str(value) for key, value in (template_values or {}).items()} if medium == "whatsapp" else None
    row = Outbox(dedupe_key=dedupe_key, kind=kind, channel=channel, medium=medium, recipient=recipient,
                 body=body, sender=sender, contact_id=contact_id, complaint_id=complaint_id,
                 inbound_message_id=inbound_message_id, status=PENDING, subject=subject, in_reply_to=in_reply_to,
                 thread_references=references, template_values=values)
    session.add(row)
    session.info.setdefault(WRITTEN, []).append(row)  # the caller may hand these to the queue after its commit
    return row
