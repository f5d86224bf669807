"""SMS command parsing: a plain table of what citizens type and what it means."""

from __future__ import annotations

import pytest

from gateway.complaints.commands import Command, parse_command

CASES = [
    ("complaint", "jalan rusak berlubang depan SDN 3 Sawojajar",
     Command("complaint", text="jalan rusak berlubang depan SDN 3 Sawojajar")),
    ("CEK spaced", "CEK 4821 7730", Command("status", code="48217730", language="id")),
    ("cek lower", "cek 48217730", Command("status", code="48217730", language="id")),
    ("STATUS dashed", "STATUS 4821-7730", Command("status", code="48217730")),
    ("bare code", "48217730", Command("status", code="48217730")),
    ("bare code spaced", " 4821 7730 ", Command("status", code="4821 7730")),
    ("bare code with hash", "#4821-7730", Command("status", code="#4821-7730")),
    ("CEK colon", "Cek:48217730.", Command("status", code="48217730", language="id")),
    ("CHECK English", "check 48217730", Command("status", code="48217730", language="en")),
    ("CEK without code", "CEK", Command("status", code=None, language="id")),
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
    ("short complaint", "ok", Command("complaint", text="ok", hint="short")),
    ("empty", "   ", Command("empty")),
    ("word that starts like a keyword", "Cekungan jalan dalam sekali", Command("complaint",
                                                                              text="Cekungan jalan dalam sekali")),
    ("short number in text", "PJU mati 3 hari", Command("complaint", text="PJU mati 3 hari")),
]


@pytest.mark.parametrize(("label", "typed", "expected"), CASES, ids=[case[0] for case in CASES])
def test_parse_command(label: str, typed: str, expected: Command) -> None:
    assert parse_command(typed) == expected


# --- issue 15: codes as people type them, and the hints on short replies ---------------------------------
# 66283615 has a right check digit; 66283614 does not.

STATUS_CASES = [
    # the issue's own texts, exactly as written there
    ("Cek66283615", "66283615", "id", False),
    ("cek66283615", "66283615", "id", False),
    ("CEK 6628 3615 tolong dipercepat", "66283615", "id", False),
    ("cek tiket saya 66283615", "66283615", "id", False),
    ("status aduan 6628-3615", "66283615", None, False),
    ("gimana 66283615 pak", "66283615", None, True),
    # more: case, separators, prefixes, keypad slips
    ("cEk 6628.3615", "66283615", "id", False),
    ("CEK 66-28-36-15", "66283615", "id", False),
    ("CEK #6628-3615", "66283615", "id", False),
    ("cek no. 6628 3615 ya", "66283615", "id", False),
    ("CEK SBT-66283615", "66283615", "id", False),
    ("Status:66283615", "66283615", None, False),
    ("STATUS66283615", "66283615", None, False),
    ("cekk 66283615", "66283615", "id", False),
    ("chek 66283615", "66283615", "id", False),
    ("CK 66283615", "66283615", "id", False),
    ("statsu 66283615", "66283615", None, False),
    ("CHECK 6628 3615 please", "66283615", "en", False),
    ("cektiket 66283615", "66283615", "id", False),
    ("CEK 6628 3615 2 hari belum ada kabar", "66283615", "id", False),
    ("tiket saya 6628-3615 gimana?", "66283615", None, True),
    ("66283615 gimana pak", "66283615", None, True),
    ("Gimana kabar 6628 3615?", "66283615", None, True),
    # wrong length or a mistyped check digit after CEK: answered (not found / mistyped), never a complaint
    ("CEK 6628361", "6628361", "id", False),
    ("CEK 662836155", "662836155", "id", False),
    ("cek 66283614", "66283614", "id", False),
    ("CEK 6628 36", "662836", "id", False),
    # no code at all: the usage
    ("CEK", None, "id", False),
    ("STATUS", None, None, False),
    ("cek!", None, "id", False),
    ("Cek tiket saya", None, "id", False),
]


@pytest.mark.parametrize(("typed", "code", "language", "embedded"), STATUS_CASES, ids=[c[0] for c in STATUS_CASES])
def test_codes_as_people_type_them(typed: str, code: str | None, language: str | None, embedded: bool) -> None:
    command = parse_command(typed)
    assert (command.name, command.code, command.language, command.embedded) == ("status", code, language, embedded)


NOT_CODES = [
    "bayar Rp 50000 ke petugas",
    "Rp 50000",
    "dimintai Rp 66283615 sama oknum",
    "dipungut Rp. 50.000.000 untuk izin",
    "iuran 66.283.615 setahun",
    "hubungi saya 081234567890",
    "no hp 0812-3456-7890 lampu mati",
    "telp 0341 551234 air mati",
    "gimana 66283614 pak",  # check digit wrong: not a code, a sentence
    "NIK 3573012345678901 belum jadi",
    "PJU mati 3 hari di jl 66283615a",
    "lampu jalan mati sejak 66283615 hari yang lalu di depan rumah saya dekat masjid besar kampung",  # long
    "jalan 66 283 615",
    "jalan rusak 06283615",
]


@pytest.mark.parametrize("typed", NOT_CODES)
def test_numbers_that_are_not_codes(typed: str) -> None:
    command = parse_command(typed)
    assert command.name == "complaint" and command.text == typed and not command.embedded


HINTS = [
    # thanks and very short texts (the list, exactly)
    ("terima kasih", "short"), ("makasih", "short"), ("ok", "short"), ("oke", "short"), ("siap", "short"),
    ("👍", "short"), ("?", "short"),
    # more of the same
    ("Terima kasih, Pak!", "short"), ("TERIMA KASIH BANYAK", "short"), ("terimakasih bu", "short"),
    ("makasih min 🙏", "short"), ("Ok pak", "short"), ("oke siap", "short"), ("siap ditunggu", "short"),
    ("👍👍", "short"), ("??", "short"), ("p", "short"), ("thx", "short"), ("matur suwun", "short"),
    ("mantap", "short"), ("noted", "short"),
    # a questionnaire's YA
    ("YA", "yes"), ("ya", "yes"), ("Iya", "yes"), ("sudah beres", "yes"), ("Sudah beres, terima kasih", "yes"),
    ("udah", "yes"),
    # not fixed (the words, exactly, then more)
    ("belum", "dispute"), ("masih", "dispute"), ("tidak benar", "dispute"), ("belum beres", "dispute"),
    ("BELUM", "dispute"), ("Belum beres pak, lubangnya masih ada", "dispute"), ("masih rusak", "dispute"),
    ("blm", "dispute"), ("belom selesai", "dispute"), ("Tidak", "dispute"), ("tidak benar, belum diperbaiki",
                                                                               "dispute"),
    # complaints
    ("lampu mati", None), ("jalan rusak parah", None), ("tidak ada air sejak kemarin", None),
    ("sampah menumpuk di TPS", None), ("banjir", None),
]


@pytest.mark.parametrize(("typed", "hint"), HINTS, ids=[h[0] for h in HINTS])
def test_hints(typed: str, hint: str | None) -> None:
    command = parse_command(typed)
    assert (command.name, command.hint) == ("complaint", hint)


def test_info_glued_and_dispute_words() -> None:
    from gateway.complaints.commands import is_dispute

    assert parse_command("INFO 66283615 belum selesai") == Command("info", code="66283615", text="belum selesai",
                                                                    language="id")
    assert parse_command("Info66283615 masih bocor").code == "66283615"
    assert is_dispute("belum selesai") and is_dispute("lubangnya masih ada") and is_dispute("tidak benar")
    assert not is_dispute("lubangnya makin besar") and not is_dispute("terima kasih")
