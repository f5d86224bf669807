"""WhatsApp's 24-hour window: whether a message goes as free text, as an approved template, or by SMS.

WhatsApp takes free text only within 24 hours of the citizen's last message to us; after that only an
approved template goes through (Twilio refuses free text with 63016). So a status update three days later:

1. inside the window (from the citizen's last inbound WhatsApp message, less a few minutes for the trip):
   free text (``outbox.path`` ``freeform``);
2. past it, with a template for the message kind in ``whatsapp.templates`` (config.yaml): the template, filled
   from the values the text was made from (``template``);
3. otherwise, or when WhatsApp still refuses (63016), by SMS to the same number through ``sms.provider``
   when that provider can send (``sms_fallback``); with none, the row fails saying why.

The outbox calls :func:`choose_path` before each send and :func:`after_refusal` when the provider answers
that the window is closed; :func:`reroute` writes a new row when the refusal comes later, in a status callback.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from channels.phone import sms_refusal
from channels.whatsapp import Template, template_for
from models import Contact, InboundMessage, Outbox, utcnow
from models.message import FREEFORM, PENDING, SMS_FALLBACK, TEMPLATE

log = logging.getLogger(__name__)

WINDOW = timedelta(hours=24)
MARGIN = timedelta(minutes=5)  # a message decided at 23:59 reaches WhatsApp after the window has closed


def window_open(session: Session, recipient: str, now: Any = None) -> bool:
    """True when the citizen's last WhatsApp message to us is recent enough for free text."""
    last = session.scalar(select(func.max(InboundMessage.received_at)).where(
        InboundMessage.sender == recipient.removeprefix("whatsapp:"), InboundMessage.medium == "whatsapp"))
    return last is not None and (now or utcnow()) - last < WINDOW - MARGIN


def row_template(session: Session, runtime: Any, row: Outbox) -> Template | None:
    """The template a row can go as: configured for its kind and its citizen's language, with its values kept."""
    contact = session.get(Contact, row.contact_id) if row.contact_id else None
    language = (contact.language if contact else None) or runtime.settings.default_language
    template = template_for(runtime.settings, row.kind, language)
    if template is None or (template.variables and row.template_values is None):
        return None
    return template


def sms_provider(runtime: Any) -> str | None:
    """The SMS provider a fallback goes through (``sms.provider``), or None when nothing can send an SMS."""
    name = runtime.default_sms_sender
    return name if name != "console" and name in runtime.senders else None


def choose_path(session: Session, runtime: Any, row: Outbox) -> str | None:
    """Set how a claimed WhatsApp row goes now; re-address it to SMS when neither free text nor a template can.

    Returns:
        None when it can be sent; otherwise why it cannot go at all (the caller fails the row).
    """
    if row.medium != "whatsapp":
        return None
    if row.path == TEMPLATE and row_template(session, runtime, row) is not None:
        return None  # WhatsApp said the window is closed, whatever our clock says
    if row.path != TEMPLATE and window_open(session, row.recipient):
        row.path = FREEFORM
        return None
    if row_template(session, runtime, row) is not None:
        row.path = TEMPLATE
        return None
    return _to_sms(runtime, row)


def after_refusal(session: Session, runtime: Any, row: Outbox) -> str | None:
    """WhatsApp refused a row because the window is closed (before creating a message): take the next path.

    Free text moves to the template, a template to SMS. Returns None when the row is ready to be sent again
    (status pending), else why it cannot go at all.
    """
    if row.path != TEMPLATE and row_template(session, runtime, row) is not None:
        row.path = TEMPLATE
    else:
        problem = _to_sms(runtime, row)
        if problem:
            return problem
    row.status, row.next_attempt_at = PENDING, None
    return None


def _to_sms(runtime: Any, row: Outbox) -> str | None:
    provider = sms_provider(runtime)
    if provider is None:
        return (f"not sent: WhatsApp's 24-hour window is closed, no approved template for {row.kind} "
                f"(whatsapp.templates) and no SMS provider (sms.provider) to send it instead")
    refusal = sms_refusal(row.recipient, runtime.settings.sms.allowed_regions)
    if refusal is not None:  # the SMS policy holds for the fallback too (docs/hostile-input.md)
        return f"not sent: WhatsApp's 24-hour window is closed and {row.recipient} gets no SMS ({refusal})"
    log.info("outbox %s: WhatsApp window closed; sending by SMS through %s", row.id, provider)
    row.channel, row.medium, row.sender, row.path = provider, "sms", None, SMS_FALLBACK
    return None


def reroute(session: Session, runtime: Any, failed: Outbox) -> Outbox | None:
    """A WhatsApp message the provider accepted, then failed because the window is closed (a status callback
    with 63016): the same message as a new row on the next path (template, else SMS). None when there is
    none, or it was written already (the callback came twice)."""
    if failed.medium != "whatsapp" or failed.status not in ("failed", "undelivered"):
        return None
    follow = Outbox(dedupe_key="", kind=failed.kind, channel=failed.channel, medium=failed.medium,
                    recipient=failed.recipient, sender=failed.sender, body=failed.body, status=PENDING,
                    contact_id=failed.contact_id, complaint_id=failed.complaint_id,
                    inbound_message_id=failed.inbound_message_id, template_values=failed.template_values,
                    path=failed.path)
    if failed.path != TEMPLATE and row_template(session, runtime, follow) is not None:
        follow.path = TEMPLATE
    elif (problem := _to_sms(runtime, follow)) is not None:
        log.warning("outbox %s: %s", failed.id, problem)
        return None
    follow.dedupe_key = f"{failed.dedupe_key}:{follow.path}"[:100]
    if session.scalar(select(Outbox.id).where(Outbox.dedupe_key == follow.dedupe_key)) is not None:
        return None
    session.add(follow)
    return follow
