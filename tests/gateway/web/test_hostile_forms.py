"""Hostile input to the citizens' forms drawn by hypothesis: the web form (/aduan), Open311's POST requests and the
ticket lookup. Whatever the fields hold (controls, NUL, very long text, numbers that are not numbers, coordinates
off the Earth, repeated fields), the answer is never a 5xx; a complaint that is filed is a complaint like any
other, worked through the pipeline without an error."""

from __future__ import annotations

import os
from itertools import count

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.conftest import Stack
from tests.gateway.web.form.test_form_submit import open_form, send
from tests.gateway.web.intake_support import new_api_key, web_stack_fixture  # noqa: F401

EXAMPLES = int(os.environ.get("SAMBAT_HOSTILE_EXAMPLES", "30"))
TEXT = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=300)
LONG = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), min_size=2000, max_size=9000)
FIELD = st.one_of(TEXT, LONG, st.sampled_from(["\x00", "nan", "inf", "-1e309", "0", "-91", "181", "9" * 400, "",
                                               " ", "<script>alert(1)</script>", "' OR 1=1 --", "+6281234567890",
                                               "warga@example.org", "sawojajar"]))
_addresses = count(1)
SLOW = (HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much)


@pytest.mark.slow
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=SLOW)
@given(fields=st.dictionaries(st.sampled_from(["text", "name", "phone", "email", "kelurahan", "category", "address",
                                               "latitude", "longitude", "website", "language"]), FIELD, max_size=8))
def test_the_web_form_never_answers_a_server_error(web_stack: Stack, fields: dict) -> None:
    client = web_stack.app.test_client()
    n = next(_addresses)  # a citizen of their own each time: the form's rate limit is not what is tested here
    client.environ_base["REMOTE_ADDR"] = f"10.{n // 62500 % 250}.{n // 250 % 250}.{n % 250 + 1}"
    client, hidden = open_form(web_stack, client)
    response = send(client, {**hidden, **fields})
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    event(f"form answered {response.status_code}")
    web_stack.work()  # what was filed is worked through as a worker would: jobs, replies


@pytest.mark.slow
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=SLOW)
@given(fields=st.dictionaries(st.sampled_from(["service_code", "description", "lat", "long", "address_string",
                                               "email", "phone", "first_name", "last_name", "media_url", "device_id",
                                               "account_id", "address_id", "jurisdiction_id"]), FIELD, max_size=8),
       fmt=st.sampled_from(["json", "xml"]))
def test_open311_never_answers_a_server_error(web_stack: Stack, fields: dict, fmt: str) -> None:
    key = new_api_key(web_stack, name=f"hostile {next(_addresses)}")
    response = web_stack.client.post(f"/open311/v2/requests.{fmt}", data={"api_key": key, **fields},
                                     content_type="application/x-www-form-urlencoded")
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    event(f"open311 answered {response.status_code}")
    web_stack.work()  # what was filed is worked through as a worker would: jobs, replies


@pytest.mark.slow
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=SLOW)
@given(code=FIELD)
def test_the_ticket_lookup_never_answers_a_server_error(web_stack: Stack, code: str) -> None:
    for response in (web_stack.client.get("/tiket", query_string={"kode": code}),
                     web_stack.client.get(f"/open311/v2/requests/{code.replace('/', '')[:200] or 'x'}.json")):
        assert response.status_code < 500, response.get_data(as_text=True)[:500]
