"""The spool's pieces: the entries' JSON, the durability check of its Redis, where there is none."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from redis import Redis

from channels.android_sms.types import AndroidEvent, Incoming
from channels.base import InboundMessage, Location, Media, StatusReport
from gateway.jobs.queue import EmbeddedQueue, RQQueue
from gateway.jobs.spool import RedisSpool, build_spool, check_durability, decode, encode
from tests.conftest import REDIS_URL
from tests.support.outage import private_redis

MESSAGE = InboundMessage(
    channel="twilio", medium="whatsapp", provider_message_id="SM1", sender="+6281234567890", text="jalan rusak",
    recipient="whatsapp:+14155238886", media=(Media("https://api.twilio.com/x", "image/jpeg"),),
    raw={"Body": "jalan rusak", "NumMedia": "1", "list": [1, "a"]}, received_at=datetime(2026, 12, 1, 8, tzinfo=UTC),
    location=Location(-7.98, 112.63, "Jl. Merdeka", "Alun-Alun"),
)


@pytest.mark.parametrize(
    "item",
    [
        MESSAGE,
        StatusReport(provider_message_id="SM2", status="delivered", error_code=None, outbox_id=7, raw={"a": "b"}),
        AndroidEvent(event="mms:downloaded", event_id="E1", device_id="D1", sim_number=2, note="stored",
                     messages=(Incoming(MESSAGE, photos=(("foto.jpg", b"\xff\xd8\x00binary"),), refused=("x.exe",)),)),
        {"raw": b"From: warga@example.id\r\n\r\nhalo", "envelope_from": ""},
    ],
    ids=["inbound message", "status report", "android event with a photo", "mail"],
)
def test_every_spooled_item_comes_back_as_it_went_in(item: object) -> None:
    import json

    assert decode(json.loads(json.dumps(encode(item)))) == item


def test_decode_rebuilds_only_the_channels_dataclasses() -> None:
    with pytest.raises(ValueError, match="outside the channels package"):
        decode({"__dataclass__": "subprocess:Popen", "fields": {"args": ["true"]}})
    with pytest.raises(ValueError, match="not a dataclass"):
        decode({"__dataclass__": "channels.base:InboundError", "fields": {}})


def test_a_field_added_or_dropped_since_the_entry_was_written_does_not_stop_the_import() -> None:
    entry = encode(StatusReport(provider_message_id="SM3", status="sent"))
    entry["fields"]["gone_since"] = "x"
    del entry["fields"]["window_closed"]
    assert decode(entry) == StatusReport(provider_message_id="SM3", status="sent")


def test_the_spool_lives_beside_rq_and_nowhere_without_redis() -> None:
    spool = build_spool(RQQueue(REDIS_URL, name="sambat-test"))
    assert isinstance(spool, RedisSpool) and spool.key == "sambat-test:spool"
    assert build_spool(EmbeddedQueue()) is None


def test_a_redis_without_the_aof_is_named_at_start(tmp_path: Path) -> None:
    shared = RedisSpool(Redis.from_url(REDIS_URL))
    if shared.connection.config_get("appendonly")["appendonly"] == "no":  # the shared test server: no AOF
        assert "appendonly yes" in check_durability(shared)
    with private_redis(tmp_path / "redis") as redis:  # appendonly yes, appendfsync everysec
        assert check_durability(RedisSpool(Redis.from_url(redis.url))) is None
    assert check_durability(None) is None


# --- the local file of `sambat up` without Redis ----------------------------------------------------------------


def test_the_file_spool_keeps_its_order_across_a_restart_and_starts_afresh_when_drained(tmp_path: Path) -> None:
    from gateway.jobs.spool import FileSpool

    spool = FileSpool(tmp_path / "spool")
    assert (spool.depth(), spool.oldest()) == (0, None)
    ids = [spool.push("report", StatusReport(provider_message_id=f"SM{n}", status="sent")) for n in range(3)]
    first = spool.oldest()
    assert spool.depth() == 3 and json_id(first) == ids[0]
    assert spool.remove_oldest(b"not the oldest") is False
    assert spool.remove_oldest(first) is True

    reopened = FileSpool(tmp_path / "spool")  # the process restarted
    assert reopened.depth() == 2 and json_id(reopened.oldest()) == ids[1]
    reopened.bury(reopened.oldest(), ValueError("a bug"))
    assert (reopened.depth(), reopened.dead()) == (1, 1)
    assert reopened.remove_oldest(reopened.oldest())
    assert reopened.depth() == 0 and reopened.path.stat().st_size == 0  # truncated: it never grows forever
    reopened.push("report", StatusReport(provider_message_id="SM9", status="sent"))
    assert reopened.depth() == 1


def test_a_torn_last_line_is_not_read_until_it_is_whole(tmp_path: Path) -> None:
    from gateway.jobs.spool import FileSpool

    spool = FileSpool(tmp_path / "spool")
    spool.directory.mkdir(parents=True)
    spool.path.write_bytes(b'{"id": "half')  # a crash in the middle of a write
    assert (spool.depth(), spool.oldest()) == (0, None)


def json_id(raw: bytes | None) -> str:
    import json

    return json.loads(raw)["id"]
