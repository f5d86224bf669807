"""GET /metrics: the counts move with the pipeline, the states are read at each scrape, and who may read it.

The pipeline runs on both stacks (PostgreSQL + rq, SQLite + the embedded queue). One test runs two processes
sharing a prometheus_client multiprocess directory, as gunicorn's workers and ``sambat worker`` do.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from models import Device, Outbox, utcnow
from models.message import DEAD
from tests.conftest import ROOT, Stack, make_settings
from tests.gateway.jobs.test_inbound import CITIZEN, text_in
from tests.support.twilio_standin import TwilioStandIn


def scrape(stack: Stack, **kwargs: object) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """GET /metrics and return {(sample name, sorted labels): value}."""
    response = stack.client.get("/metrics", **kwargs)
    assert response.status_code == 200, response.text
    assert response.mimetype == "text/plain"
    return samples(response.text)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found: dict, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def test_a_message_in_moves_the_counters_and_its_reply_the_histogram(stack: Stack,
                                                                     twilio_standin: TwilioStandIn) -> None:
    before = scrape(stack)
    text_in(stack, "lampu PJU mati di jalan Danau Toba")
    after_webhook = scrape(stack)
    assert value(after_webhook, "sambat_messages_received_total", channel="twilio", medium="sms") == \
        value(before, "sambat_messages_received_total", channel="twilio", medium="sms") + 1
    assert value(after_webhook, "sambat_inbound_unprocessed") == 1
    queued = "embedded" if stack.name == "sqlite" else "sambat-test-high"
    assert value(after_webhook, "sambat_queue_depth", queue=queued) == 1
    assert value(after_webhook, "sambat_dependency_up", dependency="database") == 1
    assert value(after_webhook, "sambat_dependency_up", dependency="queue") == 1

    stack.work()
    assert len(twilio_standin.messages_sent()) == 1
    after = scrape(stack)
    assert value(after, "sambat_inbound_unprocessed") == 0
    assert value(after, "sambat_queue_depth", queue=queued) == 0
    assert value(after, "sambat_outbox_rows", status="queued") == 1  # the stand-in answers "queued"
    sent = ("sambat_messages_sent_total", {"channel": "twilio", "kind": "ticket_created"})
    assert value(after, sent[0], **sent[1]) == value(before, sent[0], **sent[1]) + 1
    replies = ("sambat_reply_seconds_count", {"channel": "twilio"})
    assert value(after, replies[0], **replies[1]) == value(before, replies[0], **replies[1]) + 1
    within_a_minute = value(after, "sambat_reply_seconds_bucket", channel="twilio", le="60.0") - \
        value(before, "sambat_reply_seconds_bucket", channel="twilio", le="60.0")
    assert within_a_minute == 1


def test_send_errors_are_counted_by_provider_code(stack: Stack, twilio_standin: TwilioStandIn) -> None:
    before = scrape(stack)
    twilio_standin.fail_next(429)
    twilio_standin.fail_next(500)
    text_in(stack, "sampah menumpuk di pasar")
    stack.work()
    text_in(stack, "got mampet", sender="+6285655512345")
    stack.work()
    after = scrape(stack)
    for code in ("20429", "20500"):
        assert value(after, "sambat_send_errors_total", channel="twilio", code=code) == \
            value(before, "sambat_send_errors_total", channel="twilio", code=code) + 1
    assert value(after, "sambat_outbox_rows", status="retry") == 2


def test_android_phones_last_seen_age(stack: Stack) -> None:
    from datetime import timedelta

    with stack.runtime.db.session() as session:
        session.add(Device(channel="android-sms", device_id="pixel-kantor", last_event="system:ping",
                           last_seen_at=utcnow() - timedelta(minutes=10)))
        session.commit()
    age = value(scrape(stack), "sambat_device_last_seen_seconds", channel="android-sms", device="pixel-kantor")
    assert 600 <= age < 660


def test_spool_depth_and_dead_jobs(stack: Stack, twilio_standin: TwilioStandIn) -> None:
    """The spool's depth (docs/spool.md) and the dead messages and sends (console: Gagal) are scraped."""
    found = scrape(stack)
    assert value(found, "sambat_spool_depth") == 0 and value(found, "sambat_dead_jobs") == 0
    text_in(stack, "lampu PJU mati di jalan Danau Toba")
    stack.work()
    with stack.runtime.db.session() as session:
        row = session.scalar(select(Outbox))
        row.status, row.last_error = DEAD, "given up"
        session.commit()
    assert value(scrape(stack), "sambat_dead_jobs") == 1


def test_an_unreachable_database_is_reported_not_raised(twilio_standin: TwilioStandIn) -> None:
    from gateway.app import create_app

    nowhere = "postgresql+psycopg://postgres@127.0.0.1:1/sambat"  # nothing listens there
    app = create_app(make_settings(nowhere, twilio_standin.base_url), start_embedded=False, sync=False)
    response = app.test_client().get("/metrics")
    assert response.status_code == 200
    found = samples(response.text)
    assert value(found, "sambat_dependency_up", dependency="database") == 0
    assert not any(name == "sambat_outbox_rows" for name, _ in found)


REMOTE = {"REMOTE_ADDR": "203.0.113.9"}


