"""A local stand-in for SMS Gateway for Android: its message API, and its signed webhook events.

:class:`AndroidSmsStandIn` serves ``POST /messages`` (and the legacy ``/message``) on 127.0.0.1 the way the
app's local server does: basic auth, exactly one of ``textMessage`` / ``dataMessage`` / ``message``, a
non-empty ``phoneNumbers`` in E.164, ``simNumber`` >= 1, ``priority`` in -128..127, a known id refused with
409, and ``202 Accepted`` with the app's PostMessageResponse. Every request is recorded; a request the app
would refuse is kept in :attr:`violations`, which fail the test at teardown. :meth:`fail_next` scripts
error answers and delays.

:func:`signed_event` builds a webhook request exactly as the app sends it: the event JSON (id, webhookId,
event, deviceId, payload), ``X-Signature`` = hex HMAC-SHA256 of body + ``X-Timestamp``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

USERNAME, PASSWORD = "sms", "DZn7pzdC"
SIGNING_KEY = "kS3cr3tS1gn1ngK3y"
DEVICE_ID = "ffffffffceb0b1db0000018e937c815b"
E164 = re.compile(r"^\+[1-9]\d{6,14}$")


@dataclass
class SentRequest:
    """One request the stand-in received."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    answered: int = 0


@dataclass
class _Scripted:
    status: int
    delay: float
    remaining: int


@dataclass
class AndroidSmsStandIn:
    """The app's local server on 127.0.0.1, started and stopped around a test."""

    requests: list[SentRequest] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    known_ids: set[str] = field(default_factory=set)
    _script: list[_Scripted] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> AndroidSmsStandIn:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                standin._handle(self)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def fail_next(self, status: int, delay: float = 0.0, times: int = 1) -> None:
        """Answer the next ``times`` requests with ``status`` (after ``delay`` seconds)."""
        self._script.append(_Scripted(status, delay, times))

    def messages_sent(self) -> list[dict[str, Any]]:
        """The accepted messages' bodies, in order."""
        return [r.body for r in self.requests if r.answered == 202]

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length)
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            body = raw.decode("latin-1")
        record = SentRequest("POST", handler.path, dict(handler.headers), body)
        with self._lock:
            self.requests.append(record)
            scripted = self._script[0] if self._script else None
            if scripted:
                scripted.remaining -= 1
                if scripted.remaining <= 0:
                    self._script.pop(0)
        if scripted:
            time.sleep(scripted.delay)
            if scripted.status != 202:
                return self._answer(handler, record, scripted.status, {"message": f"scripted {scripted.status}"})
        if handler.path.split("?")[0] not in ("/messages", "/message"):
            return self._answer(handler, record, 404, {"message": "not found"})
        if handler.headers.get("Authorization") != _basic(USERNAME, PASSWORD):
            return self._answer(handler, record, 401, {"message": "Unauthorized"})
        problem = self._problem(body)
        if problem:
            self.violations.append(problem)
            return self._answer(handler, record, 400, {"message": problem})
        if body.get("id") in self.known_ids:
            return self._answer(handler, record, 409, {"message": f"message with id {body['id']} already exists"})
        message_id = body.get("id") or f"standin{len(self.requests):013d}"
        self.known_ids.add(message_id)
        recipients = [{"phoneNumber": n, "state": "Pending", "error": None} for n in body["phoneNumbers"]]
        states = {"Pending": "2026-11-23T10:00:00.000+07:00"}
        self._answer(handler, record, 202, {"id": message_id, "state": "Pending", "recipients": recipients,
                                            "isEncrypted": False, "states": states})

    @staticmethod
    def _problem(body: Any) -> str | None:
        """Why the app would refuse this message, or None."""
        if not isinstance(body, dict):
            return "body is not a JSON object"
        kinds = [k for k in ("textMessage", "dataMessage", "message") if body.get(k) is not None]
        if len(kinds) != 1:
            return "Must specify exactly one of: textMessage, dataMessage, or message"
        if "textMessage" in kinds and not (body["textMessage"] or {}).get("text"):
            return "Text message is empty"
        numbers = body.get("phoneNumbers")
        if not numbers:
            return "phoneNumbers is empty"
        if not all(isinstance(n, str) and E164.match(n) for n in numbers):
            return f"phone number is not E.164: {numbers}"
        if body.get("simNumber") is not None and body["simNumber"] < 1:
            return "simNumber must be >= 1"
        if not -128 <= int(body.get("priority", 0)) <= 127:
            return "priority must be between -128 and 127"
        return None

    @staticmethod
    def _answer(handler: BaseHTTPRequestHandler, record: SentRequest, status: int, body: dict[str, Any]) -> None:
        record.answered = status
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def signed_event(event: str, payload: dict[str, Any], event_id: str, *, key: str = SIGNING_KEY,
                 timestamp: int | None = None) -> tuple[bytes, dict[str, str]]:
    """A webhook request as the app sends it: compact JSON body and the two signing headers."""
    document = {"id": event_id, "webhookId": "LreFUt-Z3sSq0JufY9uWB", "event": event, "deviceId": DEVICE_ID,
                "payload": payload}
    body = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = hmac.new(key.encode(), body + stamp.encode(), hashlib.sha256).hexdigest()
    return body, {"X-Signature": signature, "X-Timestamp": stamp, "Content-Type": "application/json"}


@pytest.fixture
def android_standin() -> Iterator[AndroidSmsStandIn]:
    """The app's message API on a free port; requests it would refuse fail the test."""
    standin = AndroidSmsStandIn().start()
    yield standin
    standin.stop()
    assert not standin.violations, f"requests the app would refuse: {standin.violations}"
