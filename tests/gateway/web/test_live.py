"""The running app as a citizen's phone meets it: `sambat up` on PostgreSQL and Redis, real processes."""

from __future__ import annotations

from urllib.parse import urlencode
from urllib.request import Request, urlopen

import pytest

from tests.channels.test_twilio import form
from tests.channels.twilio_payloads import SMS
from tests.conftest import twilio_signature
from tests.support.live import Up


@pytest.mark.slow
def test_sms_round_trip_through_the_running_app(live_app: Up, twilio_standin) -> None:  # noqa: ANN001
    url = live_app.url("/webhooks/twilio/sms")
    params = form(SMS)
    request = Request(url, data=urlencode(params).encode(), method="POST",
                      headers={"X-Twilio-Signature": twilio_signature(url, params)})
    with urlopen(request, timeout=5) as response:
        assert response.status == 200

    [reply] = twilio_standin.wait_for_messages(1, timeout=20)
    assert reply["to"] == "+6281234567890" and reply["body"].startswith("Aduan diterima. Tiket ")


@pytest.mark.slow
def test_browser_reaches_the_running_app(live_app: Up, browser_page) -> None:  # noqa: ANN001
    browser_page.goto(live_app.url("/healthz"))
    assert '"database":"ok"' in browser_page.content().replace(" ", "")
