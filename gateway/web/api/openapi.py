"""The OpenAPI 3.0 document served at /api/v1/openapi.json. Tests check it against the running app."""

from __future__ import annotations

from typing import Any

from channels.web import NUMBER_PATTERN

STRING_OR_NULL = {"type": "string", "nullable": True}
FIELD_PROPERTIES: dict[str, Any] = {
    "text": {"type": "string", "minLength": 3, "maxLength": 4000, "description": "The complaint (required)."},
    "kelurahan": {**STRING_OR_NULL, "maxLength": 60,
                  "description": "A kelurahan key or name from GET /kelurahan, e.g. sawojajar."},
    "address": {**STRING_OR_NULL, "maxLength": 300, "description": "Address or landmark, free text."},
    "latitude": {"type": "number", "nullable": True, "minimum": -90, "maximum": 90,
                 "description": "WGS84; give both coordinates or neither."},
    "longitude": {"type": "number", "nullable": True, "minimum": -180, "maximum": 180},
    "name": {**STRING_OR_NULL, "maxLength": 120},
    "phone": {**STRING_OR_NULL, "maxLength": 32,
              "description": "For the SMS confirmation and updates; Indonesian numbers may start with 0."},
    "email": {**STRING_OR_NULL, "maxLength": 254, "format": "email"},
    "language": {"type": "string", "nullable": True, "enum": ["id", "en", None],
                 "description": "The language of replies; default id."},
    "category": {**STRING_OR_NULL, "maxLength": 40, "description": "A category code from GET /categories."},
}
ERROR = {
    "type": "object", "required": ["error"],
    "properties": {"error": {
        "type": "object", "required": ["status", "code", "message"],
        "properties": {
            "status": {"type": "integer"}, "code": {"type": "string"}, "message": {"type": "string"},
            "fields": {"type": "object", "additionalProperties": {
                "type": "object", "required": ["code", "message"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            }},
        },
    }},
}
COMPLAINT = {
    "type": "object",
    "required": ["ticket_code", "display_code", "status", "status_text", "closed", "agency", "category", "kelurahan",
                 "created_at", "updated_at", "photos", "answers", "url"],
    "properties": {
        "ticket_code": {"type": "string", "pattern": "^[0-9]{8}$"},
        "display_code": {"type": "string", "pattern": "^[0-9]{4} [0-9]{4}$"},
        "status": {"type": "string", "enum": ["new", "assigned", "acknowledged", "in_progress", "resolved",
                                              "rejected", "merged", "reopened"]},
        "status_text": {"type": "string"}, "closed": {"type": "boolean"},
        "agency": {"type": "object", "nullable": True, "required": ["code", "name"],
                   "properties": {"code": {"type": "string"}, "name": {"type": "string", "nullable": True}}},
        "category": STRING_OR_NULL, "kelurahan": STRING_OR_NULL,
        "created_at": {"type": "string", "format": "date-time"},
        "updated_at": {"type": "string", "format": "date-time"},
        "photos": {"type": "integer", "minimum": 0},
        "answers": {"type": "array", "items": {
            "type": "object", "required": ["at", "status", "status_text", "note"],
            "properties": {"at": {"type": "string", "format": "date-time"}, "status": {"type": "string"},
                           "status_text": {"type": "string"}, "note": STRING_OR_NULL},
        }},
        "url": {"type": "string"},
        "confirmation": {"type": "string", "enum": ["sms", "email", "opted_out", "sms_refused", "none"],
                         "description": "Only when filing: how the citizen was sent the ticket."},
    },
}


def _error(description: str) -> dict[str, Any]:
    schema = {"$ref": "#/components/schemas/Error"}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _ok(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def openapi_document(server_url: str) -> dict[str, Any]:
    """The document, with the server's own URL."""
    complaint_ref = {"$ref": "#/components/schemas/Complaint"}
    multipart = {"type": "object", "required": ["text"], "properties": {
        **{name: {key: value for key, value in schema.items() if key not in ("nullable",)} | {"type": "string"}
           for name, schema in FIELD_PROPERTIES.items() if name not in ("latitude", "longitude", "language")},
        # Form fields are text: a coordinate is a decimal number written out (comma or point), and an e-mail
        # address is checked as in JSON; without these the document allowed any text the app refuses (422).
        "latitude": {"type": "string", "pattern": NUMBER_PATTERN, "description": "WGS84 latitude, e.g. -7.9666"},
        "longitude": {"type": "string", "pattern": NUMBER_PATTERN, "description": "WGS84 longitude, e.g. 112.63"},
        "language": {"type": "string", "enum": ["id", "en"]},
        "photos": {"type": "array", "maxItems": 3, "items": {"type": "string", "format": "binary"},
                   "description": "JPEG, PNG or HEIC; metadata (EXIF, GPS) is removed before storing."},
    }}
    return {
        "openapi": "3.0.3",
        "info": {"title": "Sambat mobile-app API", "version": "1.0.0",
                 "description": "File complaints and follow them, as SMS and the web form do: same queue, same "
                                "ticket codes, same updates. Client apps send their key as X-API-Key."},
        "servers": [{"url": server_url}],
        "components": {
            "securitySchemes": {"apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}},
            "schemas": {
                "Error": ERROR, "Complaint": COMPLAINT,
                "NewComplaint": {"type": "object", "required": ["text"], "properties": FIELD_PROPERTIES},
            },
        },
        "paths": {
            "/complaints": {"post": {
                "operationId": "createComplaint", "summary": "File a complaint", "security": [{"apiKey": []}],
                "parameters": [{"name": "Idempotency-Key", "in": "header", "required": False,
                                "description": "Send the same key to retry safely: the first complaint is returned.",
                                "schema": {"type": "string", "pattern": "^[\\x21-\\x7e]{1,100}$"}}],
                "requestBody": {"required": True, "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/NewComplaint"}},
                    "multipart/form-data": {"schema": multipart},
                }},
                "responses": {
                    "201": {**_ok("Filed; the ticket code is in the body", complaint_ref), "links": {
                        "GetComplaint": {"operationId": "getComplaint",
                                         "parameters": {"code": "$response.body#/ticket_code"}}}},
                    "200": _ok("A repeated Idempotency-Key: the complaint filed the first time", complaint_ref),
                    "400": _error("The body is not a JSON object, or a bad Idempotency-Key"),
                    "401": _error("No API key, or not a valid one"),
                    "409": _error("The Idempotency-Key was used for a different complaint"),
                    "413": _error("The request is too large"),
                    "415": _error("Neither JSON nor multipart/form-data"),
                    "422": _error("Some fields are not valid; error.fields names them"),
                    "429": _error("Too many requests from this API key"),
                },
            }},
            "/complaints/{code}": {"get": {
                "operationId": "getComplaint", "summary": "A complaint's public status",
                "security": [{"apiKey": []}],
                "parameters": [
                    {"name": "code", "in": "path", "required": True, "schema": {"type": "string"},
                     "description": "The ticket code, 8 digits, spaces or dashes allowed."},
                    {"name": "lang", "in": "query", "required": False, "schema": {"type": "string"},
                     "description": "id or en for status texts (default en)."},
                ],
                "responses": {
                    "200": _ok("The complaint", complaint_ref),
                    "400": _error("A query field holds a NUL character; error names the field"),
                    "401": _error("No API key, or not a valid one"),
                    "404": _error("Not a ticket code, a mistyped one (the check digit disagrees), or unknown"),
                    "429": _error("Too many requests from this API key"),
                },
            }},
            "/kelurahan": {"get": {
                "operationId": "listKelurahan", "summary": "Malang's 57 kelurahan",
                "responses": {"200": _ok("The list", {
                    "type": "object", "required": ["kelurahan"], "properties": {"kelurahan": {
                        "type": "array", "items": {"type": "object", "required": ["key", "name", "kecamatan"],
                                                   "properties": {"key": {"type": "string"}, "name": {"type": "string"},
                                                                  "kecamatan": {"type": "string"}}}}}}),
                              "400": _error("A query field holds a NUL character; error names the field")},
            }},
            "/categories": {"get": {
                "operationId": "listCategories", "summary": "Complaint categories (Open311 services)",
                "responses": {"200": _ok("The list", {
                    "type": "object", "required": ["categories"], "properties": {"categories": {
                        "type": "array", "items": {
                            "type": "object", "required": ["code", "name", "agency", "group"],
                            "properties": {"code": {"type": "string"},
                                           "name": {"type": "object", "additionalProperties": {"type": "string"}},
                                           "agency": STRING_OR_NULL, "group": {"type": "string"}}}}}}),
                              "400": _error("A query field holds a NUL character; error names the field")},
            }},
        },
    }
