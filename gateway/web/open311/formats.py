"""GeoReport v2's two formats: XML (required by the spec) and JSON by the Spark convention.

One value is written both ways: a list in JSON is a parent element in XML whose children take the name in
:data:`ITEMS` (``services`` -> ``service``); a top-level list is wrapped in its root element. A JSON null is an
empty element, true and false are written so in both, numbers as JSON writes them; so a client reading either
format (georeport reads XML with xmltodict) gets the same fields in the same order with the same text. XML
1.0 cannot carry most control characters at all: they are left out of the XML, never made into a broken
document.
"""

from __future__ import annotations

import json
import re
from typing import Any
from xml.etree import ElementTree

from flask import Response

FORMATS = {"xml": "text/xml; charset=utf-8", "json": "application/json; charset=utf-8"}
ITEMS = {"services": "service", "service_requests": "request", "attributes": "attribute", "values": "value",
         "endpoints": "endpoint", "formats": "format", "errors": "error"}
# What XML 1.0 has no place for: C0 controls but tab, newline and return; surrogates; U+FFFE and U+FFFF.
NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class Open311Error(Exception):
    """An error answered in the spec's shape: HTTP ``status`` and a description for people."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status, self.description = status, description


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    return NOT_IN_XML.sub("", str(value))


def _fill(element: ElementTree.Element, value: Any) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            _fill(ElementTree.SubElement(element, key), child)
    elif isinstance(value, list):
        item_name = ITEMS.get(element.tag, "item")
        for child in value:
            _fill(ElementTree.SubElement(element, item_name), child)
    else:
        element.text = _text(value)


def to_xml(root: str, value: Any) -> bytes:
    """The value as an XML document whose root element is ``root``, with the UTF-8 declaration."""
    element = ElementTree.Element(root)
    _fill(element, value)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ElementTree.tostring(element, encoding="utf-8")


def respond(value: Any, root: str, fmt: str, status: int = 200) -> Response:
    """Answer in the asked format."""
    if fmt == "json":
        body = json.dumps(value, ensure_ascii=False).encode("utf-8")  # keeps the spec's field order
    else:
        body = to_xml(root, value)
    return Response(body, status=status, content_type=FORMATS[fmt])


def error_response(errors: list[tuple[int, str]], fmt: str, status: int | None = None) -> Response:
    """The spec's error list: ``[{"code": 400, "description": "..."}]`` or ``<errors><error>...``."""
    items = [{"code": code, "description": description} for code, description in errors]
    return respond(items, "errors", fmt if fmt in FORMATS else "xml", status or errors[0][0])
