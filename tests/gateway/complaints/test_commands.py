"""SMS command parsing: a plain table of what citizens type and what it means."""

from __future__ import annotations

import pytest

from gateway.complaints.commands import Command, parse_command

CASES = [
    ("complaint", "jalan rusak berlubang depan SDN 3 Sawojajar",
     Command("complaint", text="jalan rusak berlubang depan SDN 3 Sawojajar")),
    ("CEK spaced", "CEK 4821 7730", Command("status", code="4821 7730", language="id")),
    ("cek lower", "cek 48217730", Command("status", code="48217730", language="id")),
    ("STATUS dashed", "STATUS 4821-7730", Command("status", code="4821-7730")),
    ("bare code", "48217730", Command("status", code="48217730")),
    ("bare code spaced", " 4821 7730 ", Command("status", code="4821 7730")),
    ("bare code with hash", "#4821-7730", Command("status", code="#4821-7730")),
    ("CEK colon", "Cek:48217730.", Command("status", code="48217730.", language="id")),
    ("CHECK English", "check 48217730", Command("status", code="48217730", language="en")),
    ("CEK without code", "CEK", Command("status", code="", language="id")),
    ("BANTUAN", "bantuan", Command("help", language="id")),
    ("HELP with mark", "HELP!", Command("help", language="en")),
    ("STOP", "Stop", Command("stop")),
    ("BERHENTI", "BERHENTI.", Command("stop", language="id")),
    ("stop inside a complaint", "stop lampu mati di perempatan",
     Command("complaint", text="stop lampu mati di perempatan")),
    ("MULAI", " mulai ", Command("start", language="id")),
    ("START", "START", Command("start", language="en")),
    ("INFO", "INFO 48217730 makin parah", Command("info", code="48217730", text="makin parah", language="id")),
    ("INFO spaced code", "info 4821 7730: lubang 3 meter", Command("info", code="4821 7730", text="lubang 3 meter",
                                                                     language="id")),
    ("INFO text starts with a number", "INFO 48217730 3 hari", Command("info", code="48217730", text="3 hari",
                                                                         language="id")),
    ("INFO without code", "INFO lubang", Command("info", code=None, text="lubang", language="id")),
    ("SAMBAT keyword", "SAMBAT jalan rusak", Command("complaint", text="jalan rusak")),
    ("ADUAN keyword", "aduan: sampah numpuk", Command("complaint", text="sampah numpuk")),
    ("keyword alone", "sambat", Command("empty")),
    ("empty", "   ", Command("empty")),
    ("word that starts like a keyword", "Cekungan jalan dalam sekali", Command("complaint",
                                                                              text="Cekungan jalan dalam sekali")),
    ("short number in text", "PJU mati 3 hari", Command("complaint", text="PJU mati 3 hari")),
]


@pytest.mark.parametrize(("label", "typed", "expected"), CASES, ids=[case[0] for case in CASES])
def test_parse_command(label: str, typed: str, expected: Command) -> None:
    assert parse_command(typed) == expected
