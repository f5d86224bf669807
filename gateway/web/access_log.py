"""Access logs without secrets (issue 14): an Open311 ``api_key`` (or any key, token, password or signature) in a
query string is written as ``[redacted]``, in gunicorn's access log (``sambat web``) and in the development
server's (``sambat up``). Request headers that carry secrets are redacted too, should a log format name them.
"""

from __future__ import annotations

import re
from typing import Any

from gunicorn.glogging import Logger
from werkzeug.serving import WSGIRequestHandler

REDACTED = "[redacted]"
# A query parameter whose name says it is a secret: api_key, apikey, key, access_token, password, signature ...
SECRET_PARAMETER = re.compile(
    r"(?i)(^|[?&;])((?:[^=&;#\s]*?)(?:key|token|passw|pwd|secret|signature|auth|session|csrf)[^=&;#\s]*=)"
    r"[^&;#\s\"]*")
SECRET_HEADERS = ("x-api-key", "authorization", "cookie", "set-cookie", "x-twilio-signature", "proxy-authorization")


def redact_query(text: str | None) -> str | None:
    """A URL, request line or query string with the values of secret-named parameters replaced."""
    if not text:
        return text
    return SECRET_PARAMETER.sub(lambda match: match.group(1) + match.group(2) + REDACTED, text)


class RedactingLogger(Logger):
    """gunicorn's logger (``--logger-class``) whose access log never holds a query's secrets."""

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> dict[str, Any]:
        atoms = super().atoms(resp, req, environ, request_time)
        for name, value in atoms.items():
            if _secret_header(name):
                atoms[name] = REDACTED
            elif isinstance(value, str) and "=" in value:  # r, q, f, {raw_uri}e, {query_string}e ...
                atoms[name] = redact_query(value)
        return atoms


def _secret_header(atom: str) -> bool:
    """``{x-api-key}i``, ``{http_x_api_key}e``, ``{set-cookie}o`` ...: an atom of a header that holds a secret."""
    if not (atom.startswith("{") and atom[-2:-1] == "}"):
        return False
    name = atom[1:-2].lower().replace("_", "-").removeprefix("http-")
    return name in SECRET_HEADERS


class RedactingRequestHandler(WSGIRequestHandler):
    """The development server's request handler (``sambat up``), logging request lines without secrets."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        path = getattr(self, "path", None)
        if path is not None:
            self.path = redact_query(path) or path
        try:
            super().log_request(code, size)
        finally:
            if path is not None:
                self.path = path