@pytest.mark.parametrize(("token", "environ", "headers", "status"), [
    (None, {}, {}, 200),                                            # this host, directly
    (None, {"REMOTE_ADDR": "::1"}, {}, 200),
    (None, REMOTE, {}, 403),                                        # another host, no token configured
    (None, {}, {"X-Forwarded-For": "203.0.113.9"}, 403),            # this host, but forwarded by a proxy
    (None, {}, {"Authorization": "Bearer guess"}, 403),             # a bearer, but no token configured
    ("s3cret-token", REMOTE, {}, 401),
    ("s3cret-token", REMOTE, {"Authorization": "Bearer wrong"}, 401),
    ("s3cret-token", {}, {"Authorization": "Bearer wrong"}, 401),    # wrong token: refused even here
    ("s3cret-token", REMOTE, {"Authorization": "Bearer s3cret-token"}, 200),
    ("s3cret-token", {}, {}, 200),
])
def test_who_may_read_metrics(sqlite_url: str, token: str | None, environ: dict, headers: dict,
                              status: int) -> None:
    from gateway.app import create_app
    from gateway.jobs.queue import EmbeddedQueue
    from gateway.settings import load_settings

    variables = {"DATABASE_URL": sqlite_url, "SECRET_KEY": "test-secret-key-of-at-least-32-characters"}
    if token:
        variables["SAMBAT_METRICS_TOKEN"] = token  # from the environment only, like every secret
    settings = load_settings(environ=variables, config_path=str(ROOT / "config.yaml"))
    app = create_app(settings, queue=EmbeddedQueue(), start_embedded=False)
    response = app.test_client().get("/metrics", environ_base=environ, headers=headers)
    assert response.status_code == status, response.text
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert "SAMBAT_METRICS_TOKEN" in response.text
    if status == 403:
        assert "this host only" in response.text


SCRIPT = textwrap.dedent("""
    import itertools
    import sys
    from gateway.app import create_app
    from gateway.jobs.queue import EmbeddedQueue
    from tests.conftest import make_settings
    from tests.conftest import Stack
    from tests.gateway.jobs import test_inbound as inbound
    from tests.gateway.jobs.test_inbound import text_in

    app = create_app(make_settings(sys.argv[2], sys.argv[3]), queue=EmbeddedQueue(), start_embedded=False)
    stack = Stack("sqlite", app, app.extensions["sambat"])
    if sys.argv[1] == "send":
        inbound._sids = itertools.count(int(sys.argv[4][-6:]))  # a MessageSid of its own
        text_in(stack, "jalan rusak di Sukun", sender=sys.argv[4])
    else:
        print(stack.client.get("/metrics").text)
""")


@pytest.mark.slow
def test_counts_of_every_process_add_up_in_the_multiprocess_directory(sqlite_url: str, tmp_path: Path,
                                                                       twilio_standin: TwilioStandIn) -> None:
    """Two processes take a message each (as two gunicorn workers would); a third scrapes: it sees both."""
    directory = tmp_path / "metrics"
    directory.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory), "PYTHONPATH": str(ROOT)}

    def run(mode: str, sender: str) -> str:
        done = subprocess.run([sys.executable, "-c", SCRIPT, mode, sqlite_url, twilio_standin.base_url, sender],
                              env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    run("send", "+6281111111111")
    run("send", "+6282222222222")
    assert list(directory.glob("counter_*.db"))  # each process writes its own file (named by its pid)
    found = samples(run("scrape", CITIZEN))
    assert value(found, "sambat_messages_received_total", channel="twilio", medium="sms") == 2
    assert value(found, "sambat_inbound_unprocessed") == 2


def test_json_logs(tmp_path: Path) -> None:
    """SAMBAT_LOG_FORMAT=json: every line one JSON object, extra fields and the traceback included."""
    code = textwrap.dedent("""
        import logging
        from gateway.cli.common import _configure_logging
        _configure_logging()
        log = logging.getLogger("gateway.jobs.outbox")
        log.info("outbox %s sent", 7, extra={"outbox_id": 7})
        try:
            1 / 0
        except ZeroDivisionError:
            log.exception("send failed")
    """)
    env = {**os.environ, "SAMBAT_LOG_FORMAT": "json", "SAMBAT_CONFIG": str(ROOT / "config.yaml"),
           "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    assert lines[0]["message"] == "outbox 7 sent"
    assert lines[0]["level"] == "INFO" and lines[0]["logger"] == "gateway.jobs.outbox"
    assert lines[0]["outbox_id"] == 7 and lines[0]["pid"] > 0 and lines[0]["time"]
    assert lines[1]["level"] == "ERROR" and "ZeroDivisionError" in lines[1]["exc_info"]


def test_a_bad_log_format_names_the_key() -> None:
    env = {**os.environ, "SAMBAT_LOG_FORMAT": "xml", "SAMBAT_CONFIG": str(ROOT / "config.yaml"),
           "PYTHONPATH": str(ROOT)}
    sambat = [sys.executable, "-c", "from gateway.cli import main; main()"]
    done = subprocess.run([*sambat, "config", "check"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "SAMBAT_LOG_FORMAT: observability.log_format: must be text or json" in done.stderr
    assert "Traceback" not in done.stderr
