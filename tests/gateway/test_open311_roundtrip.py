"""Open311 round trips with a real client: Sambat served over HTTP on 127.0.0.1, driven by `georeport` (PyPI).

The app of each stack (PostgreSQL + rq, SQLite + the embedded queue) runs in a werkzeug server on a free port,
and georeport 0.3 reads every answer exactly as it reads a city's: ``requests`` for the call, ``.json()`` or
``xmltodict`` for the body. georeport has no POST and no discovery, and sends no ``locale``: those go by
``requests`` as a civic app sends them (form-encoded), and :func:`in_locale` adds ``locale`` to the client's calls.
"""

from __future__ import annotations

import dataclasses
import io
import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import georeport.georeport
import pytest
import requests
import xmltodict
from gateway.admin.assignments import sync_unclocked
from gateway.deadlines import policy
from gateway.open311.formats import ITEMS, to_xml
from gateway.queue import RQQueue
from georeport import GeoReport
from PIL import Image
from sqlalchemy import select
from werkzeug.serving import make_server

from models import Assignment, Complaint
from tests.conftest import Stack, _empty_tables, _stack
from tests.gateway.intake_support import SECRET, new_api_key, photo
from tests.support.live import free_port

JURISDICTION = "malangkota.go.id"
HOLE = "Jl. Ijen 12 depan Museum Brawijaya, 65119"  # a postal code is not a phone number: it comes back whole


