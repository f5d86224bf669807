"""Every outbound message is a row before it is sent: the domain writes rows, ``gateway.jobs.outbox`` sends them.

Against SMS pumping, every SMS row is checked here, where every one is written (``sms:`` in config.yaml):

- numbers outside ``sms.allowed_regions`` (default ID), and premium-rate, shared-cost or satellite numbers
  anywhere, get no SMS (:func:`channels.phone.sms_refusal`);
- SMS that Sambat starts itself (everything but the answer to a citizen's own SMS: the form's and the app's
  confirmations, updates) go to one number at most ``sms.per_number_daily`` times in 24 hours, and at most
  ``sms.daily_budget`` times in 24 hours in all. When 80% of the budget is spent, the super-admins get one
  e-mail that day.

A refused SMS is still a row (status ``not_sent``, ``error_code`` saying why), never sent, so the console shows it.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from channels.phone import sms_refusal
from models import InboundMessage, Outbox, User, utcnow
from models.message import PENDING
from models.user import SUPER_ADMIN

log = logging.getLogger(__name__)

NOT_SENT = "not_sent"  # a final status: the row is kept and never sent
DAY = timedelta(hours=24)
BUDGET_ALERT_SHARE = 0.8  # the super-admins hear when this share of the day's SMS budget is spent
# The error codes of SMS refused here, and what the console says of each.
REFUSALS = {
    "region": "the number's country is not in sms.allowed_regions",
    "premium": "a premium-rate or shared-cost number",
    "satellite": "a satellite or international-network number (+870, +881, +882, +883)",
    "not_a_number": "not a phone number",
    "per_number_daily": "sms.per_number_daily reached for this number (24 hours)",
    "daily_budget": "sms.daily_budget reached (24 hours)",
}
_CITIZEN_MEDIA = ("sms", "mms", "whatsapp")  # an answer to a message from the same number on these is theirs

WRITTEN = "sambat.outbox_written"  # session.info key: the rows add_message wrote in this session


def add_message(session: Session, *, dedupe_key: str, kind: str, channel: str, medium: str, recipient: str,
                body: str, sender: str | None = None, contact_id: int | None = None,
                complaint_id: int | None = None, inbound_message_id: int | None = None, subject: str | None = None,
                in_reply_to: str | None = None, references: str | None = None,
                template_values: dict[str, object] | None = None, settings: Any = None) -> Outbox:
    """Add an outbox row (not yet committed). ``dedupe_key`` makes a repeated job add nothing new.

    ``template_values`` are the values the body was rendered from: past WhatsApp's window they fill an approved
    template instead (kept for WhatsApp rows only). ``settings`` (else the current runtime's) give the SMS
    limits; an SMS they refuse is added with status ``not_sent``. Every caller in the gateway passes them; with
    no settings and no runtime at all, only premium and satellite numbers are refused.
    """
    values = {key: str(value) for key, value in (template_values or {}).items()} if medium == "whatsapp" else None
    row = Outbox(dedupe_key=dedupe_key, kind=kind, channel=channel, medium=medium, recipient=recipient,
                 body=body, sender=sender, contact_id=contact_id, complaint_id=complaint_id,
                 inbound_message_id=inbound_message_id, status=PENDING, subject=subject, in_reply_to=in_reply_to,
                 thread_references=references, template_values=values)
    started = False
    if medium == "sms":
        settings = settings if settings is not None else _current_settings()
        if settings is None:  # no runtime (a script or a test writing a row by hand): premium and satellite only
            refusal = sms_refusal(recipient, ("*",))
        else:
            started = sambat_started(session, recipient, inbound_message_id)
            refusal = sms_refusal(recipient, settings.sms.allowed_regions) or (
                _over_limit(session, settings, recipient) if started else None)
        if refusal is not None:
            row.status, row.error_code = NOT_SENT, refusal
            row.last_error = f"not sent: {REFUSALS[refusal]}"
            log.warning("SMS to %s not sent (%s): %s", recipient, kind, REFUSALS[refusal])
    session.add(row)
    if started and row.status == PENDING:
        _budget_alert(session, settings)
    session.info.setdefault(WRITTEN, []).append(row)  # the caller may hand these to the queue after its commit
    return row


def sambat_started(session: Session, recipient: str, inbound_message_id: int | None) -> bool:
    """True for an SMS Sambat starts itself: anything but the answer to a message from that same number."""
    if inbound_message_id is None:
        return True
    inbound = session.get(InboundMessage, inbound_message_id)
    return inbound is None or inbound.medium not in _CITIZEN_MEDIA or inbound.sender != recipient


def _started_rows(since: Any) -> Any:  # noqa: ANN401 - a SQL condition
    """SMS rows Sambat started since then (counted against the limits): refused ones are not counted."""
    answered = and_(InboundMessage.medium.in_(_CITIZEN_MEDIA), InboundMessage.sender == Outbox.recipient)
    return (select(func.count(Outbox.id)).select_from(Outbox)
            .outerjoin(InboundMessage, InboundMessage.id == Outbox.inbound_message_id)
            .where(Outbox.medium == "sms", Outbox.created_at >= since, Outbox.status != NOT_SENT,
                   (InboundMessage.id.is_(None)) | ~answered))


def _over_limit(session: Session, settings: Any, recipient: str) -> str | None:
    since = utcnow() - DAY
    session.flush()  # rows added in this transaction count too
    if session.scalar(_started_rows(since).where(Outbox.recipient == recipient)) >= settings.sms.per_number_daily:
        return "per_number_daily"
    if session.scalar(_started_rows(since)) >= settings.sms.daily_budget:
        return "daily_budget"
    return None


def _budget_alert(session: Session, settings: Any) -> None:
    """At 80% of the day's SMS budget, one e-mail to each super-admin (once per UTC day)."""
    now = utcnow()
    budget = settings.sms.daily_budget
    session.flush()
    spent = session.scalar(_started_rows(now - DAY))
    if spent < budget * BUDGET_ALERT_SHARE:
        return
    day = now.date().isoformat()
    admins = list(session.scalars(select(User).where(User.active, User.role == SUPER_ADMIN).order_by(User.id)))
    for user in admins:
        key = f"sms-budget:{day}:{user.id}"
        if session.scalar(select(Outbox.id).where(Outbox.dedupe_key == key)) is not None:
            continue
        subject = f"[Sambat] {spent} dari {budget} SMS harian sudah terpakai"
        text = (f"Dalam 24 jam terakhir Sambat sudah memulai {spent} SMS dari batas {budget} (sms.daily_budget). "
                f"Setelah batas itu tercapai, SMS yang dimulai Sambat (konfirmasi formulir dan aplikasi, kabar "
                f"aduan) tidak dikirim sampai hari berikutnya; balasan untuk SMS warga tetap dikirim.\n\n"
                f"Periksa dasbor untuk lonjakan yang tidak wajar (SMS pumping), atau naikkan sms.daily_budget di "
                f"config.yaml.\n\n-- Sambat {getattr(settings, 'city', '')}")
        try:
            with session.begin_nested():  # another worker may have written it at the same moment
                session.add(Outbox(dedupe_key=key, kind="sms_budget", channel="email", medium="email",
                                   recipient=user.email, body=text, subject=subject, status=PENDING,
                                   sender=settings.mail.sender))
        except IntegrityError:
            continue
        log.warning("SMS budget: %s of %s spent in 24 hours; e-mail to super-admin %s", spent, budget, user.email)


def _current_settings() -> Any:  # noqa: ANN401 - the process's settings, or None without a runtime
    from gateway.runtime import current_runtime

    try:
        return current_runtime().settings
    except RuntimeError:
        return None
