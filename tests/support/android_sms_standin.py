"""A local stand-in for SMS Gateway for Android: its message API, and its signed webhook events.

:class:`AndroidSmsStandIn` serves ``POST /messages`` on 127.0.0.1 the way the app does, both where the device's
local server has it (``/messages``) and where the cloud has it (``/3rdparty/v1/messages``). Every request is
recorded and checked against the app's own API description (:mod:`android_sms_contract`, openapi-core over
``swagger.json``: path, security, the ``Message`` schema) and the rules the description cannot express: basic auth
with the app's credentials or a bearer JWT, exactly one of ``textMessage`` / ``dataMessage`` / ``message``, ``ttl``
or ``validUntil`` but not both, phone numbers in E.164 (decrypted first when ``isEncrypted``, with the passphrase
the app would have). A message may carry the client's own ``id``, which the app keeps: a known id is refused with
409; an accepted message gets ``202`` and the app's ``GetMessageResponse``, and ``GET /messages/{id}`` answers the
same document (its state now: :meth:`set_state`) or 404 for an unknown id. A request the app would refuse is kept in
:attr:`violations`, which fail the test at teardown unless it set :attr:`expect_violations`. :meth:`fail_next`
scripts error answers and delays.

:func:`signed_event` builds a webhook request exactly as the app sends it: the ``WebHookEvent`` JSON (id,
webhookId, event, deviceId, payload), ``X-Signature`` = hex HMAC-SHA256 of body + ``X-Timestamp``.
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
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from android_sms_gateway import Encryptor

from .android_sms_contract import CLOUD_PREFIX, check_request

USERNAME, PASSWORD = "sms", "DZn7pzdC"
TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzYW1iYXQiLCJzY29wZXMiOlsibWVzc2FnZXM6c2VuZCJdfQ.c2lnbmF0dXJl"  # a JWT
SIGNING_KEY = "kS3cr3tS1gn1ngK3y"
PASSPHRASE = "kata-sandi-ponsel-balai-kota"
DEVICE_ID = "ZbJH8qaX2oRk9sYwVt3Lp"  # a cloud device id (21 characters, the API's deviceId)
OTHER_DEVICE_ID = "Qm4TnW7cX1vHs8KdE2rYa"
LOCAL_DEVICE_ID = "ffffffffceb0b1db0000018e937c815b"  # the local server's own id, as in the app's docs
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
MESSAGE_PATHS = ("/messages", CLOUD_PREFIX + "/messages")
MESSAGE_STATE = re.compile(r"^(?:" + re.escape(CLOUD_PREFIX) + r")?/messages/(?P<id>[^/]+)$")


@dataclass
class SentRequest:
    """One request the stand-in received: ``body`` as sent, ``clear`` with encrypted fields decrypted."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    clear: Any = None
    answered: int = 0


@dataclass
class _Scripted:
    status: int
    delay: float
    remaining: int