@dataclasses.dataclass
class Served:
    """One stack's app on a real HTTP server, and a key to POST with."""

    stack: Stack
    base: str
    key: str

    @property
    def endpoint(self) -> str:
        return f"{self.base}/open311/v2"

    def client(self, output_format: str = "json") -> GeoReport:
        return GeoReport(self.endpoint, jurisdiction=JURISDICTION, output_format=output_format)

    def post(self, fmt: str = "json", **fields: str) -> requests.Response:
        """POST requests as the spec has it: a form, the key among the fields."""
        return requests.post(f"{self.endpoint}/requests.{fmt}", data={"api_key": self.key,
                                                                      "jurisdiction_id": JURISDICTION, **fields},
                             timeout=10)

    def publish(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """open311.publish_descriptions on, for the running server too (it reads the runtime's settings)."""
        runtime = self.stack.runtime
        monkeypatch.setattr(runtime, "settings", dataclasses.replace(runtime.settings,
                                                                     open311_publish_descriptions=True))


@pytest.fixture(params=["postgres", "sqlite"])
def served(request: pytest.FixtureRequest, twilio_standin, tmp_path: Path) -> Iterator[Served]:  # noqa: ANN001
    url = request.getfixturevalue(f"{request.param}_url")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    stack = _stack(request.param, url, twilio_standin, media_dir=str(tmp_path / "media"), public_url=base)
    server = make_server("127.0.0.1", port, stack.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Served(stack, base, new_api_key(stack, "civic app"))
    finally:
        server.shutdown()
        thread.join(timeout=10)
        stack.runtime.db.dispose()
        if isinstance(stack.runtime.queue, RQQueue):
            stack.runtime.queue.connection.flushdb()
        _empty_tables(url)


@pytest.fixture
def in_locale(monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201 - a function
    """``in_locale("en")``: georeport's calls from now on also send ``locale=en`` (the client has no such argument).

    Only the module georeport calls through is touched: each ``requests.get`` it makes gets one more parameter.
    """
    def use(locale: str) -> None:
        def get(url: str, params: dict | None = None, **kwargs: Any) -> requests.Response:
            return requests.get(url, params={**(params or {}), "locale": locale}, timeout=10, **kwargs)

        monkeypatch.setattr(georeport.georeport, "requests", SimpleNamespace(get=get))

    return use


class MediaHost:
    """A photo host on loopback that counts every request it gets (a server that fetched media_url would show)."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        hits = self.hits

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server name
                hits.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/jpeg")
                self.end_headers()
                self.wfile.write(photo("JPEG"))

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def media_host() -> Iterator[MediaHost]:
    host = MediaHost()
    yield host
    host.close()


def as_xml_reads(value: Any) -> Any:
    """What xmltodict (georeport's XML reader) makes of the XML for a JSON value: text, None for empty,
    a list's items under their element name, one item alone not in a list."""
    if isinstance(value, dict):
        return {key: _list_as_xml(key, child) if isinstance(child, list) else as_xml_reads(child)
                for key, child in value.items()}
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    assert not isinstance(value, list), "lists are read under their parent's name"
    return value if value != "" else None


def _list_as_xml(name: str, items: list) -> Any:
    if not items:
        return None
    read = [as_xml_reads(item) for item in items]
    return {ITEMS[name]: read[0] if len(read) == 1 else read}


# --- discovery and services -------------------------------------------------------------------------


def test_client_finds_the_endpoint_and_reads_services_in_both_formats(served: Served) -> None:
    discovery = requests.get(f"{served.base}/open311/v2/discovery.json", timeout=10).json()
    [endpoint] = discovery["endpoints"]
    assert endpoint["url"] == served.endpoint and endpoint["formats"] == ["text/xml", "application/json"]
    xml_discovery = xmltodict.parse(requests.get(f"{served.base}/open311/v2/discovery.xml", timeout=10).content)
    assert xml_discovery == {"discovery": as_xml_reads(discovery)}

    client, xml_client = served.client(), served.client("xml")
    services = client.get_service_list()
    assert {"jalan", "lampu-jalan", "lainnya"} <= {service["service_code"] for service in services}
    jalan = next(service for service in services if service["service_code"] == "jalan")
    assert (jalan["service_name"], jalan["metadata"], jalan["type"]) == ("Jalan, trotoar atau jembatan rusak", True,
                                                                         "realtime")
    assert xml_client.get_service_list() == [as_xml_reads(service) for service in services]

    definition = client.get_service_definition("jalan")
    assert definition["attributes"][0]["code"] == "kelurahan" and len(definition["attributes"][0]["values"]) == 57
    assert xml_client.get_service_definition("jalan") == as_xml_reads(definition)


def test_service_names_follow_the_locale(served: Served, in_locale) -> None:  # noqa: ANN001
    in_locale("en")
    names = {service["service_code"]: service["service_name"] for service in served.client().get_service_list()}
    assert names["lampu-jalan"] == "Street light out"


# --- POST, then GET it back ------------------------------------------------------------------------


def test_a_request_comes_back_as_it_was_sent(served: Served, media_host: MediaHost, in_locale) -> None:  # noqa: ANN001
    photo_url = f"{media_host.url}/uploads/2026/11/lubang.jpg?size=large&v=2"
    created = served.post(service_code="jalan", address_string=HOLE, lat="-7.9726", long="112.6213",
                          media_url=photo_url, description="Jalan berlubang dalam, sudah dua motor jatuh",
                          phone="081234567890", locale="en")
    assert created.status_code == 200, created.text
    [answer] = created.json()
    code = answer["service_request_id"]
    assert answer["service_notice"] == (f"Ticket {code[:4]} {code[4:]}. Check status: text CEK {code} or "
                                        f"{served.base}/tiket/{code}")
    served.stack.work()  # the confirmation SMS goes out; media_url is never fetched, then or ever

    item = served.client().get_service_request(code)
    assert item["address"] == HOLE
    assert item["media_url"] == photo_url
    assert (item["service_code"], item["status"], item["address_id"]) == ("jalan", "open", None)
    assert item["lat"] is None and item["description"] is None  # still not published by default
    # The resolve deadline: 7 working days after the complaint reached DPUPRPKP, at the same time of day.
    requested = datetime.fromisoformat(item["requested_datetime"])
    expected = datetime.fromisoformat(item["expected_datetime"])
    assert item["expected_datetime"].endswith("+07:00") and expected.utcoffset() == timedelta(hours=7)
    assert timedelta(days=9) <= expected - requested <= timedelta(days=30) and expected.weekday() < 5
    # The same value the deadline clock holds once the scheduler opens it.
    with served.stack.runtime.db.session() as session:
        assert sync_unclocked(session, policy(served.stack.runtime.settings)) == 1
        session.commit()
        complaint = session.scalar(select(Complaint).where(Complaint.ticket_code == code))
        clock = session.scalar(select(Assignment).where(Assignment.complaint_id == complaint.id))
    assert clock.resolve_due.replace(microsecond=0) == expected
    assert served.client().get_service_request(code)["expected_datetime"] == item["expected_datetime"]
    # The service notice in the request's locale, Indonesian when none is given.
    assert item["service_notice"].startswith(f"Tiket {code[:4]} {code[4:]}. Cek status: SMS CEK {code}")
    in_locale("en")
    english = served.client().get_service_request(code)
    assert english["service_notice"].startswith("Ticket ") and english["service_name"] == \
        "Damaged road, pavement or bridge"
    in_locale("id")
    assert served.client().get_service_request(code)["service_notice"] == item["service_notice"]
    # The XML answer says the same, field for field, in the same order.
    xml_item = served.client("xml").get_service_request(code)
    assert list(xml_item) == list(item) and xml_item == as_xml_reads(item)
    assert media_host.hits == []


def test_a_request_with_only_a_kelurahan_is_placed_by_it(served: Served) -> None:
    created = served.post(service_code="sampah", address_id="kauman", description="Sampah menumpuk di TPS")
    code = created.json()[0]["service_request_id"]
    item = served.client().get_service_request(code)
    assert (item["address"], item["address_id"], item["media_url"]) == ("Kauman, Kec. Klojen, Kota Malang",
                                                                        "kauman", None)
    assert item["agency_responsible"] == "Dinas Lingkungan Hidup"


@pytest.mark.parametrize(("media_url", "words"), [
    ("ftp://example.org/p.jpg", "absolute http or https"),
    ("javascript:alert(1)", "absolute http or https"),
    ("/uploads/p.jpg", "absolute http or https"),
    ("http://user:secret@example.org/p.jpg", "user name or password"),
    ("http://example.org:port/p.jpg", "absolute http or https"),
    ("http://example.org/a b.jpg", "no spaces"),
    ("https://example.org/" + "p" * 2000, "2000 characters"),
])
def test_media_url_that_is_no_photo_address_is_refused(served: Served, media_url: str, words: str) -> None:
    for fmt in ("json", "xml"):
        refused = served.post(fmt, service_code="jalan", address_string=HOLE, media_url=media_url)
        assert refused.status_code == 400
        description = (refused.json()[0]["description"] if fmt == "json"
                       else xmltodict.parse(refused.content)["errors"]["error"]["description"])
        assert description.startswith("media_url:") and words in description
    with served.stack.runtime.db.session() as session:
        assert session.scalar(select(Complaint)) is None


def test_kept_photos_are_given_back_only_when_published(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    """A photo Sambat keeps (here from the app's multipart POST) is Open311's media_url while the city publishes
    complaints' texts, coordinates and photos; the file served is the cleaned one, without metadata."""
    filed = requests.post(f"{served.base}/api/v1/complaints", headers={"X-API-Key": served.key}, timeout=10,
                          data={"text": "Pohon tumbang menutup jalan", "kelurahan": "oro-oro-dowo"},
                          files={"photos": ("pohon.jpg", io.BytesIO(photo("JPEG")), "image/jpeg")})
    assert filed.status_code == 201, filed.text
    code = filed.json()["ticket_code"]
    assert served.client().get_service_request(code)["media_url"] is None
    served.publish(monkeypatch)
    item = served.client().get_service_request(code)
    assert item["media_url"].startswith(f"{served.endpoint}/media/")
    assert served.client("xml").get_service_request(code)["media_url"] == item["media_url"]
    served_photo = requests.get(item["media_url"], timeout=10)
    assert served_photo.status_code == 200 and served_photo.headers["Content-Type"] == "image/jpeg"
    assert SECRET not in served_photo.content and b"Exif" not in served_photo.content
    assert Image.open(io.BytesIO(served_photo.content)).size == (60, 80)  # turned upright
    monkeypatch.undo()
    unpublished = requests.get(item["media_url"], timeout=10)
    assert unpublished.status_code == 404 and xmltodict.parse(unpublished.content)["errors"]["error"]["code"] == "404"
    served.publish(monkeypatch)
    for elsewhere in ("..%2F..%2Fconfig.yaml", "%2e%2e/%2e%2e/config.yaml", "2026/11/none.jpg"):
        assert requests.get(f"{served.endpoint}/media/{elsewhere}", timeout=10).status_code == 404


# --- GET requests: dates as ISO 8601 allows them ---------------------------------------------------


def test_dates_with_only_a_day_and_offsets_whose_plus_became_a_space(served: Served) -> None:
    code = served.post(service_code="lampu-jalan", address_string="Jl. Kawi",
                       description="PJU mati tiga tiang").json()[0]["service_request_id"]
    client = served.client()
    requested = datetime.fromisoformat(client.get_service_request(code)["requested_datetime"])  # +07:00
    day, next_day = requested.date().isoformat(), (requested.date() + timedelta(days=1)).isoformat()

    def found(**dates: str) -> list[str]:
        return [item["service_request_id"] for item in client.get_service_requests(**dates)]

    # A day alone is that whole day in Malang: as a start from 00:00, as an end to 23:59:59.999999.
    assert found(start_date=day) == [code]
    assert found(start_date=day, end_date=day) == [code]
    assert found(end_date=day) == [code]
    assert found(start_date=next_day) == []
    assert found(end_date=(requested.date() - timedelta(days=1)).isoformat()) == []
    # "+07:00" sent unencoded arrives as " 07:00": read as the offset it was. An hour either side tells it apart
    # from UTC (seven hours off) and from a time without a zone.
    before = (requested - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S")
    after = (requested + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S")
    assert found(start_date=f"{before} 07:00") == [code]  # georeport encodes the space as "+"
    assert found(start_date=f"{after} 07:00") == []
    assert found(start_date=f"{before}+07:00", end_date=f"{after}+07:00") == [code]  # encoded as %2B
    raw = requests.get(f"{served.endpoint}/requests.json?start_date={before}+07:00&end_date={after}+07:00",
                       timeout=10)  # a literal "+" in the query string: a space to the server
    assert [item["service_request_id"] for item in raw.json()] == [code]
    assert found(start_date=f"{before} 0700", end_date=f"{after}Z") == [code]
    assert found(start_date=f"{before[:-3]} 07:00") == [code]  # minutes only: w3's hh:mm
    xml = served.client("xml").get_service_requests(start_date=day)
    assert xml["service_request_id"] == code  # xmltodict: one request alone is not a list


@pytest.mark.parametrize(("dates", "field"), [
    ({"start_date": "2026-13-01"}, "start_date"),
    ({"start_date": "2026-02-30"}, "start_date"),
    ({"end_date": "2026-11-01T25:00:00Z"}, "end_date"),
    ({"end_date": "2026-11-01T10:00:00 7"}, "end_date"),
    ({"start_date": "01-11-2026"}, "start_date"),
    ({"start_date": "2026-11-01T10:00:00"}, "start_date"),
    ({"start_date": "kemarin"}, "start_date"),
    ({"end_date": "2026-11-01T10:00:00 25:00"}, "end_date"),
])
def test_bad_dates_are_a_400_naming_the_field(served: Served, dates: dict[str, str], field: str) -> None:
    for output_format in ("json", "xml"):
        with pytest.raises(requests.HTTPError) as raised:
            served.client(output_format).get_service_requests(**dates)
        response = raised.value.response
        assert response.status_code == 400
        error = (response.json()[0] if output_format == "json"
                 else xmltodict.parse(response.content)["errors"]["error"])
        assert error["code"] in (400, "400") and error["description"].startswith(f"{field}:")


def test_every_field_reads_the_same_in_json_and_xml(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    """Requests in the list with nulls, numbers, a published text and coordinates: XML read by the client's
    xmltodict equals the JSON, item for item."""
    served.publish(monkeypatch)
    for service, place in (("jalan", {"lat": "-7.98", "long": "112.63"}), ("air-minum", {"address_id": "sukun"})):
        assert served.post(service_code=service, description=f"aduan {service} & <penting>", **place).ok
    listed = served.client().get_service_requests()
    assert len(listed) == 2 and {item["lat"] for item in listed} == {-7.98, None}
    assert served.client("xml").get_service_requests() == [as_xml_reads(item) for item in listed]


def test_xml_leaves_out_characters_it_cannot_carry() -> None:
    document = to_xml("service_requests", [{"description": "lampu\x07 mati\x0b\ttotal\ud800", "lat": -7.5}])
    assert xmltodict.parse(document) == {"service_requests": {"request": {"description": "lampu mati\ttotal",
                                                                          "lat": "-7.5"}}}


def test_a_service_notice_with_an_unknown_placeholder_stops_start_up(sqlite_url: str) -> None:
    from gateway.queue import EmbeddedQueue

    from gateway.app import create_app
    from gateway.settings import ConfigError
    from tests.conftest import make_settings

    settings = make_settings(sqlite_url)
    templates = {**settings.templates, "en": {**settings.templates["en"], "open311_notice": "Ticket {ticket}"}}
    with pytest.raises(ConfigError, match=r"templates\.en\.open311_notice: unknown placeholder \{ticket\}"):
        create_app(dataclasses.replace(settings, templates=templates), queue=EmbeddedQueue(), start_embedded=False)
