"""The HTTP side of the Twilio stand-in: routing, recording, checking and Twilio-shaped answers.

Answers follow the Message resource schema of twilio_api_v2010.json (``api.v2010.account.message``) and
Twilio's error JSON: ``{"code", "message", "more_info", "status"}``.
"""

from __future__ import annotations

import json
import math
import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode, urlsplit

from .twilio_contract import (
    INVALID_PARAMETER,
    TwilioFormRequest,
    Violation,
    check_auth,
    check_create_message,
    check_list_messages,
)

if TYPE_CHECKING:
    from .twilio_standin import TwilioStandIn

MESSAGES_ROUTE = re.compile(r"^/2010-04-01/Accounts/(?P<account>[^/]+)/Messages\.json$")
MESSAGE_ROUTE = re.compile(r"^/2010-04-01/Accounts/(?P<account>[^/]+)/Messages/(?P<sid>[^/]+)\.json$")
ERROR_MESSAGES = {
    20003: "Authenticate",
    20404: "The requested resource was not found",
    20429: "Too Many Requests",
    20500: "Internal Server Error",
    20503: "Service Unavailable",
    21211: "Invalid 'To' Phone Number",
    21610: "Attempt to send to unsubscribed recipient",
    21614: "'To' number is not a valid mobile number",
    21656: "The ContentVariables Parameter is invalid",
    21910: "Invalid From and To pair. From and To should be of the same channel",
    63016: ("Failed to send freeform message because you are outside the allowed window. If you are using WhatsApp, "
            "please use a Message Template."),
}
# GSM 03.38 basic set; the extension characters cost two septets each.
GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿"
    "abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = set("^{}\\[~]|€\f")


@dataclass
class RecordedRequest:
    """One request as the stand-in received and answered it."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    form: dict[str, list[str]]
    raw_body: bytes
    received_at: float
    violations: list[Violation] = field(default_factory=list)
    status: int = 0
    answer: dict[str, Any] | None = None
    sent_instead: str | None = None  # a body sent instead of ``answer`` (fail_next(body=...))
    peer: tuple[str, int] | None = None  # the client's address and port: one per kept-alive connection

    @property
    def params(self) -> dict[str, str]:
        """The form with the first value of each key, as Twilio reads scalar parameters."""
        return {name: values[0] for name, values in self.form.items() if values}


def num_segments(body: str) -> int:
    """SMS segments for ``body``: 160/153 GSM-7 septets, else 70/67 UCS-2 code units per segment."""
    if all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in body):
        length, single, part = sum(2 if char in GSM7_EXTENSION else 1 for char in body), 160, 153
    else:
        length, single, part = len(body.encode("utf-16-le")) // 2, 70, 67
    return 1 if length <= single else math.ceil(length / part)


def twilio_error(code: int, status: int, message: str | None = None) -> dict[str, Any]:
    """Twilio's error JSON for ``code``."""
    return {
        "code": code,
        "message": message or ERROR_MESSAGES.get(code, f"Error {code}"),
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def message_resource(account_sid: str, params: dict[str, str], media_count: int) -> dict[str, Any]:
    """A Message resource as Twilio answers a CreateMessage, per the ``api.v2010.account.message`` schema."""
    sid = ("MM" if media_count else "SM") + secrets.token_hex(16)
    uri = f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}.json"
    now = format_datetime(datetime.now(UTC).replace(microsecond=0), usegmt=False)
    body = params.get("Body", "")
    return {
        "account_sid": account_sid,
        "api_version": "2010-04-01",
        "body": body,
        "date_created": now,
        "date_sent": None,
        "date_updated": now,
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": params.get("From"),
        "messaging_service_sid": params.get("MessagingServiceSid"),
        "num_media": str(media_count),
        "num_segments": str(num_segments(body)),
        "price": None,
        "price_unit": "USD",
        "sid": sid,
        # A Messaging Service without From first picks a sender: "accepted", otherwise "queued".
        "status": "accepted" if "From" not in params else "queued",
        "subresource_uris": {"media": uri.removesuffix(".json") + "/Media.json"},
        "to": params.get("To"),
        "uri": uri,
    }


