"""WhatsApp's 24-hour window: a status update days later goes as an approved template, else by SMS.

One table: how long ago the citizen last wrote on WhatsApp, whether a template is configured for
``status_update`` (and approved at the stand-in), and whether WhatsApp says the window is closed (the stand-in
then answers a free-form message as Twilio does: 201, then a failed status callback with 63016). Each case
asserts the exact requests the Twilio stand-in received for the update, and the ``path`` each outbox row
records. Run on both stacks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from gateway.complaints.status import change_status, enqueue_sends
from models import Complaint, InboundMessage, Outbox, utcnow
from models.complaint import IN_PROGRESS
from tests.channels.test_twilio import deliver_callbacks, whatsapp_in
from tests.conftest import CITY_NUMBER, Stack
from tests.support.twilio_standin import TwilioStandIn

CITIZEN = "+6281298765432"
WHATSAPP_NUMBER = "whatsapp:+14155238886"
TEMPLATE = "HX" + "0123456789abcdef" * 2
NOTE = "Petugas PJU menuju lokasi besok pagi."


@dataclass
class Window:
    label: str
    hours_ago: float  # the citizen's last WhatsApp message
    template: bool  # whatsapp.templates.status_update is configured
    sent: list[str]  # what reached the stand-in for the update, in order: freeform, template or sms
    paths: list[str | None]  # outbox.path of the update's rows, in order
    closed: bool = False  # WhatsApp says the window is closed (the stand-in fails free text with 63016)
    approved: bool = True  # the template is approved by WhatsApp (else it counts as free text)
    refuse_at_once: bool = False  # Twilio answers the first request 400 with 63016 instead of failing later
    sms_provider: str | None = None  # another sms.provider (console: nothing can send an SMS)
    statuses: list[str] = field(default_factory=list)  # the rows' final statuses, when not all "queued"


WINDOWS = [
    Window("inside the window: free text", 2, template=False, sent=["freeform"], paths=["freeform"]),
    Window("inside the window with a template: still free text", 23, template=True, sent=["freeform"],
           paths=["freeform"]),
    Window("past the window with a template: ContentSid, no Body", 72, template=True, closed=True,
           sent=["template"], paths=["template"]),
    Window("past the window, no template: SMS", 72, template=False, closed=True, sent=["sms"],
           paths=["sms_fallback"]),
    Window("past the window, template not approved: 63016, then SMS", 72, template=True, closed=True,
           approved=False, sent=["template", "sms"], paths=["template", "sms_fallback"],
           statuses=["failed", "queued"]),
    Window("WhatsApp closed it early (63016): the template", 2, template=True, closed=True,
           sent=["freeform", "template"], paths=["freeform", "template"], statuses=["failed", "queued"]),
    Window("WhatsApp closed it early (63016), no template: SMS", 2, template=False, closed=True,
           sent=["freeform", "sms"], paths=["freeform", "sms_fallback"], statuses=["failed", "queued"]),
    Window("Twilio refuses 63016 at once, no template: SMS on the same row", 2, template=False, refuse_at_once=True,
           sent=["freeform", "sms"], paths=["sms_fallback"]),
    Window("Twilio refuses 63016 at once: the template on the same row", 2, template=True, refuse_at_once=True,
           sent=["freeform", "template"], paths=["template"]),
    Window("past the window, no template, no SMS provider: failed, nothing sent", 72, template=False, closed=True,
           sms_provider="console", sent=[], paths=[None], statuses=["failed"]),
]


def whatsapp_complaint(stack: Stack) -> Complaint:
    """A citizen's WhatsApp complaint through the webhook and the queue (its ticket reply is free text)."""
    whatsapp_in(stack)
    stack.work()
    with stack.runtime.db.session() as session:
        return session.scalars(select(Complaint).order_by(Complaint.id.desc())).first()


def last_wrote(stack: Stack, hours_ago: float) -> None:
    """Move the citizen's WhatsApp messages back in time."""
    with stack.runtime.db.session() as session:
        session.execute(update(InboundMessage).where(InboundMessage.sender == CITIZEN)
                        .values(received_at=utcnow() - timedelta(hours=hours_ago)))
        session.commit()


