"""Provider webhooks answered before Flask's dispatch (gateway/web/direct.py): the same answers as the Flask routes,
the app's body limit, the NUL check of the query, the headers, and a clear 500 for a bug. On PostgreSQL + rq and
SQLite + the embedded queue."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select
from werkzeug.test import Client

from channels.twilio import TwilioChannel
from gateway.web.direct import DirectWebhooks
from models import InboundMessage
from tests.channels import twilio_payloads as payloads
from tests.channels.test_twilio import SMS_PATH, STATUS_PATH, form
from tests.conftest import PUBLIC_URL, Stack, post_twilio, twilio_signature


def _stored(stack: Stack) -> int:
    with stack.runtime.db.session() as session:
        return session.scalar(select(func.count()).select_from(InboundMessage))


def test_the_direct_path_is_in_front_of_flask(stack: Stack) -> None:
    assert isinstance(stack.app.wsgi_app, DirectWebhooks)
    assert set(stack.app.wsgi_app.routes) >= {SMS_PATH, STATUS_PATH, "/webhooks/android-sms"}


@pytest.mark.parametrize("path, body", [(SMS_PATH, payloads.SMS),
                                        (STATUS_PATH, payloads.status_body("SM" + "e" * 32, "delivered"))])
def test_flask_and_the_direct_path_answer_alike(stack: Stack, path: str, body: str) -> None:
    """The same signed requests through the direct path and through the Flask app behind it."""
    through_flask = Client(stack.app.wsgi_app.flask)
    for number, client in enumerate((stack.client, through_flask)):
        params = form(body, MessageSid=f"SM{number:032x}", SmsSid=f"SM{number:032x}")
        headers = {"X-Twilio-Signature": twilio_signature(PUBLIC_URL + path, params)}
        response = client.post(path, data=urlencode(params), headers=headers,
                               content_type="application/x-www-form-urlencoded")
        if number == 0:
            direct = response
        else:
            assert (response.status_code, response.get_data(), response.mimetype) == (
                direct.status_code, direct.get_data(), direct.mimetype)
            assert sorted(response.headers.items()) == sorted(direct.headers.items())


def test_a_body_over_the_limit_is_413_and_nothing_is_stored(stack: Stack) -> None:
    params = form(payloads.SMS, Body="x" * (2 * 1024 * 1024 + 10))
    response = post_twilio(stack.client, SMS_PATH, params)
    assert response.status_code == 413
    assert _stored(stack) == 0


def test_a_nul_in_the_query_is_400_naming_the_field(stack: Stack) -> None:
    params = form(payloads.SMS)
    path = SMS_PATH + "?tag=a%00b"
    response = post_twilio(stack.client, path, params)
    assert response.status_code == 400
    assert "tag: contains a NUL character" in response.get_data(as_text=True)
    assert _stored(stack) == 0


def test_another_method_goes_to_flask(stack: Stack) -> None:
    response = stack.client.get(SMS_PATH)
    assert response.status_code == 405
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_a_bug_is_a_logged_500_with_the_headers(stack: Stack, monkeypatch: pytest.MonkeyPatch,
                                                caplog: pytest.LogCaptureFixture) -> None:
    def broken(self: Any, request: Any, url: str) -> None:
        raise RuntimeError("a bug in the channel")

    monkeypatch.setattr(TwilioChannel, "parse_inbound", broken)
    with pytest.raises(RuntimeError, match="a bug"):  # testing: raised, as Flask raises it
        post_twilio(stack.client, SMS_PATH, form(payloads.SMS))
    stack.app.config["TESTING"] = False
    response = post_twilio(stack.client, SMS_PATH, form(payloads.SMS))
    assert response.status_code == 500
    assert "Internal Server Error" in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)
    assert response.headers["X-Frame-Options"] == "DENY"
    assert f"Exception on {SMS_PATH} [POST]" in caplog.text and "a bug in the channel" in caplog.text
