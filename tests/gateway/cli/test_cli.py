"""The `sambat` command as an operator runs it: real processes, a fresh directory, no services assumed."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode
from urllib.request import Request, urlopen

import pytest

from tests.channels.test_twilio import form
from tests.channels.twilio_payloads import SMS
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, ROOT, twilio_signature
from tests.support.live import SAMBAT, Up, clean_env, free_port


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "config.yaml", tmp_path / "config.yaml")
    return tmp_path


def run(workdir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SAMBAT, *args], cwd=workdir, env=clean_env(**env), capture_output=True, text=True,
                          timeout=120)


@pytest.fixture
def up(workdir: Path) -> Iterator[Up]:
    port = free_port()
    running = Up(workdir, port, {"TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
                                 "SAMBAT_SMS_PROVIDER": "console",
                                 "SAMBAT_PUBLIC_URL": f"http://127.0.0.1:{port}"})
    yield running
    running.stop()


@pytest.mark.slow
def test_up_on_a_fresh_directory_answers_an_sms(up: Up, workdir: Path) -> None:
    """SQLite file, embedded queue, console SMS: a signed webhook in, the ticket reply printed."""
    up.wait_ready()
    params = form(SMS)
    url = up.url("/webhooks/twilio/sms")
    request = Request(url, data=urlencode(params).encode(), method="POST",
                      headers={"X-Twilio-Signature": twilio_signature(url, params),
                               "Content-Type": "application/x-www-form-urlencoded"})
    with urlopen(request, timeout=5) as response:
        assert response.status == 200

    output = up.wait_for_output("Aduan diterima")
    assert "DATABASE_URL not set: using SQLite" in output
    assert "REDIS_URL not set: running the queue embedded" in output
    assert "NOT SENT" in output and "to +6281234567890" in output
    assert (workdir / "instance" / "sambat.sqlite3").exists()


@pytest.mark.slow
def test_up_without_credentials_says_sms_are_not_sent(workdir: Path) -> None:
    running = Up(workdir, free_port(), {})
    try:
        running.wait_ready()
        assert "No Twilio credentials: outbound SMS are printed here, NOT sent" in running.output()
    finally:
        running.stop()


def test_sms_command_plays_a_citizen(workdir: Path) -> None:
    filed = run(workdir, "sms", "081234567890", "sampah numpuk di TPS Jl. Bantaran")
    assert filed.returncode == 0, filed.stderr
    assert "NOT SENT" in filed.stdout and "Aduan diterima. Tiket" in filed.stdout
    code = filed.stdout.split("ketik CEK ")[1].split()[0]
    looked_up = run(workdir, "sms", "081234567890", f"cek {code}")
    assert f"Tiket {code[:4]} {code[4:]}" in looked_up.stdout


@pytest.mark.parametrize(
    ("args", "env", "names"),
    [
        (("up",), {"SAMBAT_SMS_PROVIDER": "pigeon"}, "sms.provider"),
        (("worker",), {"DATABASE_URL": "sqlite:///x.db"}, "REDIS_URL"),
        (("web",), {}, "DATABASE_URL"),
        (("sms", "not-a-phone", "hello"), {}, "SENDER"),
        (("up",), {"SAMBAT_CONFIG": "/nowhere/config.yaml"}, "SAMBAT_CONFIG"),
    ],
    ids=["bad provider", "worker without Redis", "web without database", "bad sender", "missing config"],
)
def test_bad_input_is_a_message_not_a_traceback(workdir: Path, args: tuple[str, ...], env: dict[str, str],
                                                names: str) -> None:
    result = run(workdir, *args, **env)
    assert result.returncode != 0
    assert names in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_db_upgrade_creates_the_schema(workdir: Path) -> None:
    result = run(workdir, "db", "upgrade", DATABASE_URL=f"sqlite:///{workdir / 'fresh.db'}")
    assert result.returncode == 0, result.stderr
    assert "is at head" in result.stdout
    import sqlite3

    tables = {row[0] for row in sqlite3.connect(workdir / "fresh.db").execute("SELECT name FROM sqlite_master")}
    assert {"contacts", "agencies", "inbound_messages", "complaints", "status_events", "outbox"} <= tables


@pytest.mark.slow
@pytest.mark.parametrize("stack", ["postgres"], indirect=True)
def test_worker_command_works_the_rq_queue(stack, twilio_standin, workdir: Path) -> None:  # noqa: ANN001
    """The production worker (`sambat worker`) takes the jobs the web app put on Redis."""
    from tests.conftest import CITY_NUMBER, PUBLIC_URL, REDIS_URL, post_twilio

    assert post_twilio(stack.client, "/webhooks/twilio/sms", form(SMS)).status_code == 200
    result = run(workdir, "worker", "--burst", DATABASE_URL=stack.runtime.settings.database_url, REDIS_URL=REDIS_URL,
                 SAMBAT_QUEUE_NAME="sambat-test", TWILIO_ACCOUNT_SID=ACCOUNT_SID, TWILIO_AUTH_TOKEN=AUTH_TOKEN,
                 SAMBAT_TWILIO_API_BASE_URL=twilio_standin.base_url, SAMBAT_PUBLIC_URL=PUBLIC_URL,
                 SAMBAT_TWILIO_FROM=CITY_NUMBER)
    assert result.returncode == 0, result.stderr
    [reply] = twilio_standin.messages_sent()
    assert reply["to"] == "+6281234567890" and reply["body"].startswith("Aduan diterima. Tiket ")


@pytest.mark.slow
def test_up_with_redis_runs_an_rq_worker(workdir: Path) -> None:
    """With REDIS_URL, `sambat up` puts jobs on Redis and its own worker process takes them."""
    from redis import Redis

    from tests.conftest import REDIS_URL

    Redis.from_url(REDIS_URL).flushdb()
    port = free_port()
    running = Up(workdir, port, {"REDIS_URL": REDIS_URL, "SAMBAT_QUEUE_NAME": f"sambat-up-{port}",
                                 "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
                                 "SAMBAT_SMS_PROVIDER": "console", "SAMBAT_PUBLIC_URL": f"http://127.0.0.1:{port}"})
    try:
        running.wait_ready()
        params = form(SMS)
        url = running.url("/webhooks/twilio/sms")
        request = Request(url, data=urlencode(params).encode(), method="POST",
                          headers={"X-Twilio-Signature": twilio_signature(url, params)})
        with urlopen(request, timeout=5) as response:
            assert response.status == 200
        output = running.wait_for_output("Aduan diterima")
        assert "starting an rq worker process" in output
    finally:
        running.stop()
        Redis.from_url(REDIS_URL).flushdb()
