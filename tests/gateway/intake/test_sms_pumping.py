"""SMS pumping (issue 14, finding 5) as tables: the anonymous form and the app asked to confirm to satellite,
premium and foreign numbers, one number again and again, and the day's budget spent."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import phonenumbers
import pytest
from sqlalchemy import select

from channels.phone import sms_refusal
from gateway.settings import ConfigError, load_settings
from models import Outbox, User
from models.user import SUPER_ADMIN
from tests.conftest import ROOT, Stack, _empty_tables, _stack
from tests.gateway.jobs.test_inbound import text_in
from tests.gateway.web.form.test_form_submit import open_form, send
from tests.gateway.web.intake_support import new_api_key
from tests.support.twilio_standin import TwilioStandIn

PhoneType = phonenumbers.PhoneNumberType


def example(region: str, kind: int = PhoneType.MOBILE) -> str:
    return phonenumbers.format_number(phonenumbers.example_number_for_type(region, kind),
                                      phonenumbers.PhoneNumberFormat.E164)


def network(code: int) -> str:
    return phonenumbers.format_number(phonenumbers.example_number_for_non_geo_entity(code),
                                      phonenumbers.PhoneNumberFormat.E164)


NUMBERS = [
    # label, number, why it gets no SMS (None: it gets one)
    ("Indonesian mobile", "+6281234567890", None),
    ("satellite +881 (Iridium)", network(881), "satellite"),
    ("international network +882", network(882), "satellite"),
    ("international network +883", network(883), "satellite"),
    ("Inmarsat +870", network(870), "satellite"),
    ("UK mobile +44", "+447400123456", "region"),
    ("US +1", "+12015550123", "region"),
    ("Eritrea +291", example("ER"), "region"),
    ("Indonesian premium rate", example("ID", PhoneType.PREMIUM_RATE), "premium"),
    ("Indonesian shared cost", example("ID", PhoneType.SHARED_COST), "premium"),
    ("UK premium rate", example("GB", PhoneType.PREMIUM_RATE), "premium"),
    ("US premium rate +1 900", example("US", PhoneType.PREMIUM_RATE), "premium"),
]


@pytest.mark.parametrize(("label", "number", "reason"), NUMBERS, ids=[case[0] for case in NUMBERS])
def test_which_numbers_get_sms(label: str, number: str, reason: str | None) -> None:
    assert sms_refusal(number, ("ID",)) == reason, label
    if reason == "region":
        assert sms_refusal(number, ("*",)) is None, label  # "*": any country, premium and satellite never
    if reason in ("premium", "satellite"):
        assert sms_refusal(number, ("*",)) == reason, label


def test_the_shipped_default_is_indonesia_only() -> None:
    settings = load_settings(environ={}, config_path=str(ROOT / "config.yaml"))
    assert settings.sms.allowed_regions == ("ID",)
    assert settings.sms.per_number_daily >= 1 and settings.sms.daily_budget >= 1


@pytest.mark.parametrize(("edit", "names"), [
    ("allowed_regions: [XX]", "sms.allowed_regions"), ("per_number_daily: 0", "sms.per_number_daily"),
    ("daily_budget: -1", "sms.daily_budget"),
], ids=lambda value: value if " " in value else None)
def test_bad_sms_limits_name_the_key(tmp_path: Path, edit: str, names: str) -> None:
    key = edit.split(":")[0]
    text = re.sub(rf"(?m)^  {key}: .*$", f"  {edit}", (ROOT / "config.yaml").read_text(), count=1)
    (tmp_path / "config.yaml").write_text(text)
    with pytest.raises(ConfigError) as raised:
        load_settings(environ={}, config_path=str(tmp_path / "config.yaml"))
    assert names in str(raised.value)


@pytest.fixture(params=["postgres", "sqlite"])
def limited(request: pytest.FixtureRequest, twilio_standin: TwilioStandIn, tmp_path: Path) -> Iterator[Stack]:
    """The stack with the shipped SMS policy (Indonesia only) and small limits: 2 a number, 5 a day."""
    url = request.getfixturevalue(f"{request.param}_url")
    built = _stack(request.param, url, twilio_standin, intake__media_dir=str(tmp_path / "media"),
                   sms__allowed_regions=("ID",), sms__per_number_daily=2, sms__daily_budget=5)
    yield built
    built.runtime.db.dispose()
    if request.param == "postgres":
        built.runtime.queue.connection.flushdb()
    _empty_tables(url)


def api_file(stack: Stack, key: str, phone: str) -> dict:
    response = stack.client.post("/api/v1/complaints", json={"text": "lampu jalan mati di Jl. Ijen", "phone": phone},
                                 headers={"X-API-Key": key})
    assert response.status_code == 201, response.json
    return response.json


@pytest.mark.parametrize(("label", "number", "reason"), NUMBERS, ids=[case[0] for case in NUMBERS])
def test_the_app_confirms_only_to_numbers_that_may_get_sms(limited: Stack, twilio_standin: TwilioStandIn,
                                                           label: str, number: str, reason: str | None) -> None:
    body = api_file(limited, new_api_key(limited), number)
    limited.work()
    sent = twilio_standin.messages_sent()
    with limited.runtime.db.session() as session:
        row = session.scalar(select(Outbox))
        if reason is None:
            assert body["confirmation"] == "sms" and [m["to"] for m in sent] == [number], label
            assert row.status != "not_sent", label
        else:
            assert body["confirmation"] == "sms_refused" and sent == [], label
            assert (row.status, row.error_code, row.recipient) == ("not_sent", reason, number), label


def test_the_form_says_so(limited: Stack, twilio_standin: TwilioStandIn) -> None:
    client, hidden = open_form(limited)
    response = send(client, {**hidden, "text": "Jalan rusak berlubang depan SDN 3 Sawojajar", "phone": network(881)})
    assert response.status_code == 303
    done = client.get("/aduan/terkirim").get_data(as_text=True)
    assert "Kami tidak mengirim SMS ke nomor ini" in done
    limited.work()
    assert twilio_standin.messages_sent() == []


def test_at_most_n_sms_a_day_to_one_number(limited: Stack, twilio_standin: TwilioStandIn) -> None:
    key = new_api_key(limited)
    confirmations = [api_file(limited, key, "+6281234567890")["confirmation"] for _ in range(3)]
    assert confirmations == ["sms", "sms", "sms_refused"]
    limited.work()
    assert len(twilio_standin.messages_sent()) == 2
    with limited.runtime.db.session() as session:
        refused = session.scalar(select(Outbox).where(Outbox.status == "not_sent"))
        assert refused.error_code == "per_number_daily"
    # The citizen's own SMS are answered whatever the count: they started them.
    for _ in range(3):
        text_in(limited, "jalan rusak berlubang depan SDN 3 Sawojajar", "+6281234567890")
    limited.work()
    assert len(twilio_standin.messages_sent()) == 5


def test_the_daily_budget_and_the_alert_at_80_percent(limited: Stack, twilio_standin: TwilioStandIn) -> None:
    with limited.runtime.db.session() as session:
        session.add(User(email="super@malangkota.go.id", role=SUPER_ADMIN, password_hash="x", active=True))
        session.commit()
    key = new_api_key(limited)
    numbers = [f"+62812345678{index:02d}" for index in range(7)]
    confirmations = [api_file(limited, key, number)["confirmation"] for number in numbers]
    assert confirmations == ["sms"] * 5 + ["sms_refused"] * 2  # the budget is 5
    with limited.runtime.db.session() as session:
        alerts = session.scalars(select(Outbox).where(Outbox.kind == "sms_budget")).all()
        assert [(alert.recipient, alert.medium) for alert in alerts] == [("super@malangkota.go.id", "email")]
        assert "4 dari 5 SMS" in alerts[0].subject  # written when the 4th (80%) was spent, once
        refused = session.scalars(select(Outbox.error_code).where(Outbox.status == "not_sent")).all()
        assert refused == ["daily_budget", "daily_budget"]
