"""Every reply template, filled with worst-case values, fits one GSM-7 SMS segment."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.complaints.replies import fits_one_segment, gsm7_length, render
from gateway.settings import REQUIRED_TEMPLATES, load_settings

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def settings():  # noqa: ANN201
    return load_settings(environ={}, config_path=str(ROOT / "config.yaml"))


def worst_values(settings) -> dict[str, str]:  # noqa: ANN001
    longest_agency = max((agency.code for agency in settings.routing.agencies), key=len)
    longest_status = max((text for texts in settings.statuses.values() for text in texts.values()), key=len)
    return {"code": "9999 9999", "digits": "99999999", "agency": longest_agency, "status": longest_status,
            "updated": "31-12-2026 23:59", "given": "99999999", "note": "", "kept": "9999 9999"}


@pytest.mark.parametrize("language", ["id", "en"])
@pytest.mark.parametrize("key", REQUIRED_TEMPLATES)
def test_template_fits_one_gsm7_segment(settings, language: str, key: str) -> None:  # noqa: ANN001
    text = render(settings.templates, language, key, **worst_values(settings))
    assert gsm7_length(text) is not None, f"{language}.{key} needs UCS-2: {text!r}"
    assert fits_one_segment(text), f"{language}.{key} is {gsm7_length(text)} septets: {text!r}"


def test_a_long_note_is_shortened_not_split(settings) -> None:  # noqa: ANN001
    text = render(settings.templates, "id", "status_update", **{**worst_values(settings), "note": "x" * 300})
    assert fits_one_segment(text) and text.endswith("...")


@pytest.mark.parametrize(("text", "septets"), [("abc", 3), ("{}", 4), ("€", 2), ("é", 1), ("ş", None)])
def test_gsm7_length(text: str, septets: int | None) -> None:
    assert gsm7_length(text) == septets


# --- issue 15: a long answer arrives whole, up to three segments, cut at a word ------------------------------

ANSWER = ("Lubang di Jl. Soekarno-Hatta sudah kami tambal pada hari Senin dengan aspal dingin. Tim akan kembali "
          "minggu depan untuk pengaspalan ulang seluruh ruas sepanjang 200 meter dari perempatan sampai jembatan. "
          "Mohon maaf atas ketidaknyamanannya dan terima kasih atas laporannya, semoga bermanfaat bagi warga.")


@pytest.mark.parametrize(("note", "max_segments", "expected_segments", "cut"), [
    ("Sudah diperbaiki.", 3, 1, False),
    (ANSWER[:200], 3, 2, False),
    (ANSWER, 3, 3, False),
    (ANSWER + " " + ANSWER, 3, 3, True),
    (ANSWER, 1, 1, True),
    ("x" * 600, 3, 3, True),  # one unbroken word: cut where it must be
    ("Jalan sudah diperbaiki 👍 " * 10, 3, 3, True),  # UCS-2: 67 characters a part
])
def test_long_answer_up_to_three_segments(settings, note: str, max_segments: int, expected_segments: int,
                                          cut: bool) -> None:  # noqa: ANN001
    from gateway.complaints.replies import segments

    text = render(settings.templates, "id", "status_update", max_segments=max_segments,
                  **{**worst_values(settings), "note": note})
    assert segments(text) == expected_segments
    assert text.endswith("...") == cut
    if cut and " " in note.strip():
        kept = text.split(": ", 1)[1].split(". ", 1)[1][:-3]
        assert note.startswith(kept) and note[len(kept)] in " ,.", f"cut mid-word: {kept[-20:]!r}"
    else:
        assert note.strip() in text or cut


@pytest.mark.parametrize(("text", "expected"), [
    ("a" * 160, 1), ("a" * 161, 2), ("a" * 306, 2), ("a" * 307, 3), ("{" * 80, 1), ("{" * 81, 2),
    ("é" * 70, 1), ("ş" * 70, 1), ("ş" * 71, 2), ("ş" * 134, 2), ("ş" * 135, 3), ("👍" * 35, 1), ("👍" * 36, 2),
])
def test_segments(text: str, expected: int) -> None:
    from gateway.complaints.replies import segments

    assert segments(text) == expected


def test_numbered_parts_for_a_provider_that_does_not_join() -> None:
    from gateway.complaints.replies import numbered_parts

    assert numbered_parts("Tiket 1234 5678: Selesai. Sudah.") == ["Tiket 1234 5678: Selesai. Sudah."]
    parts = numbered_parts("Tiket 1234 5678: Selesai. " + ANSWER[:200])
    assert [part[:6] for part in parts] == ["(1/2) ", "(2/2) "]
    assert all(fits_one_segment(part) for part in parts)
    assert " ".join(part[6:] for part in parts) == "Tiket 1234 5678: Selesai. " + ANSWER[:200]  # at words only
    three = numbered_parts(("Tiket 1234 5678: Selesai. " + ANSWER + " ") * 3)
    assert len(three) == 3 and three[-1].endswith("...") and all(fits_one_segment(part) for part in three)


@pytest.mark.parametrize(("given", "kept"), [
    ("lampu\x00 mati\x07", "lampu mati"),
    ("jalan\r\nrusak\rparah", "jalan\nrusak\nparah"),
    ("tab\tstays", "tab\tstays"),
    ("\u202egnalam\u202c ok", "gnalam ok"),
    ("zero\u200bwidth\ufeff", "zerowidth"),
    ("c1\x85line\x9bx", "c1\nlinex"),
    ("emoji 👍🏽 and 👨\u200d👩\u200d👧 stay", "emoji 👍🏽 and 👨\u200d👩\u200d👧 stay"),
    ("", ""),
])
def test_control_characters_are_stripped(given: str, kept: str) -> None:
    from gateway.complaints.cleaning import strip_controls

    assert strip_controls(given) == kept
