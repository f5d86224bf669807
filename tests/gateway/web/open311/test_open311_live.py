"""Open311 over HTTP against `sambat up` on PostgreSQL and Redis, as a civic app uses it."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

import pytest
import requests
from georeport import GeoReport

from tests.gateway.web.api.test_api_live import api_key
from tests.support.live import Up


@pytest.mark.slow
def test_civic_app_discovers_reports_and_follows_a_request(live_app: Up, postgres_url: str, twilio_standin,  # noqa: ANN001
                                                           tmp_path: Path) -> None:
    key = api_key(postgres_url, "civic app", tmp_path)
    discovery = requests.get(live_app.url("/open311/v2/discovery.xml"), timeout=10)
    assert discovery.headers["Content-Type"] == "text/xml; charset=utf-8"
    endpoint = ElementTree.fromstring(discovery.content).find("endpoints/endpoint/url").text
    assert endpoint == live_app.url("/open311/v2")
    services = ElementTree.fromstring(requests.get(f"{endpoint}/services.xml", timeout=10).content)
    codes = [service.find("service_code").text for service in services.findall("service")]
    assert "lampu-jalan" in codes
    created = requests.post(f"{endpoint}/requests.xml", timeout=10, data={
        "api_key": key, "jurisdiction_id": "malangkota.go.id", "service_code": "lampu-jalan",
        "address_string": "Jl. Ijen depan museum", "description": "PJU mati tiga tiang",
        "phone": "+6281234567890", "attribute[kelurahan]": "gadingkasri"})
    assert created.status_code == 200, created.text
    code = ElementTree.fromstring(created.content).find("request/service_request_id").text
    [sms] = twilio_standin.wait_for_messages(1, timeout=20)
    assert sms["to"] == "+6281234567890" and f"{code[:4]} {code[4:]}" in sms["body"]
    [item] = requests.get(f"{endpoint}/requests/{code}.json", timeout=10).json()
    assert (item["status"], item["service_code"], item["agency_responsible"]) == ("open", "lampu-jalan",
                                                                                 "Dinas Perhubungan")
    # A GeoReport client reads it back from the running server, in both formats.
    client = GeoReport(endpoint, jurisdiction="malangkota.go.id")
    assert client.get_service_request(code) == item
    assert item["address"] == "Jl. Ijen depan museum" and item["expected_datetime"].endswith("+07:00")
    assert item["service_notice"].endswith(f"Cek status: SMS CEK {code} atau {live_app.url('/tiket/')}{code}")
    xml_item = GeoReport(endpoint, jurisdiction="malangkota.go.id", output_format="xml").get_service_request(code)
    assert (xml_item["address"], xml_item["expected_datetime"]) == (item["address"], item["expected_datetime"])
    listed = requests.get(f"{endpoint}/requests.json", params={"status": "open", "service_code": "lampu-jalan"},
                          timeout=10).json()
    assert [request["service_request_id"] for request in listed] == [code]
    refused = requests.post(f"{endpoint}/requests.json", data={"api_key": "wrong", "service_code": "jalan"},
                            timeout=10)
    assert refused.status_code == 403 and refused.json()[0]["code"] == 403
