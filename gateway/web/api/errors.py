"""One JSON error shape for the whole API (after microblog's api/errors.py)::

    {"error": {"status": 422, "code": "invalid_fields", "message": "...",
               "fields": {"phone": {"code": "invalid_phone", "message": "..."}}}}

``fields`` is there only when particular fields are wrong.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify
from werkzeug.exceptions import HTTPException

from gateway.web.form.texts import error_text

CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
    409: "conflict", 413: "too_large", 415: "unsupported_media_type", 422: "invalid_fields", 429: "rate_limited",
    500: "internal_error",
}


def error_response(status: int, message: str, code: str | None = None,
                   fields: dict[str, str] | None = None, limits: dict[str, Any] | None = None,
                   files: dict[str, str] | None = None) -> Response:
    """A JSON error; ``fields`` maps a field name to its error code (worded in English here), ``files`` a field
    name to the file refused (a photo), named in the field's entry as ``file``."""
    error: dict[str, Any] = {"status": status, "code": code or CODES.get(status, "error"), "message": message}
    if fields:
        error["fields"] = {name: {"code": field_code, "message": error_text("en", field_code, **(limits or {})),
                                  **({"file": (files or {})[name]} if name in (files or {}) else {})}
                           for name, field_code in fields.items()}
    if files:
        error["message"] = f"{message}: " + ", ".join(f"{name} ({file})" for name, file in files.items())
    response = jsonify(error=error)
    response.status_code = status
    return response


def http_error(error: HTTPException) -> Response:
    """Any HTTP error raised under /api/v1 (404, 405, 413, 429 ...) in the API's shape."""
    messages = {
        404: "no such resource", 405: "method not allowed here",
        413: "the request is too large", 429: f"too many requests: {error.description}",
    }
    response = error_response(error.code or 500, messages.get(error.code or 500, error.description or "error"))
    if error.code == 405 and getattr(error, "valid_methods", None):
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response
