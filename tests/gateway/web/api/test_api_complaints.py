"""The mobile-app JSON API through Flask's test client on both stacks; every answer checked against the
OpenAPI document the app serves (openapi-core)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from openapi_core import OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from openapi_spec_validator import validate
from sqlalchemy import func, select
from stdnum import damm
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from models import ApiKey, Attachment, Complaint, InboundMessage, Outbox
from tests.conftest import Stack
from tests.gateway.web.intake_support import assert_clean, new_api_key, photo, web_stack_fixture  # noqa: F401
from tests.support.twilio_standin import TwilioStandIn


class Api:
    """A client app: its key, and every response checked against /api/v1/openapi.json."""

    def __init__(self, stack: Stack, key: str | None) -> None:
        self.stack, self.client, self.key = stack, stack.client, key
        document = self.client.get("/api/v1/openapi.json").json
        validate(document)
        document["servers"] = [{"url": "http://localhost/api/v1"}]
        self.openapi = OpenAPI.from_dict(document)

    def call(self, method: str, path: str, headers: dict | None = None, **kwargs: Any) -> Any:
        headers = {**({"X-API-Key": self.key} if self.key else {}), **(headers or {})}
        response = self.client.open(f"/api/v1{path}", method=method, headers=headers, **kwargs)
        # The request as openapi-core finds the operation by (its body was read by the app already).
        sent = Request(EnvironBuilder(path=response.request.path, method=method).get_environ())
        self.openapi.validate_response(WerkzeugOpenAPIRequest(sent), WerkzeugOpenAPIResponse(response))
        return response


@pytest.fixture
def api(web_stack: Stack) -> Api:
    return Api(web_stack, new_api_key(web_stack))


def test_json_complaint_is_filed_with_its_ticket_at_once(api: Api, twilio_standin: TwilioStandIn) -> None:
    response = api.call("POST", "/complaints", json={
        "text": "PJU mati di jl. Danau Toba sudah seminggu", "kelurahan": "Sawojajar", "phone": "+6281234567890",
        "latitude": -7.97, "longitude": 112.66, "language": "en"})
    assert response.status_code == 201
    body = response.json
    assert body["agency"] == {"code": "DISHUB", "name": "Dinas Perhubungan"} and body["status"] == "assigned"
    assert body["status_text"] == "Sent to the agency" and body["confirmation"] == "sms"
    assert body["kelurahan"] == "sawojajar" and body["url"].endswith(f"/tiket/{body['ticket_code']}")
    assert response.headers["Location"] == f"/api/v1/complaints/{body['ticket_code']}"
    with api.stack.runtime.db.session() as session:
        message = session.scalar(select(InboundMessage))
        assert (message.channel, message.medium, message.raw["api_key"]) == ("api", "app", "test app")
        assert session.scalar(select(ApiKey)).last_used_at is not None
    api.stack.work()
    [sms] = twilio_standin.messages_sent()
    assert sms["body"].startswith(f"Complaint received. Ticket {body['display_code']}. Sent to DISHUB")


def test_multipart_with_photos_strips_their_metadata(api: Api, tmp_path: Path) -> None:
    response = api.call("POST", "/complaints", content_type="multipart/form-data", data={
        "text": "sampah menumpuk di TPS", "photos": [(io.BytesIO(photo("JPEG")), "a.jpg"),
                                                    (io.BytesIO(photo("HEIF")), "b.heic")]})
    assert response.status_code == 201 and response.json["photos"] == 2
    with api.stack.runtime.db.session() as session:
        for attachment in session.scalars(select(Attachment)):
            assert_clean(tmp_path / "media" / attachment.path)


def test_idempotency_key_returns_the_first_complaint_and_refuses_a_different_one(api: Api) -> None:
    first = api.call("POST", "/complaints", json={"text": "air PDAM keruh"}, headers={"Idempotency-Key": "abc-1"})
    again = api.call("POST", "/complaints", json={"text": "air PDAM keruh"}, headers={"Idempotency-Key": "abc-1"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json["ticket_code"] == first.json["ticket_code"] and again.headers["Idempotent-Replayed"] == "true"
    other = api.call("POST", "/complaints", json={"text": "lain"}, headers={"Idempotency-Key": "abc-1"})
    assert other.status_code == 409 and other.json["error"]["code"] == "idempotency_conflict"
    with api.stack.runtime.db.session() as session:
        assert session.scalar(select(func.count(Complaint.id))) == 1


@pytest.mark.parametrize(("label", "body", "fields"), [
    ("no text", {"kelurahan": "klojen"}, {"text": "required"}),
    ("text not a string", {"text": 42}, {"text": "not_text"}),
    ("bad phone and e-mail", {"text": "jalan rusak", "phone": "999", "email": "a@"},
     {"phone": "invalid_phone", "email": "invalid_email"}),
    ("one coordinate", {"text": "jalan rusak", "latitude": -7.9}, {"longitude": "needs_both_coordinates"}),
    ("coordinate out of range", {"text": "jalan rusak", "latitude": 91, "longitude": 1}, {"latitude": "out_of_range"}),
    ("unknown kelurahan and category", {"text": "jalan rusak", "kelurahan": "Gotham", "category": "x"},
     {"kelurahan": "unknown_kelurahan", "category": "unknown_category"}),
], ids=lambda value: value if isinstance(value, str) else "")
def test_invalid_fields_get_one_error_shape(api: Api, label: str, body: dict, fields: dict) -> None:
    response = api.call("POST", "/complaints", json=body)
    assert response.status_code == 422, label
    error = response.json["error"]
    assert (error["status"], error["code"]) == (422, "invalid_fields")
    assert {name: detail["code"] for name, detail in error["fields"].items()} == fields
    assert all(detail["message"] for detail in error["fields"].values())


def test_requests_that_are_not_complaints_are_refused_in_the_same_shape(api: Api) -> None:
    assert api.call("POST", "/complaints", data="text=hi", content_type="text/plain").status_code == 415
    assert api.call("POST", "/complaints", data="[1, 2", content_type="application/json").status_code == 400
    assert api.call("POST", "/complaints", json=["a list"]).status_code == 400
    bad_key = api.call("POST", "/complaints", json={"text": "x y z"}, headers={"Idempotency-Key": "has space"})
    assert bad_key.status_code == 400 and bad_key.json["error"]["code"] == "bad_idempotency_key"
    for response in (api.client.get("/api/v1/nowhere"), api.client.delete("/api/v1/complaints")):
        assert response.status_code in (404, 405) and set(response.json["error"]) == {"status", "code", "message"}


def test_api_key_is_required_and_must_be_valid(web_stack: Stack) -> None:
    anonymous = Api(web_stack, None)
    assert anonymous.call("POST", "/complaints", json={"text": "jalan rusak"}).status_code == 401
    wrong = Api(web_stack, "sbt_not-a-key")
    response = wrong.call("GET", "/complaints/12345678")
    assert response.status_code == 401 and response.json["error"]["code"] == "unauthorized"
    with web_stack.runtime.db.session() as session:
        assert session.scalar(select(func.count(Complaint.id))) == 0


def test_get_complaint_by_code_and_the_check_digit_help(api: Api) -> None:
    code = api.call("POST", "/complaints", json={"text": "sampah di sungai", "name": "Rina",
                                                 "email": "rina@example.id"}).json["ticket_code"]
    response = api.call("GET", f"/complaints/{code[:4]} {code[4:]}")
    assert response.status_code == 200 and response.json["ticket_code"] == code
    assert "Rina" not in response.get_data(as_text=True) and "rina@" not in response.get_data(as_text=True)
    wrong = code[:7] + str((int(code[7]) + 1) % 10)
    assert not damm.is_valid(wrong)
    mistyped = api.call("GET", f"/complaints/{wrong}")
    assert mistyped.status_code == 404 and mistyped.json["error"]["code"] == "mistyped_ticket_code"
    assert "looks mistyped" in mistyped.json["error"]["message"]
    assert api.call("GET", "/complaints/abc").json["error"]["code"] == "not_a_ticket_code"
    unknown = "1234567" + damm.calc_check_digit("1234567")
    assert api.call("GET", f"/complaints/{unknown}").json["error"]["code"] == "not_found"


def test_lists_for_the_app(api: Api) -> None:
    kelurahan = api.call("GET", "/kelurahan").json["kelurahan"]
    assert len(kelurahan) == 57 and len({k["kecamatan"] for k in kelurahan}) == 5
    codes = [c["code"] for c in api.call("GET", "/categories").json["categories"]]
    assert "jalan" in codes and "lainnya" in codes


def test_category_places_a_complaint_the_router_could_not(api: Api) -> None:
    body = api.call("POST", "/complaints", json={"text": "tolong dibantu pak", "category": "sampah"}).json
    assert body["agency"]["code"] == "DLH" and body["category"] == "sampah"


def test_email_only_citizen_is_confirmed_by_the_email_channel(api: Api) -> None:
    body = api.call("POST", "/complaints", json={"text": "jalan rusak di Jl. Ijen", "email": "warga@example.id"}).json
    with api.stack.runtime.db.session() as session:
        rows = session.scalars(select(Outbox)).all()
    if "email" not in api.stack.runtime.senders:
        assert body["confirmation"] == "none" and rows == []
        return
    [row] = rows
    assert body["confirmation"] == "email" and (row.medium, row.recipient) == ("email", "warga@example.id")
    assert row.subject and body["display_code"] in row.subject and body["display_code"] in row.body
