"""Reading a city's archive CSV: delimiters, BOM, names and aliases, unknown agencies, stable hashes."""

from __future__ import annotations

import pytest

from router.learning import AgencyRef, ArchiveError, agencies_from_config, content_hash, read_archive
from tests.router.learning_data import CONFIG

AGENCIES = [
    AgencyRef("DPUPRPKP", "Dinas Pekerjaan Umum", ("Dinas PU", "Dinas Perumahan")),  # Perumahan merged into PU
    AgencyRef("DISHUB", "Dinas Perhubungan", ("DLLAJ",)),
]


@pytest.mark.parametrize(("data", "delimiter"), [
    ("text,agency\njalan rusak,DISHUB\n", ","),
    ("text;agency\njalan, rusak;DISHUB\n", ";"),
    ("text\tagency\njalan; rusak, parah\tDISHUB\n", "\t"),
    ("id;text;agency;note\n1;jalan rusak;DISHUB;a,b,c\n", ";"),
    ('text,agency,x\n"jalan; rusak",DISHUB,1\n', ","),
], ids=["comma", "semicolon", "tab", "other-columns", "quoted"])
def test_delimiter_detected(data: str, delimiter: str) -> None:
    reading = read_archive(data.encode(), AGENCIES)
    assert reading.delimiter == delimiter
    assert [row.agency for row in reading.rows] == ["DISHUB"]
    assert "rusak" in reading.rows[0].text


@pytest.mark.parametrize("data", [
    "\ufefftext,agency\nsampah,DISHUB\n".encode(),
    b"text,agency\nsampah,DISHUB\n",
    "\ufeffTEXT , Agency\nsampah,DISHUB\n",
], ids=["bom-bytes", "no-bom", "bom-text-header-case"])
def test_utf8_with_or_without_bom(data: bytes | str) -> None:
    reading = read_archive(data, AGENCIES)
    assert [(row.text, row.agency) for row in reading.rows] == [("sampah", "DISHUB")]


@pytest.mark.parametrize(("written", "code"), [
    ("DPUPRPKP", "DPUPRPKP"), ("dpuprpkp", "DPUPRPKP"), ("Dinas  Pekerjaan umum ", "DPUPRPKP"),
    ("dinas pu", "DPUPRPKP"), ("DINAS PERUMAHAN", "DPUPRPKP"), ("dllaj", "DISHUB"),
], ids=["code", "code-lower", "name-spacing", "alias", "merged-old-name", "alias-lower"])
def test_agency_resolved(written: str, code: str) -> None:
    reading = read_archive(f"text;agency\nsesuatu;{written}\n", AGENCIES)
    assert [row.agency for row in reading.rows] == [code]
    assert reading.rows[0].written == written.strip()


def test_unknown_agencies_with_line_numbers() -> None:
    data = ('text,agency\nsatu,DISHUB\n"dua\nbaris",Dinas Kebersihan\ntiga,BPBD\n'
            'empat,dinas  kebersihan\n,DISHUB\nlima,\n')
    reading = read_archive(data, AGENCIES)
    assert [(u.written, u.lines) for u in reading.unknown] == [("Dinas Kebersihan", (3, 6)), ("BPBD", (5,))]
    assert [row.line for row in reading.rows] == [2]
    assert reading.skipped == [7, 8]


@pytest.mark.parametrize(("data", "message"), [
    (b"text,agency\n\xff\xfe,DISHUB\n", "line 2: not UTF-8"),
    ("teks,dinas\nx,DISHUB\n", "line 1: the header needs columns text and agency"),
], ids=["not-utf8", "no-columns"])
def test_refused(data: bytes | str, message: str) -> None:
    with pytest.raises(ArchiveError, match=message):
        read_archive(data, AGENCIES)


def test_alias_naming_two_agencies_refused() -> None:
    with pytest.raises(ArchiveError, match="given for both"):
        read_archive("text,agency\nx,y\n", [AgencyRef("A1", "Satu", ("dinas",)), AgencyRef("B1", "Dua", ("Dinas",))])


def test_same_file_twice_same_hashes() -> None:
    data = b"text;agency\njalan  rusak ;dinas pu\nlampu mati;DLLAJ\n"
    first = [row.content_hash for row in read_archive(data, AGENCIES).rows]
    again = [row.content_hash for row in read_archive(b"\xef\xbb\xbf" + data.replace(b";", b"\t"), AGENCIES).rows]
    assert first == again
    assert first[0] == content_hash("jalan rusak", "DPUPRPKP") != content_hash("jalan rusak", "DISHUB")


def test_agencies_from_config() -> None:
    refs = {ref.code: ref for ref in agencies_from_config(CONFIG)}
    assert refs["WASTE"].aliases == ("DKP", "Dinas Kebersihan dan Pertamanan")
    assert refs["ROADS"].name == "Dinas Jalan" and refs["ROADS"].aliases == ()