def agency_update(stack: Stack, complaint_id: int) -> None:
    """The agency sets the complaint in progress with a note: the citizen's update is queued and worked."""
    with stack.runtime.db.session() as session:
        complaint = session.get(Complaint, complaint_id)
        _, row = change_status(session, stack.runtime, complaint, IN_PROGRESS, "dishub@malangkota.go.id", note=NOTE)
        session.commit()
        enqueue_sends(stack.runtime, [row])
    stack.work()


@pytest.mark.parametrize("case", WINDOWS, ids=lambda case: case.label)
def test_status_update_and_the_whatsapp_window(stack: Stack, twilio_standin: TwilioStandIn, case: Window) -> None:
    overrides = {"whatsapp__templates": {"status_update": TEMPLATE} if case.template else {}}
    if case.sms_provider:
        overrides["sms__provider"] = case.sms_provider
    stack.runtime.settings = stack.runtime.settings.with_overrides(**overrides)
    complaint = whatsapp_complaint(stack)
    [reply] = twilio_standin.requests
    assert (reply.params["To"], "Body" in reply.params) == (f"whatsapp:{CITIZEN}", True)  # the ticket, free text
    last_wrote(stack, case.hours_ago)
    if case.closed:
        twilio_standin.close_whatsapp_window(CITIZEN)
    if case.approved:
        twilio_standin.approve_template(TEMPLATE)
    if case.refuse_at_once:
        twilio_standin.fail_next(status=400, code=63016)

    agency_update(stack, complaint.id)
    deliver_callbacks(stack, twilio_standin)

    update_requests = twilio_standin.requests[1:]
    assert [_kind(request.params) for request in update_requests] == case.sent
    for request in update_requests:
        _assert_request(request.params, complaint.ticket_code)
    with stack.runtime.db.session() as session:
        rows = session.scalars(select(Outbox).where(Outbox.kind == "status_update").order_by(Outbox.id)).all()
        assert [row.path for row in rows] == case.paths
        assert [row.status for row in rows] == (case.statuses or ["queued"] * len(rows)), [r.last_error for r in rows]
        for row in rows:
            assert row.complaint_id == complaint.id and row.recipient == CITIZEN
            if row.status == "failed" and case.sent:
                assert row.error_code == "63016"
        if case.sms_provider == "console":
            assert "no SMS provider" in rows[0].last_error and "whatsapp.templates" in rows[0].last_error


def _kind(params: dict[str, str]) -> str:
    if not params["To"].startswith("whatsapp:"):
        return "sms"
    return "template" if "ContentSid" in params else "freeform"


def _assert_request(params: dict[str, str], ticket_code: str) -> None:
    """Each path's request exactly: free text and templates to WhatsApp from its number, SMS from the city's."""
    code = f"{ticket_code[:4]} {ticket_code[4:]}"
    kind = _kind(params)
    if kind == "template":
        assert params["ContentSid"] == TEMPLATE and "Body" not in params
        assert json.loads(params["ContentVariables"]) == {"1": code, "2": "Sedang dikerjakan", "3": NOTE}
        assert (params["To"], params["From"]) == (f"whatsapp:{CITIZEN}", WHATSAPP_NUMBER)
    else:
        assert params["Body"] == f"Tiket {code}: Sedang dikerjakan. {NOTE}"
        assert "ContentSid" not in params and "ContentVariables" not in params
        expected = (f"whatsapp:{CITIZEN}", WHATSAPP_NUMBER) if kind == "freeform" else (CITIZEN, CITY_NUMBER)
        assert (params["To"], params["From"]) == expected
    assert params["StatusCallback"].startswith("https://sambat.example.go.id/webhooks/twilio/status?outbox=")


