"""A local HTTP stand-in for Twilio's Messages REST API, for tests and benchmarks.

:class:`TwilioStandIn` serves ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` (CreateMessage),
``GET .../Messages.json`` (ListMessage: To, From, DateSent filters, newest first, paged by PageSize with
``next_page_uri``) and ``GET .../Messages/{Sid}.json`` (FetchMessage) on 127.0.0.1 with an ephemeral port.
:meth:`TwilioStandIn.set_status` moves a message on as Twilio's own processing would. Every request is recorded
and checked against Twilio's OpenAPI description and documented rules (:mod:`twilio_contract`); a request
Twilio would reject gets Twilio's 400/401 error JSON, and every problem is kept as a violation.

Pointing the real twilio client (twilio>=9) at it: twilio-python builds absolute ``https://api.twilio.com/...``
URLs and hands them to its ``HttpClient``, which is the library's supported extension point. A
``TwilioHttpClient`` subclass that swaps scheme and host keeps pooling, timeouts and logging::

    client = Client(account_sid, auth_token, http_client=StandInHttpClient(standin.base_url, timeout=5))

The subclass also catches the ``api.<edge>.<region>.twilio.com`` hosts that ``TWILIO_EDGE``/``TWILIO_REGION``
produce. Setting ``client.api.base_url = standin.base_url`` also works, but patches an attribute of generated
code and is bypassed by edge/region settings.

In a test, take the ``twilio_standin`` fixture (import it into a conftest), send, then assert on
``twilio_standin.messages_sent()`` or ``twilio_standin.requests``; any contract violation fails the test at
teardown unless it set ``twilio_standin.expect_violations = True``.

WhatsApp's 24-hour window: after :meth:`TwilioStandIn.close_whatsapp_window` for a number, a free-form message
(a ``Body``, or a ``ContentSid`` that :meth:`TwilioStandIn.approve_template` did not approve) to
``whatsapp:<number>`` is answered as Twilio does: 201 ``queued``, then the message fails with error 63016 and a
status callback says so. The stand-in cannot reach the app's public URL, so it keeps those callbacks
(:meth:`TwilioStandIn.status_callbacks`) for the test to deliver.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from .twilio_contract import Violation, create_message_spec
from .twilio_handler import ERROR_MESSAGES, RecordedRequest, StandInServer

WINDOW_CLOSED = 63016


class StandInHttpClient(TwilioHttpClient):
    """A ``TwilioHttpClient`` that sends requests for api.twilio.com to another base URL."""

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        """Keep ``base_url`` (e.g. ``http://127.0.0.1:40123``); other arguments go to TwilioHttpClient."""
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        """Send a request for ``https://api[.edge.region].twilio.com/<path>`` to ``<base_url>/<path>``."""
        parts = urlsplit(url)
        if parts.hostname and parts.hostname.startswith("api.") and parts.hostname.endswith(".twilio.com"):
            url = self.base_url + urlunsplit(("", "", parts.path, parts.query, ""))
        return super().request(method, url, *args, **kwargs)


@dataclass
class ScriptedAnswer:
    """An answer queued by :meth:`TwilioStandIn.fail_next` or :meth:`TwilioStandIn.delay_next`."""

    status: int
    code: int | None
    message: str | None
    delay: float
    remaining: int
    body: str | None = None


@dataclass(frozen=True)
class StatusCallback:
    """A status callback Twilio would POST to a message's StatusCallback URL: the URL and the form fields."""

    url: str
    params: dict[str, str]


class TwilioStandIn:
    """A Twilio Messages API on 127.0.0.1, started and stopped around a test or a benchmark.

    Use as a context manager or with :meth:`start`/:meth:`stop`. Thread-safe: requests are handled in
    server threads while the test reads :attr:`requests` or waits with :meth:`wait_for_messages`.

    Attributes:
        auth_token: When set, the Basic auth password must equal it; otherwise any password passes.
        expect_violations: Set by a test that sends bad requests on purpose, so the fixture does not fail it.
    """

    def __init__(self, auth_token: str | None = None) -> None:
        self.auth_token = auth_token
        self.expect_violations = False
        self._state = threading.Condition()
        self._requests: list[RecordedRequest] = []
        self._messages: dict[str, dict[str, Any]] = {}
        self._script: deque[ScriptedAnswer] = deque()
        self._closed_windows: set[str] = set()
        self._approved_templates: set[str] = set()
        self._callbacks: list[StatusCallback] = []
        self._failure_share = 0.0
        self._failure_statuses: tuple[int, ...] = ()
        self._random = random.Random(0)
        self._server: StandInServer | None = None
        self._thread: threading.Thread | None = None
        self.stopping = threading.Event()

    def start(self) -> TwilioStandIn:
        """Parse the spec and build its checks (once per process), bind an ephemeral port and serve in a daemon
        thread."""
        create_message_spec()
        self.stopping.clear()
        self._server = StandInServer(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="twilio-standin", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake any delayed answers and free the port."""
        if self._server is None:
            return
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._server = None

    def __enter__(self) -> TwilioStandIn:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``, to use where the app would use https://api.twilio.com."""
        if self._server is None:
            raise RuntimeError("TwilioStandIn is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def client(self, account_sid: str, auth_token: str, timeout: float = 5) -> Client:
        """A real twilio ``Client`` whose requests come to this stand-in."""
        return Client(account_sid, auth_token, http_client=StandInHttpClient(self.base_url, timeout=timeout))

    def fail_next(
        self, status: int, code: int | None = None, message: str | None = None, times: int = 1, delay: float = 0.0,
        body: str | None = None,
    ) -> None:
        """Answer the next ``times`` CreateMessage requests with a Twilio error instead of 201.

        Args:
            status: HTTP status, e.g. 400, 429, 500.
            code: Twilio error code, e.g. 21211, 21610, 20429; defaults to one matching the status.
            message: Error message; defaults to Twilio's wording for the code.
            times: How many requests get this answer.
            delay: Seconds to wait before answering, to drive client timeouts.
            body: Send this text (``text/html``) instead of Twilio's JSON, as a proxy or load balancer in front of
                Twilio may; with ``status`` 201 the message is still created (the answer was lost on the way).
        """
        with self._state:
            self._script.append(ScriptedAnswer(status, code, message, delay, times, body))

    def fail_share(self, share: float, statuses: tuple[int, ...] = (429, 500), seed: int = 0) -> None:
        """From now on answer a random ``share`` (0..1) of CreateMessage requests with one of ``statuses``
        (Twilio's error JSON, code 20429 / 20500 ...) instead of 201, as a provider under strain does.
        Scripted answers (:meth:`fail_next`) go first. ``share`` 0 turns it off."""
        if not 0 <= share <= 1:
            raise ValueError(f"share must be between 0 and 1, got {share}")
        with self._state:
            self._failure_share, self._failure_statuses = share, tuple(statuses)
            self._random = random.Random(seed)

    def random_failure(self) -> int | None:
        """The status to fail this request with under :meth:`fail_share`, or None (called by the handler)."""
        with self._state:
            if self._failure_share and self._random.random() < self._failure_share:
                return self._random.choice(self._failure_statuses)
            return None

    def delay_next(self, seconds: float, times: int = 1) -> None:
        """Answer the next ``times`` CreateMessage requests normally, but only after ``seconds``."""
        with self._state:
            self._script.append(ScriptedAnswer(201, None, None, seconds, times))

    def close_whatsapp_window(self, number: str) -> None:
        """WhatsApp's 24-hour window with ``number`` (E.164) is closed: free-form messages to it fail with 63016."""
        with self._state:
            self._closed_windows.add(number.removeprefix("whatsapp:"))

    def approve_template(self, content_sid: str) -> None:
        """A Content API template WhatsApp approved: it goes through outside the window too."""
        with self._state:
            self._approved_templates.add(content_sid)

    def status_callbacks(self) -> list[StatusCallback]:
        """The status callbacks Twilio would have sent so far (failures outside the window), oldest first."""
        with self._state:
            return list(self._callbacks)

    def fail_outside_window(self, params: dict[str, str], resource: dict[str, Any]) -> None:
        """After a 201: a free-form WhatsApp message to a closed window fails with 63016 (called by the handler).

        Twilio accepts the message, then WhatsApp refuses it: the Message resource becomes ``failed`` with
        ``error_code`` 63016 and a status callback (``MessageStatus=failed``, ``ErrorCode=63016``) goes to the
        message's StatusCallback URL.
        """
        to, sender = params.get("To", ""), params.get("From", "")
        with self._state:
            if not to.startswith("whatsapp:") or to.removeprefix("whatsapp:") not in self._closed_windows:
                return
            if params.get("ContentSid") in self._approved_templates:
                return
            failed = {**resource, "status": "failed", "error_code": WINDOW_CLOSED,
                      "error_message": ERROR_MESSAGES[WINDOW_CLOSED]}
            self._messages[resource["sid"]] = failed
            if params.get("StatusCallback"):
                self._callbacks.append(StatusCallback(params["StatusCallback"], {
                    "ChannelPrefix": "whatsapp", "ApiVersion": "2010-04-01", "MessageStatus": "failed",
                    "SmsSid": resource["sid"], "SmsStatus": "failed", "ChannelInstallSid": "XE" + "0" * 32,
                    "ErrorMessage": "", "To": to, "From": sender, "MessageSid": resource["sid"],
                    "StructuredMessage": "false", "AccountSid": resource["account_sid"],
                    "ChannelToAddress": to.removeprefix("whatsapp:"), "ErrorCode": str(WINDOW_CLOSED),
                }))

    def set_status(self, sid: str, status: str, error_code: int | None = None) -> None:
        """Move a message on (``sent``, ``delivered``, ``undelivered`` ...) as Twilio's processing would; a sent
        message gets its ``date_sent``."""
        with self._state:
            resource = dict(self._messages[sid])
            resource["status"], resource["error_code"] = status, error_code
            if status != "queued" and not resource.get("date_sent"):
                resource["date_sent"] = resource["date_updated"]
            self._messages[sid] = resource

    def reset(self) -> None:
        """Forget recorded requests, messages, scripted answers, closed windows and callbacks."""
        with self._state:
            self._requests.clear()
            self._messages.clear()
            self._script.clear()
            self._closed_windows.clear()
            self._approved_templates.clear()
            self._callbacks.clear()
            self._failure_share = 0.0

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, oldest first."""
        with self._state:
            return list(self._requests)

    @property
    def violations(self) -> list[Violation]:
        """Every contract violation seen so far, in the order received."""
        return [violation for request in self.requests for violation in request.violations]

    def messages_sent(self) -> list[dict[str, Any]]:
        """The Message resources of accepted CreateMessage requests (answered 201), oldest first."""
        with self._state:
            return list(self._messages.values())

    def message(self, sid: str) -> dict[str, Any] | None:
        """The Message resource created with ``sid``, if any."""
        with self._state:
            return self._messages.get(sid)

    def wait_for_messages(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Block until at least ``count`` messages were accepted, and return them all.

        Raises:
            AssertionError: If fewer arrived within ``timeout`` seconds; the message lists what did arrive.
        """
        with self._state:
            if not self._state.wait_for(lambda: len(self._messages) >= count, timeout=timeout):
                raise AssertionError(
                    f"expected {count} messages within {timeout}s, got {len(self._messages)}; "
                    f"{len(self._requests)} requests: {[(r.method, r.path, r.status) for r in self._requests]}"
                )
            return list(self._messages.values())

    def assert_no_violations(self) -> None:
        """Fail with one line per bad parameter if any request broke Twilio's contract."""
        lines = [
            f"  {request.method} {request.path} -> {request.status}: {violation}"
            for request in self.requests
            for violation in request.violations
        ]
        if lines:
            raise AssertionError("Requests to the Twilio stand-in broke Twilio's contract:\n" + "\n".join(lines))

    def record(self, request: RecordedRequest) -> None:
        """Keep a received request (called by the handler)."""
        with self._state:
            self._requests.append(request)
            self._state.notify_all()

    def next_scripted_answer(self) -> ScriptedAnswer | None:
        """Take one use of the oldest scripted answer, if any (called by the handler)."""
        with self._state:
            if not self._script:
                return None
            answer = self._script[0]
            answer.remaining -= 1
            if answer.remaining <= 0:
                self._script.popleft()
            return answer

    def store_message(self, resource: dict[str, Any]) -> None:
        """Keep an accepted Message resource and wake waiters (called by the handler)."""
        with self._state:
            self._messages[resource["sid"]] = resource
            self._state.notify_all()


@pytest.fixture
def twilio_standin() -> Iterator[TwilioStandIn]:
    """A started :class:`TwilioStandIn`; fails the test at teardown on any contract violation.

    A test that sends bad requests on purpose sets ``twilio_standin.expect_violations = True``.
    """
    with TwilioStandIn() as standin:
        yield standin
        if not standin.expect_violations:
            standin.assert_no_violations()