class StandInServer(ThreadingHTTPServer):
    """A threading HTTP server on 127.0.0.1 that knows its stand-in; bursts of connections are queued."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, standin: TwilioStandIn) -> None:
        self.standin = standin
        super().__init__(("127.0.0.1", 0), TwilioHandler)


class TwilioHandler(BaseHTTPRequestHandler):
    """Serves one connection of the stand-in; ``self.server.standin`` is the owning TwilioStandIn."""

    protocol_version = "HTTP/1.1"
    timeout = 10  # close idle keep-alive connections
    wbufsize = 1 << 16  # headers and body leave in one send (flushed by http.server after each request)
    disable_nagle_algorithm = True

    @property
    def standin(self) -> TwilioStandIn:
        assert isinstance(self.server, StandInServer)
        return self.server.standin

    def do_POST(self) -> None:
        self._serve()

    def do_GET(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet; the stand-in records every request instead."""

    def _serve(self) -> None:
        if self.standin.stopping.is_set():
            self.close_connection = True  # a stopped stand-in drops kept-alive connections unanswered
            return
        parts = urlsplit(self.path)
        raw_body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        recorded = RecordedRequest(
            method=self.command,
            path=parts.path,
            query=parts.query,
            headers=dict(self.headers.items()),
            form=parse_qs(raw_body.decode("utf-8", "replace"), keep_blank_values=True),
            raw_body=raw_body,
            received_at=time.time(),
            peer=self.client_address[:2],
        )
        status, answer, delay = self._answer(recorded)
        recorded.status, recorded.answer = status, answer
        self.standin.record(recorded)
        if status == 201:
            self.standin.store_message(answer)
            # WhatsApp past the 24-hour window: accepted, then failed with 63016 in a status callback.
            self.standin.fail_outside_window(recorded.params, answer)
        if delay and self.standin.stopping.wait(delay):
            return
        if recorded.sent_instead is not None:
            self._send(status, recorded.sent_instead.encode("utf-8"), "text/html; charset=utf-8")
        else:
            self._send(status, json.dumps(answer).encode("utf-8"), "application/json; charset=utf-8")

    def _answer(self, recorded: RecordedRequest) -> tuple[int, dict[str, Any], float]:
        """Check the request and choose the answer: (status, JSON, delay before answering)."""
        create = MESSAGES_ROUTE.match(recorded.path)
        fetch = MESSAGE_ROUTE.match(recorded.path)
        listing = create if self.command == "GET" else None
        route = create if self.command == "POST" else (fetch or listing) if self.command == "GET" else None
        if route is None:
            return 404, twilio_error(20404, 404), 0.0
        account_sid = route["account"]
        auth_problem = check_auth(account_sid, self.headers.get("Authorization"), self.standin.auth_token)
        if auth_problem:
            recorded.violations.append(auth_problem)
            return 401, twilio_error(20003, 401), 0.0
        if listing:
            return self._list(recorded, account_sid)
        if fetch:
            resource = self.standin.message(route["sid"])
            return (200, resource, 0.0) if resource else (404, twilio_error(20404, 404), 0.0)
        form_request = TwilioFormRequest(
            self.command, recorded.path, recorded.headers, recorded.raw_body, self.headers.get("Content-Type", "")
        )
        recorded.violations.extend(check_create_message(form_request, recorded.form))
        scripted = self.standin.next_scripted_answer()
        if scripted is not None:
            recorded.sent_instead = scripted.body
        if scripted is None:  # a random share of failures (fail_share), for fault-injection runs
            failure = self.standin.random_failure()
            if failure is not None:
                default_code = {429: 20429, 500: 20500, 503: 20503}.get(failure, failure)
                return failure, twilio_error(default_code, failure), 0.0
        if scripted and scripted.status != 201:
            default_code = {429: 20429, 500: 20500, 503: 20503}.get(scripted.status, scripted.status)
            error = twilio_error(scripted.code or default_code, scripted.status, scripted.message)
            return scripted.status, error, scripted.delay
        delay = scripted.delay if scripted else 0.0
        rejection = next((v for v in recorded.violations if v.status == 400), None)
        if rejection:
            return 400, twilio_error(rejection.code, 400, _answer_message(rejection)), delay
        return 201, message_resource(account_sid, recorded.params, len(recorded.form.get("MediaUrl", []))), delay

    def _list(self, recorded: RecordedRequest, account_sid: str) -> tuple[int, dict[str, Any], float]:
        """ListMessage: the account's messages, newest first, filtered by To, From and DateSent (a message not yet
        sent has no date_sent, so a DateSent filter leaves it out, as at Twilio), one page of PageSize."""
        query = parse_qs(recorded.query, keep_blank_values=True)
        form_request = TwilioFormRequest("GET", recorded.path, recorded.headers, b"", "", query=query)
        recorded.violations.extend(check_list_messages(form_request, query))
        if any(v.status == 400 for v in recorded.violations):
            rejection = next(v for v in recorded.violations if v.status == 400)
            return 400, twilio_error(rejection.code, 400, _answer_message(rejection)), 0.0
        first = {name: values[0] for name, values in query.items() if values}
        found = [m for m in reversed(self.standin.messages_sent()) if m["account_sid"] == account_sid
                 and ("To" not in first or m["to"] == first["To"])
                 and ("From" not in first or m["from"] == first["From"])
                 and _sent_within(m, first)]
        size = int(first.get("PageSize", "50"))
        page = int(first.get("Page", "0"))
        chunk = found[page * size:(page + 1) * size]
        base = f"/2010-04-01/Accounts/{account_sid}/Messages.json"
        kept = {name: value for name, value in first.items() if name not in ("Page", "PageToken", "PageSize")}

        def uri(number: int) -> str:
            return base + "?" + urlencode({**kept, "PageSize": size, "Page": number, "PageToken": f"PA{number}"})

        more = (page + 1) * size < len(found)
        return 200, {
            "messages": chunk, "page": page, "page_size": size, "start": page * size,
            "end": page * size + max(len(chunk) - 1, 0), "uri": uri(page), "first_page_uri": uri(0),
            "next_page_uri": uri(page + 1) if more else None, "previous_page_uri": uri(page - 1) if page else None,
        }, 0.0

    def _send(self, status: int, data: bytes, content_type: str) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (timeout test)


def _sent_within(message: dict[str, Any], query: dict[str, str]) -> bool:
    """Whether a message passes the DateSent, DateSent< and DateSent> filters (days or full dates, GMT)."""
    filters = {name: query[name] for name in ("DateSent", "DateSent<", "DateSent>") if name in query}
    if not filters:
        return True
    if not message.get("date_sent"):
        return False
    sent = parsedate_to_datetime(message["date_sent"])
    for name, value in filters.items():
        bound = datetime.fromisoformat(value.replace("Z", "+00:00"))
        bound = bound if bound.tzinfo else bound.replace(tzinfo=UTC)
        if name == "DateSent" and sent.date() != bound.date() or name == "DateSent<" and sent > bound \
                or name == "DateSent>" and sent < bound:
            return False
    return True


def _answer_message(violation: Violation) -> str:
    """The message Twilio would put in its 400 answer for ``violation``."""
    if violation.code == INVALID_PARAMETER and violation.param:
        return f"Invalid parameter {violation.param}: {violation.message}"
    return violation.message
