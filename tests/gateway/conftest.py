"""The console's fixtures: a stack with four users (super-admin, two agency admins, a viewer), logged-in
clients that send the CSRF token like a browser does, and complaints in every state."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import count
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from gateway.complaints.intake import unused_ticket_code
from gateway.complaints.status import change_status
from gateway.runtime import sync_agencies
from gateway.web.auth import create_user
from models import Complaint, Contact, StatusEvent
from models.complaint import ASSIGNED, NEW
from tests.channels.test_twilio import SMS_PATH, form
from tests.channels.twilio_payloads import SMS
from tests.conftest import Stack, post_twilio

PASSWORD = "kata-sandi-rahasia-42"
SUPER, DISHUB, DLH, VIEWER = ("boss@malangkota.go.id", "dishub@malangkota.go.id", "dlh@malangkota.go.id",
                              "mayor@malangkota.go.id")
CITIZEN = "+6281234567890"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
_sids = count(1)


class Console:
    """A browser session on the console: logs in, keeps the CSRF token, posts forms with it."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.token: str | None = None

    def login(self, email: str, password: str = PASSWORD) -> Any:
        page = self.client.get("/admin/login")
        self.token = TOKEN.search(page.text).group(1)
        return self.post("/admin/login", {"email": email, "password": password})

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(path, **kwargs)

    def post(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        if self.token is None:
            page = self.client.get("/admin/login")
            match = TOKEN.search(page.text)
            self.token = match.group(1) if match else ""
        return self.client.post(path, data={"csrf_token": self.token, **(data or {})}, **kwargs)


@dataclass
class Admin:
    """The stack with users, and a way to log each of them in."""

    stack: Stack

    def as_user(self, email: str | None) -> Console:
        console = Console(self.stack.app.test_client())
        if email is not None:
            response = console.login(email)
            assert response.status_code == 302, response.text
        return console

    def complaint(self, text: str = "jalan rusak", agency: str | None = None, status: str | None = None,
                  phone: str | None = CITIZEN, email: str | None = None, **fields: Any) -> Complaint:
        """A complaint put straight in the database (role tests need many, fast), with its events."""
        with self.stack.runtime.db.session() as session:
            contact = _contact(session, phone, email) if phone or email else None
            complaint = Complaint(ticket_code=unused_ticket_code(session), text=text, channel="twilio", medium="sms",
                                  contact_id=contact.id if contact else None, agency_code=agency,
                                  status=ASSIGNED if agency else NEW, routing={
                                      "agency": agency, "confidence": 0.4, "matched": ["jalan rusak"],
                                      "candidates": [{"agency": "DPUPRPKP", "score": 3.0, "matched": ["jalan rusak"]}]},
                                  **fields)
            session.add(complaint)
            session.flush()
            session.add(StatusEvent(complaint_id=complaint.id, kind="status", from_status=None,
                                    to_status=complaint.status, agency_code=agency, actor="router", note="test"))
            if status and status != complaint.status:
                change_status(session, self.stack.runtime, complaint, status, "test", notify=False)
            session.commit()
            return complaint


def _contact(session: Any, phone: str | None, email: str | None) -> Contact:
    column, value = (Contact.phone, phone) if phone else (Contact.email, email)
    contact = session.scalar(select(Contact).where(column == value))
    if contact is None:
        contact = Contact(phone=phone, email=email)
        session.add(contact)
        session.flush()
    return contact


def add_users(stack: Stack) -> None:
    """The four people of the console, created as `sambat users add` does."""
    sync_agencies(stack.runtime)
    with stack.runtime.db.session() as session:
        create_user(session, SUPER, "super-admin", PASSWORD)
        create_user(session, DISHUB, "agency-admin", PASSWORD, agency_code="DISHUB")
        create_user(session, DLH, "agency-admin", PASSWORD, agency_code="DLH")
        create_user(session, VIEWER, "viewer", PASSWORD)
        session.commit()


@pytest.fixture
def admin(stack: Stack) -> Iterator[Admin]:
    """The console on both stacks (PostgreSQL + rq, SQLite + embedded queue) with its four users."""
    add_users(stack)
    yield Admin(stack)


def text_in(stack: Stack, body: str, sender: str = CITIZEN) -> None:
    """A citizen texts Sambat: a signed Twilio webhook with a fresh MessageSid."""
    sid = f"SM{next(_sids):032x}"
    response = post_twilio(stack.client, SMS_PATH, form(SMS, Body=body, From=sender, MessageSid=sid,
                                                         SmsMessageSid=sid, SmsSid=sid))
    assert response.status_code == 200, response.text


def sms_complaint(stack: Stack, body: str, sender: str = CITIZEN) -> Complaint:
    """A citizen's SMS through the real webhook and queue; returns the complaint it made."""
    text_in(stack, body, sender)
    stack.work()
    with stack.runtime.db.session() as session:
        return session.scalars(select(Complaint).order_by(Complaint.id.desc()).limit(1)).one()


def sms_to(standin: Any, phone: str) -> list[str]:
    """The bodies of every SMS the Twilio stand-in got for a phone, in order."""
    return [message["body"] for message in standin.messages_sent() if message["to"] == phone]
