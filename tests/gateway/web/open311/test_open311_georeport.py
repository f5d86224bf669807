"""Open311 GeoReport v2 through Flask's test client on both stacks: field names, formats and error shape
as the specification gives them; a request filed here is an ordinary complaint."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

import pytest
from sqlalchemy import select
from stdnum import damm

from gateway.complaints.status import change_status
from models import Complaint, InboundMessage
from tests.conftest import Stack
from tests.gateway.web.intake_support import new_api_key, web_stack_fixture  # noqa: F401
from tests.support.twilio_standin import TwilioStandIn

BASE = "/open311/v2"
REQUEST_FIELDS = ["service_request_id", "status", "status_notes", "service_name", "service_code", "description",
                  "agency_responsible", "service_notice", "requested_datetime", "updated_datetime",
                  "expected_datetime", "address", "address_id", "zipcode", "lat", "long", "media_url"]


def post_request(stack: Stack, key: str | None, fmt: str = "json", **fields: str):  # noqa: ANN201
    data = {**({"api_key": key} if key else {}), **fields}
    return stack.client.post(f"{BASE}/requests.{fmt}", data=data, content_type="application/x-www-form-urlencoded")


def test_discovery_names_the_endpoint_and_both_formats(web_stack: Stack) -> None:
    body = web_stack.client.get(f"{BASE}/discovery.json").json
    assert set(body) == {"changeset", "contact", "key_service", "endpoints"}
    [endpoint] = body["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith("/open311/v2") and endpoint["formats"] == ["text/xml", "application/json"]
    xml = web_stack.client.get(f"{BASE}/discovery.xml")
    assert xml.headers["Content-Type"] == "text/xml; charset=utf-8"
    assert xml.data.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    root = ElementTree.fromstring(xml.data)
    assert root.tag == "discovery" and root.find("endpoints/endpoint/formats/format").text == "text/xml"


def test_services_are_the_categories_mapped_to_agencies(web_stack: Stack) -> None:
    services = web_stack.client.get(f"{BASE}/services.json").json
    jalan = next(service for service in services if service["service_code"] == "jalan")
    assert set(jalan) == {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}
    assert (jalan["metadata"], jalan["type"], jalan["group"]) == (True, "realtime", "infrastruktur")
    root = ElementTree.fromstring(web_stack.client.get(f"{BASE}/services.xml").data)
    assert root.tag == "services" and root.find("service/metadata").text == "true"
    definition = web_stack.client.get(f"{BASE}/services/jalan.json").json
    [attribute] = definition["attributes"]
    assert (definition["service_code"], attribute["code"], attribute["datatype"]) == ("jalan", "kelurahan",
                                                                                      "singlevaluelist")
    assert len(attribute["values"]) == 57 and {"key", "name"} == set(attribute["values"][0])
    xml = ElementTree.fromstring(web_stack.client.get(f"{BASE}/services/jalan.xml").data)
    assert xml.tag == "service_definition" and len(xml.findall("attributes/attribute/values/value")) == 57


def test_post_request_files_an_ordinary_complaint(web_stack: Stack, twilio_standin: TwilioStandIn) -> None:
    key = new_api_key(web_stack, "civic app")
    response = post_request(web_stack, key, service_code="jalan", lat="-7.9797", long="112.6304",
                            description="Jalan berlubang besar di depan pasar", first_name="Andi",
                            last_name="Wijaya", phone="081234567890", email="andi@example.id",
                            device_id="tt222111", media_url="https://example.org/p.jpg",
                            **{"attribute[kelurahan]": "kauman"})
    assert response.status_code == 200
    [created] = response.json
    code = created["service_request_id"]
    assert set(created) == {"service_request_id", "service_notice", "account_id"} and damm.is_valid(code)
    assert f"CEK {code}" in created["service_notice"]
    with web_stack.runtime.db.session() as session:
        complaint = session.scalar(select(Complaint))
        message = session.get(InboundMessage, complaint.inbound_message_id)
    assert (complaint.ticket_code, complaint.channel, complaint.medium) == (code, "api", "open311")
    assert (complaint.agency_code, complaint.category, complaint.kelurahan) == ("DPUPRPKP", "jalan", "kauman")
    assert message.raw["open311"]["device_id"] == "tt222111" and message.raw["name"] == "Andi Wijaya"
    web_stack.work()
    [sms] = twilio_standin.messages_sent()
    assert sms["to"] == "+6281234567890" and f"Tiket {code[:4]} {code[4:]}" in sms["body"]
    # The same ticket by Open311 and by SMS-like status.
    [item] = web_stack.client.get(f"{BASE}/requests/{code}.json").json
    assert list(item) == REQUEST_FIELDS
    assert (item["status"], item["service_code"]) == ("open", "jalan")
    assert item["agency_responsible"].startswith("Dinas Pekerjaan Umum")
    assert item["address"] == "Kauman, Kec. Klojen, Kota Malang" and item["address_id"] == "kauman"
    assert item["description"] is None and item["lat"] is None  # not published by default
    assert item["requested_datetime"].endswith("+07:00")
    assert "Andi" not in str(item) and "081234567890" not in str(item)


@pytest.mark.parametrize(("label", "fields", "status", "words"), [
    ("no key", {"service_code": "jalan", "address_string": "x"}, 403, "api_key"),
    ("no service_code", {"address_string": "Jl. Ijen"}, 400, "service_code"),
    ("unknown service_code", {"service_code": "nope", "address_string": "Jl. Ijen"}, 404, "service_code"),
    ("no location", {"service_code": "jalan", "description": "rusak"}, 400, "location"),
    ("bad phone", {"service_code": "jalan", "address_string": "Jl. Ijen", "phone": "12"}, 400, "phone"),
    ("bad lat", {"service_code": "jalan", "lat": "north", "long": "112"}, 400, "lat"),
    ("other jurisdiction", {"service_code": "jalan", "address_string": "x", "jurisdiction_id": "sfgov.org"}, 404,
     "jurisdiction_id"),
], ids=lambda value: value if isinstance(value, str) else "")
def test_post_errors_have_the_spec_shape(web_stack: Stack, label: str, fields: dict, status: int, words: str) -> None:
    key = None if label == "no key" else new_api_key(web_stack)
    response = post_request(web_stack, key, **fields)
    assert response.status_code == status
    [error] = response.json
    assert set(error) == {"code", "description"} and error["code"] == status and words in error["description"]
    xml = post_request(web_stack, key, "xml", **fields)
    root = ElementTree.fromstring(xml.data)
    assert root.tag == "errors" and root.find("error/code").text == str(status)


def test_get_requests_filters_as_the_spec_defines(web_stack: Stack) -> None:
    key = new_api_key(web_stack)
    codes = {}
    for service, text in (("jalan", "jalan rusak parah"), ("sampah", "sampah menumpuk di TPS")):
        codes[service] = post_request(web_stack, key, service_code=service, address_string="Jl. Ijen",
                                      description=text).json[0]["service_request_id"]
    with web_stack.runtime.db.session() as session:
        complaint = session.scalar(select(Complaint).where(Complaint.ticket_code == codes["sampah"]))
        change_status(session, web_stack.runtime, complaint, "resolved", actor="admin@dlh", note="Sudah diangkut.")
        session.commit()
    get = web_stack.client.get
    assert {r["service_request_id"] for r in get(f"{BASE}/requests.json").json} == set(codes.values())
    [closed] = get(f"{BASE}/requests.json?status=closed").json
    assert (closed["service_request_id"], closed["status_notes"]) == (codes["sampah"], "Sudah diangkut.")
    assert [r["service_code"] for r in get(f"{BASE}/requests.json?service_code=jalan").json] == ["jalan"]
    both = get(f"{BASE}/requests.json?service_request_id={codes['jalan']},{codes['sampah']}&status=closed").json
    assert len(both) == 2  # service_request_id overrides every other argument
    later = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert get(f"{BASE}/requests.json?start_date={later}").json == []
    root = ElementTree.fromstring(get(f"{BASE}/requests.xml").data)
    assert root.tag == "service_requests" and len(root.findall("request")) == 2
    assert [child.tag for child in root.find("request")] == REQUEST_FIELDS


@pytest.mark.parametrize(("query", "words"), [
    ("start_date=yesterday", "start_date"), ("end_date=2026-01-01T00:00:00", "time zone"),
    ("start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z", "90 days"),
    ("status=pending", "status"), ("service_code=nope", "service_code"),
])
def test_get_requests_refuses_bad_filters(web_stack: Stack, query: str, words: str) -> None:
    response = web_stack.client.get(f"{BASE}/requests.json?{query}")
    assert response.status_code in (400, 404) and words in response.json[0]["description"]


def test_unknown_or_mistyped_request_ids_and_formats(web_stack: Stack) -> None:
    wrong = "12345670" if not damm.is_valid("12345670") else "12345671"
    response = web_stack.client.get(f"{BASE}/requests/{wrong}.json")
    assert response.status_code == 404 and "looks mistyped" in response.json[0]["description"]
    assert web_stack.client.get(f"{BASE}/requests/abc.xml").status_code == 404
    bad_format = web_stack.client.get(f"{BASE}/services.yaml")
    assert bad_format.status_code == 400 and ElementTree.fromstring(bad_format.data).tag == "errors"
    assert web_stack.client.get(f"{BASE}/nothing.json").json[0]["code"] == 404


def test_published_descriptions_hide_what_names_the_citizen(web_stack: Stack, monkeypatch) -> None:  # noqa: ANN001
    """With open311.publish_descriptions on, the public text still names nobody: like /tiket, no name, phone,
    e-mail or ID number of the citizen, only the complaint itself."""
    key = new_api_key(web_stack, "civic app")
    text = ("Saya Andi Wijaya (hp 0812-3456-7890, WA +62 812 3456 7891, andi.w@example.id, NIK 3573010101010001): "
            "jalan berlubang di depan pasar Kauman, RT 03 sejak 2 minggu")
    code = post_request(web_stack, key, service_code="jalan", address_string="Jl. Ijen 12", description=text,
                        first_name="Andi", last_name="Wijaya", phone="081234567890").json[0]["service_request_id"]
    monkeypatch.setattr(web_stack.runtime, "settings",
                        web_stack.runtime.settings.with_overrides(open311__publish_descriptions=True))
    [item] = web_stack.client.get(f"{BASE}/requests/{code}.json").json
    [listed] = web_stack.client.get(f"{BASE}/requests.json?service_request_id={code}").json
    for public in (item["description"], listed["description"],
                   ElementTree.fromstring(web_stack.client.get(f"{BASE}/requests/{code}.xml").data)
                   .find("request/description").text):
        assert public.endswith("jalan berlubang di depan pasar Kauman, RT 03 sejak 2 minggu")
        for personal in ("Andi", "Wijaya", "3456", "andi.w", "example.id", "3573010101010001"):
            assert personal not in public, (personal, public)
    # The ticket page shows no text at all, so nothing of this reaches it either.
    page = web_stack.client.get(f"/tiket/{code}").get_data(as_text=True)
    assert "Andi" not in page and "3456" not in page and "berlubang" not in page


def test_expected_datetime_is_the_resolve_deadline_of_the_agency_holding_it(web_stack: Stack) -> None:
    """Routed: the deadline of the clock (computed as the scheduler will open it); moved to another agency: that
    agency's new deadline; back in review or rejected: none."""
    key = new_api_key(web_stack)
    code = post_request(web_stack, key, service_code="lampu-jalan", address_string="Jl. Kawi",
                        description="PJU mati tiga tiang").json[0]["service_request_id"]

    def expected() -> str | None:
        return web_stack.client.get(f"{BASE}/requests/{code}.json").json[0]["expected_datetime"]

    first = expected()
    assert first is not None and first.endswith("+07:00")
    with web_stack.runtime.db.session() as session:
        complaint = session.scalar(select(Complaint).where(Complaint.ticket_code == code))
        change_status(session, web_stack.runtime, complaint, "new", actor="admin@dishub", agency_code=None,
                      note="Bukan wewenang", notify=False)
        session.commit()
    assert expected() is None
    with web_stack.runtime.db.session() as session:
        complaint = session.scalar(select(Complaint).where(Complaint.ticket_code == code))
        change_status(session, web_stack.runtime, complaint, "assigned", actor="admin@kominfo", agency_code="DLH",
                      notify=False)
        session.commit()
    again = expected()
    assert again is not None and datetime.fromisoformat(again) >= datetime.fromisoformat(first)
    with web_stack.runtime.db.session() as session:
        complaint = session.scalar(select(Complaint).where(Complaint.ticket_code == code))
        change_status(session, web_stack.runtime, complaint, "rejected", actor="admin@kominfo", notify=False)
        session.commit()
    assert expected() is None
