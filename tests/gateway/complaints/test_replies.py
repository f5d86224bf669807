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
            "updated": "31-12-2026 23:59", "given": "99999999", "note": ""}


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
