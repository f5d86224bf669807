"""The JSON API over HTTP against `sambat up` on PostgreSQL and Redis, with a key made by `sambat apikeys add`;
and a property-based run of schemathesis against the served OpenAPI document: no 500 on any input."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support.live import SAMBAT, Up, clean_env, free_port

SCHEMATHESIS = str(Path(SAMBAT).with_name("schemathesis"))


def api_key(database_url: str, name: str, workdir: Path) -> str:
    """A key made the way an operator makes one."""
    done = subprocess.run([SAMBAT, "apikeys", "add", name], cwd=workdir, env=clean_env(DATABASE_URL=database_url),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    key = done.stdout.strip()
    assert key.startswith("sbt_") and "shown only now" in done.stderr
    return key


@pytest.mark.slow
def test_app_files_and_reads_a_complaint_over_http(live_app: Up, postgres_url: str, twilio_standin,  # noqa: ANN001
                                                   tmp_path: Path) -> None:
    key = api_key(postgres_url, "Android app", tmp_path)
    headers = {"X-API-Key": key, "Idempotency-Key": "device-42:complaint-1"}
    body = {"text": "Sampah tidak diangkut seminggu di TPS Jl. Kawi", "kelurahan": "kauman", "phone": "081234567890"}
    created = requests.post(live_app.url("/api/v1/complaints"), json=body, headers=headers, timeout=10)
    assert created.status_code == 201, created.text
    ticket = created.json()
    assert ticket["agency"]["code"] == "DLH" and ticket["confirmation"] == "sms"
    # The app's retry after a lost answer: the same ticket, no second complaint, no second SMS.
    again = requests.post(live_app.url("/api/v1/complaints"), json=body, headers=headers, timeout=10)
    assert again.status_code == 200 and again.json()["ticket_code"] == ticket["ticket_code"]
    [sms] = twilio_standin.wait_for_messages(1, timeout=20)
    assert sms["to"] == "+6281234567890" and ticket["display_code"] in sms["body"]
    twilio_standin.assert_no_violations()
    status = requests.get(live_app.url(f"/api/v1/complaints/{ticket['ticket_code']}"), headers={"X-API-Key": key},
                          timeout=10)
    assert status.status_code == 200 and status.json()["status"] == "assigned"
    refused = requests.get(live_app.url(f"/api/v1/complaints/{ticket['ticket_code']}"), timeout=10)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"
    page = requests.get(ticket["url"].replace("https://sambat.example.go.id", live_app.url("").rstrip("/")),
                        timeout=10)
    assert page.status_code == 200 and ticket["display_code"] in page.text


@pytest.fixture
def roomy_app(postgres_url: str, twilio_standin, tmp_path: Path) -> Iterator[Up]:  # noqa: ANN001
    """`sambat up` as ``live_app`` starts it, with a rate limit schemathesis does not reach."""
    from redis import Redis

    from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, CITY_NUMBER, REDIS_URL, _empty_tables

    port = free_port()
    running = Up(tmp_path, port, {
        "DATABASE_URL": postgres_url, "REDIS_URL": REDIS_URL, "SAMBAT_QUEUE_NAME": f"sambat-live-{port}",
        "SECRET_KEY": "live-test-secret-of-32-characters-at-least",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "SAMBAT_TWILIO_FROM": CITY_NUMBER, "SAMBAT_TWILIO_API_BASE_URL": twilio_standin.base_url,
        "SAMBAT_PUBLIC_URL": f"http://127.0.0.1:{port}", "SAMBAT_API_RATE_LIMIT": "5000 per minute",
    })
    try:
        yield running.wait_ready()
    finally:
        running.stop()
        Redis.from_url(REDIS_URL).flushdb()
        _empty_tables(postgres_url)


@pytest.mark.slow
def test_schemathesis_finds_no_server_error(roomy_app: Up, postgres_url: str, tmp_path: Path) -> None:
    live_app = roomy_app
    key = api_key(postgres_url, "schemathesis", tmp_path)
    run = subprocess.run(
        [SCHEMATHESIS, "run", live_app.url("/api/v1/openapi.json"), "--header", f"X-API-Key: {key}",
         "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,"
                     "response_schema_conformance,response_headers_conformance",
         "--phases", "examples,coverage,fuzzing,stateful", "--mode", "all", "--max-examples", "30", "--seed", "5",
         "--request-timeout", "10", "--workers", "2", "--no-color", "--suppress-health-check", "all"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-6000:]
    assert "Traceback" not in live_app.output() and '" 500 ' not in live_app.output(), live_app.output()[-3000:]
