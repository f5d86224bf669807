"""Twilio's media URLs on 127.0.0.1: the files of MMS and WhatsApp messages, with or without HTTP basic auth.

Twilio hosts each file of an incoming message at
``https://api.twilio.com/2010-04-01/Accounts/{AccountSid}/Messages/{MessageSid}/Media/{MediaSid}``; an account
may turn on "HTTP Basic Authentication for media access", after which a request without the account SID and
auth token gets 401. :class:`MediaServer` serves files at the same paths, records every request (with its
Authorization header) and can answer the next requests with an error, so a test drives the downloads of the
worker against a real HTTP server.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class MediaFile:
    """One hosted file: its bytes and content type; ``chunked`` leaves Content-Length out."""

    data: bytes
    content_type: str
    chunked: bool = False


@dataclass(frozen=True)
class MediaRequest:
    """A request the server received: its path and the Authorization header it carried, if any."""

    path: str
    authorization: str | None
    received_at: float


class MediaServer:
    """Twilio's media hosting on an ephemeral 127.0.0.1 port.

    Attributes:
        account_sid, auth_token: when ``require_auth`` is true, requests must carry these as HTTP basic auth.
        require_auth: the account's "HTTP Basic Authentication for media access" setting.
    """

    def __init__(self, account_sid: str, auth_token: str, require_auth: bool = False) -> None:
        self.account_sid, self.auth_token, self.require_auth = account_sid, auth_token, require_auth
        self._files: dict[str, MediaFile] = {}
        self._failures: list[int] = []
        self._requests: list[MediaRequest] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> MediaServer:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.media = self  # type: ignore[attr-defined]
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def port(self) -> int:
        assert self._server is not None, "MediaServer is not started"
        return self._server.server_address[1]

    def add(self, data: bytes, content_type: str, message_sid: str | None = None, chunked: bool = False,
            host: str = "127.0.0.1") -> str:
        """Host a file; returns its URL in Twilio's shape (``host`` may name this server otherwise)."""
        message_sid = message_sid or "MM" + secrets.token_hex(16)
        path = (f"/2010-04-01/Accounts/{self.account_sid}/Messages/{message_sid}/Media/"
                f"ME{secrets.token_hex(16)}")
        with self._lock:
            self._files[path] = MediaFile(data, content_type, chunked)
        return f"http://{host}:{self.port}{path}"

    def fail_next(self, status: int, times: int = 1) -> None:
        """Answer the next ``times`` requests with ``status`` (e.g. 503) instead of the file."""
        with self._lock:
            self._failures.extend([status] * times)

    @property
    def requests(self) -> list[MediaRequest]:
        with self._lock:
            return list(self._requests)

    def answer(self, path: str, authorization: str | None) -> tuple[int, MediaFile | None]:
        """Record a request and choose its answer (called by the handler)."""
        with self._lock:
            self._requests.append(MediaRequest(path, authorization, time.time()))
            if self._failures:
                return self._failures.pop(0), None
            if self.require_auth and authorization != _basic(self.account_sid, self.auth_token):
                return 401, None
            found = self._files.get(path)
            return (200, found) if found else (404, None)


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the server records every request instead."""

    def do_GET(self) -> None:
        try:
            self._serve()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client stopped reading (a file over its limit)

    def _serve(self) -> None:
        status, found = self.server.media.answer(self.path, self.headers.get("Authorization"))  # type: ignore[attr-defined]
        if found is None:
            body = json.dumps({"code": 20003 if status == 401 else 20404, "status": status,
                               "message": "Authenticate" if status == 401 else "Not found"}).encode()
            self.send_response(status)
            if status == 401:
                self.send_header("WWW-Authenticate", 'Basic realm="Twilio API"')
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.send_response(200)
        self.send_header("Content-Type", found.content_type)
        if found.chunked:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for start in range(0, len(found.data), 16384):
                part = found.data[start:start + 16384]
                self.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(found.data)))
            self.end_headers()
            self.wfile.write(found.data)


@pytest.fixture(name="media_server")
def media_server_fixture() -> Iterator[MediaServer]:
    """A started :class:`MediaServer` for the test account (media auth off; a test may turn it on)."""
    from tests.conftest import ACCOUNT_SID, AUTH_TOKEN

    server = MediaServer(ACCOUNT_SID, AUTH_TOKEN).start()
    yield server
    server.stop()