def test_a_repeated_63016_callback_sends_one_fallback(stack: Stack, twilio_standin: TwilioStandIn) -> None:
    """Twilio may post the same failed callback twice: the SMS goes once."""
    complaint = whatsapp_complaint(stack)
    last_wrote(stack, 2)
    twilio_standin.close_whatsapp_window(CITIZEN)
    agency_update(stack, complaint.id)
    [callback] = twilio_standin.status_callbacks()
    deliver_callbacks(stack, twilio_standin)
    deliver_callbacks(stack, twilio_standin)  # once more: the same callback
    from tests.conftest import post_twilio

    post_twilio(stack.client, callback.url.removeprefix("https://sambat.example.go.id"), callback.params,
                sign_url=callback.url)
    stack.work()
    assert [_kind(request.params) for request in twilio_standin.requests[1:]] == ["freeform", "sms"]
    with stack.runtime.db.session() as session:
        paths = session.scalars(select(Outbox.path).where(Outbox.kind == "status_update").order_by(Outbox.id)).all()
    assert paths == ["freeform", "sms_fallback"]


def test_admin_sees_the_path_of_each_message(stack: Stack, twilio_standin: TwilioStandIn) -> None:
    """The complaint's page lists its messages to the citizen with the path each took."""
    from tests.gateway.conftest import SUPER, Admin, add_users

    add_users(stack)
    complaint = whatsapp_complaint(stack)
    last_wrote(stack, 72)
    twilio_standin.close_whatsapp_window(CITIZEN)
    agency_update(stack, complaint.id)

    page = Admin(stack).as_user(SUPER).get(f"/admin/complaints/{complaint.ticket_code}").text
    sent = page[page.index('id="sent"'):]
    assert sent.count('data-path="freeform"') == 1  # the ticket reply, inside the window
    assert sent.count('data-path="sms_fallback"') == 1 and "SMS pengganti WhatsApp" in sent


# --- whatsapp.templates in config.yaml -------------------------------------------------------------------

SHIPPED_TEMPLATES = "whatsapp:\n  templates: {}\n"


@pytest.mark.parametrize(("label", "templates", "error"), [
    ("one SID for a kind", f"{{status_update: {TEMPLATE}}}", None),
    ("per language, own variables", f"{{status_update: {{id: {TEMPLATE}, en: {TEMPLATE}, variables: [code, note]}}}}",
     None),
    ("not a Content SID", "{status_update: MG0123}", "whatsapp.templates.status_update: not a Content API template"),
    ("unknown message kind", f"{{status_updates: {TEMPLATE}}}", "whatsapp.templates.status_updates: unknown message"),
    ("unknown variable", f"{{status_update: {{sid: {TEMPLATE}, variables: [code, name]}}}}",
     "whatsapp.templates.status_update.variables"),
    ("a language's SID wrong", f"{{status_update: {{sid: {TEMPLATE}, en: HXnope}}}}",
     "whatsapp.templates.status_update.en: not a Content API template"),
    ("not a mapping", "[status_update]", "whatsapp.templates: must be a mapping"),
], ids=lambda value: value if isinstance(value, str) and " " in value else None)
def test_whatsapp_templates_setting(tmp_path, label: str, templates: str, error: str | None) -> None:  # noqa: ANN001
    from pathlib import Path

    from gateway.jobs.whatsapp import template_for
    from gateway.settings import ConfigError, load_settings

    shipped = (Path(__file__).resolve().parents[2] / "config.yaml").read_text()
    assert SHIPPED_TEMPLATES in shipped
    path = tmp_path / "config.yaml"
    path.write_text(shipped.replace(SHIPPED_TEMPLATES, f"whatsapp:\n  templates: {templates}\n"))
    if error:
        with pytest.raises(ConfigError, match=error):
            load_settings(environ={}, config_path=str(path))
        return
    settings = load_settings(environ={}, config_path=str(path))
    template = template_for(settings, "status_update", "en")
    assert template.sid == TEMPLATE
    assert template.fill({"code": "1234 5678", "status": "Selesai", "note": "Lubang\nsudah   ditambal."}) == (
        {"1": "1234 5678", "2": "Selesai", "3": "Lubang sudah ditambal."} if "variables" not in templates
        else {"1": "1234 5678", "2": "Lubang sudah ditambal."})
    assert template_for(settings, "help", "id") is None