@dataclass
class AndroidSmsStandIn:
    """The app's message API on 127.0.0.1, started and stopped around a test."""

    passphrase: str | None = None
    requests: list[SentRequest] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    known_ids: set[str] = field(default_factory=set)
    states: dict[str, dict[str, Any]] = field(default_factory=dict)  # GetMessageResponse by message id
    expect_violations: bool = False
    _script: list[_Scripted] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> AndroidSmsStandIn:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                standin._handle(self, "POST")

            def do_GET(self) -> None:  # noqa: N802
                standin._handle(self, "GET")

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
        """The device's local server (local mode's API URL)."""
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def cloud_url(self) -> str:
        """The cloud API URL (cloud mode's API URL), as ``https://api.sms-gate.app/3rdparty/v1`` is."""
        return self.base_url + CLOUD_PREFIX

    def fail_next(self, status: int, delay: float = 0.0, times: int = 1) -> None:
        """Answer the next ``times`` requests with ``status`` (after ``delay`` seconds)."""
        self._script.append(_Scripted(status, delay, times))

    def set_state(self, message_id: str, state: str, error: str | None = None) -> None:
        """Move a message on in the app (``Sent``, ``Delivered``, ``Failed``), as GET /messages/{id} then tells."""
        with self._lock:
            document = self.states[message_id]
            recipients = [{**r, "state": state, **({"error": error} if error else {})} for r in document["recipients"]]
            self.states[message_id] = {**document, "state": state, "recipients": recipients,
                                       "states": {**document["states"], state: "2026-11-23T10:01:00.000+07:00"}}

    def messages_sent(self) -> list[dict[str, Any]]:
        """The accepted messages' bodies in the clear, in order."""
        return [r.clear for r in self.requests if r.answered == 202]

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length)
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            body = raw.decode("latin-1")
        parts = urlsplit(handler.path)
        headers = dict(handler.headers)
        record = SentRequest(method, parts.path, headers, body)
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
        problems = check_request(method, parts.path, parse_qs(parts.query), headers, raw)
        state_path = MESSAGE_STATE.match(parts.path)
        if method == "GET" and state_path:
            return self._state(handler, record, headers, problems, unquote(state_path["id"]))
        if method != "POST" or parts.path not in MESSAGE_PATHS:
            self.violations.extend(problems or [f"{method} {parts.path}: not a path the app serves here"])
            return self._answer(handler, record, 404, {"message": "not found"})
        if headers.get("Authorization") not in (_basic(USERNAME, PASSWORD), f"Bearer {TOKEN}"):
            self.violations.extend(problems + [f"Authorization: not the app's credentials: "
                                               f"{headers.get('Authorization')!r}"])
            return self._answer(handler, record, 401, {"message": "Unauthorized"})
        record.clear, problem = self._decrypted(body)
        problems += [problem] if problem else self._documented_rules(record.clear)
        if problems:
            self.violations.extend(problems)
            return self._answer(handler, record, 400, {"message": "; ".join(problems)})
        if body.get("id") in self.known_ids:
            return self._answer(handler, record, 409, {"message": f"message with id {body['id']} already exists"})
        message_id = body.get("id") or f"standin{len(self.requests):013d}"
        self.known_ids.add(message_id)
        recipients = [{"phoneNumber": n, "state": "Pending"} for n in body["phoneNumbers"]]
        document = {
            "id": message_id, "deviceId": body.get("deviceId") or DEVICE_ID, "state": "Pending",
            "recipients": recipients, "isEncrypted": bool(body.get("isEncrypted")), "isHashed": False,
            "states": {"Pending": "2026-11-23T10:00:00.000+07:00"},
        }
        with self._lock:
            self.states[message_id] = document
        self._answer(handler, record, 202, document)

    def _state(self, handler: BaseHTTPRequestHandler, record: SentRequest, headers: dict[str, str],
               problems: list[str], message_id: str) -> None:
        """GET /messages/{id}: the message's ``GetMessageResponse``, or 404 when the app has no such id."""
        if headers.get("Authorization") not in (_basic(USERNAME, PASSWORD), f"Bearer {TOKEN}"):
            self.violations.extend(problems + ["Authorization: not the app's credentials"])
            return self._answer(handler, record, 401, {"message": "Unauthorized"})
        if problems:
            self.violations.extend(problems)
            return self._answer(handler, record, 400, {"message": "; ".join(problems)})
        with self._lock:
            document = self.states.get(message_id)
        if document is None:
            return self._answer(handler, record, 404, {"message": f"message {message_id} not found"})
        self._answer(handler, record, 200, document)

    def _decrypted(self, body: Any) -> tuple[Any, str | None]:
        """The body with its text and phone numbers decrypted as the app does when ``isEncrypted``."""
        if not isinstance(body, dict) or not body.get("isEncrypted"):
            return body, None
        if not self.passphrase:
            return body, "isEncrypted, but no passphrase is set in the app"
        encryptor = Encryptor(self.passphrase)
        try:
            clear = {**body, "phoneNumbers": [encryptor.decrypt(n) for n in body.get("phoneNumbers") or []]}
            if isinstance(body.get("textMessage"), dict):
                clear["textMessage"] = {**body["textMessage"], "text": encryptor.decrypt(body["textMessage"]["text"])}
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            return body, f"isEncrypted, but it does not decrypt with the app's passphrase: {exc}"
        return clear, None

    @staticmethod
    def _documented_rules(body: Any) -> list[str]:
        """Why the app would refuse this message beyond its schema (in the clear), or nothing."""
        if not isinstance(body, dict):
            return ["body is not a JSON object"]
        problems = []
        kinds = [k for k in ("textMessage", "dataMessage", "message") if body.get(k) is not None]
        if len(kinds) != 1:
            problems.append("Must specify exactly one of: textMessage, dataMessage, or message")
        if body.get("ttl") is not None and body.get("validUntil") is not None:
            problems.append("ttl and validUntil are mutually exclusive")
        numbers = body.get("phoneNumbers") or []
        if not all(isinstance(n, str) and E164.match(n) for n in numbers):
            problems.append(f"phone number is not E.164: {numbers}")
        return problems

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


def webhook_event(event: str, payload: dict[str, Any], event_id: str, device_id: str = DEVICE_ID) -> dict[str, Any]:
    """The app's ``WebHookEvent`` document."""
    return {"id": event_id, "webhookId": "LreFUt-Z3sSq0JufY9uWB", "event": event, "deviceId": device_id,
            "payload": payload}


def signed_event(event: str, payload: dict[str, Any], event_id: str, *, key: str = SIGNING_KEY,
                 timestamp: int | None = None, device_id: str = DEVICE_ID) -> tuple[bytes, dict[str, str]]:
    """A webhook request as the app sends it: compact JSON body and the two signing headers."""
    body = json.dumps(webhook_event(event, payload, event_id, device_id), separators=(",", ":"),
                      ensure_ascii=False).encode()
    return body, sign(body, key=key, timestamp=timestamp)


def sign(body: bytes, *, key: str = SIGNING_KEY, timestamp: int | None = None) -> dict[str, str]:
    """The app's signing headers for a body: X-Signature = hex HMAC-SHA256(key, body + X-Timestamp)."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = hmac.new(key.encode(), body + stamp.encode(), hashlib.sha256).hexdigest()
    return {"X-Signature": signature, "X-Timestamp": stamp, "Content-Type": "application/json"}


@pytest.fixture
def android_standin() -> Iterator[AndroidSmsStandIn]:
    """The app's message API on a free port; requests it would refuse fail the test."""
    standin = AndroidSmsStandIn().start()
    yield standin
    standin.stop()
    if not standin.expect_violations:
        assert not standin.violations, f"requests the app would refuse: {standin.violations}"


__all__ = ["DEVICE_ID", "LOCAL_DEVICE_ID", "OTHER_DEVICE_ID", "PASSPHRASE", "PASSWORD", "SIGNING_KEY", "TOKEN",
           "USERNAME", "AndroidSmsStandIn", "SentRequest", "android_standin", "sign", "signed_event",
           "webhook_event"]
