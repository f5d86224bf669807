"""The floor: what any webhook that stores before it answers costs here, with no framework and no checks.

Run as ``gunicorn -w 2 -b 127.0.0.1:PORT floor_app:app`` with ``bench/webhook`` on the Python path (``run.py
--floor`` does). A plain WSGI function reads the form with ``parse_qsl``, writes the message with one INSERT on a
psycopg connection of its own (autocommit), sends one ``SET NX`` to Redis, and answers empty TwiML. No signature
check, no phone number check, no spool, no metrics, no headers: it is not a webhook anyone should run, only the
upper bound of one that stores first on this machine, measured beside the bare endpoint and the real webhook.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

import psycopg
from redis import Redis

EMPTY_TWIML = b'<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
INSERT = ("INSERT INTO inbound_messages (channel, medium, provider_message_id, sender, recipient, body, media, "
          "raw, received_at, automated, attempts) "
          "VALUES ('twilio', 'sms', %s, %s, %s, %s, '[]', %s::jsonb, now(), false, 0) "
          "ON CONFLICT (channel, provider_message_id) DO NOTHING RETURNING id")

_local = threading.local()
_redis = Redis.from_url(os.environ["REDIS_URL"])


def _connection() -> psycopg.Connection:
    connection = getattr(_local, "connection", None)
    if connection is None:
        url = os.environ["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
        connection = _local.connection = psycopg.connect(url, autocommit=True)
    return connection


def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    _connection().execute(INSERT, (form["MessageSid"], form["From"], form.get("To"), form.get("Body", ""),
                                   json.dumps(form))).fetchone()
    _redis.set("sambat-bench-floor:wake", 1, nx=True, ex=5)
    start_response("200 OK", [("Content-Type", "text/xml"), ("Content-Length", str(len(EMPTY_TWIML)))])
    return [EMPTY_TWIML]
