"""End to end at a fixed rate: webhook sent -> ticket reply received by the Twilio stand-in.

Open loop: message i is due at start + i/rate whatever happened to the earlier ones, sent from a pool
of threads (one new connection each, as gunicorn's sync workers close them). Every message has its own
sender number, so the stand-in's CreateMessage request whose To is that number is its reply.
"""

from __future__ import annotations

import http.client
import math
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from bench.webhook.payloads import WEBHOOK_PATH, SignedWebhook
from tests.support.twilio_standin import TwilioStandIn


@dataclass
class Sent:
    """One webhook as sent: when it was due, when it went, how the server answered."""

    webhook: SignedWebhook
    due: float
    started: float
    status: int
    answered: float


@dataclass
class EndToEnd:
    """Figures of one open-loop run."""

    sent: list[Sent]
    replies: dict[str, float]  # sender -> time the stand-in received the reply to them
    seconds_to_reply: list[float]
    max_send_lag: float
    violations: int

    @property
    def accepted(self) -> int:
        return sum(1 for item in self.sent if item.status == 200)

    @property
    def webhook_latencies(self) -> list[float]:
        return [item.answered - item.started for item in self.sent if item.status == 200]

    @property
    def missing(self) -> int:
        return sum(1 for item in self.sent if item.status == 200 and item.webhook.sender not in self.replies)


def post(port: int, webhook: SignedWebhook, due: float) -> Sent:
    """POST one signed webhook on a new connection; status 0 when it could not be sent."""
    started = time.time()
    status = 0
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("POST", WEBHOOK_PATH, body=webhook.body, headers={
            "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": webhook.signature})
        response = connection.getresponse()
        response.read()
        status = response.status
        connection.close()
    except OSError:
        pass
    return Sent(webhook=webhook, due=due, started=started, status=status, answered=time.time())


def run_open_loop(port: int, webhooks: list[SignedWebhook], rate: float, standin: TwilioStandIn,
                  reply_timeout: float = 60.0) -> EndToEnd:
    """Send ``webhooks`` at ``rate`` per second, then wait up to ``reply_timeout`` s for every reply."""
    start = time.time() + 0.5
    with ThreadPoolExecutor(max_workers=32, thread_name_prefix="bench-sender") as pool:
        futures = []
        for number, webhook in enumerate(webhooks):
            due = start + number / rate
            pause = due - time.time()
            if pause > 0:
                time.sleep(pause)
            futures.append(pool.submit(post, port, webhook, due))
        sent = [future.result() for future in futures]
    expected = {item.webhook.sender for item in sent if item.status == 200}
    replies: dict[str, float] = {}
    deadline = time.time() + reply_timeout
    while time.time() < deadline:
        replies = replies_by_recipient(standin)
        if expected <= replies.keys():
            break
        time.sleep(0.2)
    seconds = [replies[item.webhook.sender] - item.started for item in sent if item.webhook.sender in replies]
    return EndToEnd(sent=sent, replies=replies, seconds_to_reply=seconds,
                    max_send_lag=max(item.started - item.due for item in sent), violations=len(standin.violations))


def replies_by_recipient(standin: TwilioStandIn) -> dict[str, float]:
    """Recipient number -> when the stand-in received the first accepted CreateMessage to it."""
    replies: dict[str, float] = {}
    for request in standin.requests:
        if request.method == "POST" and request.status == 201:
            recipient = request.params.get("To", "")
            replies.setdefault(recipient, request.received_at)
    return replies


def percentile(values: list[float], share: float) -> float:
    """The ``share`` (0..1) percentile, nearest rank."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")
