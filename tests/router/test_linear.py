"""The router's cost stays linear in the text's length (issue 13, point 5).

Work is counted, not timed: every Python line the router executes (``sys.settrace`` line events in ``router/``),
which a quadratic step (an overlap check against every earlier match, peeling affixes one at a time off a huge
word) multiplies. The text is routed at 1x, 10x and 100x its length after a warm-up (the normaliser's memo
filled), and the work of 100x must stay within a small factor of 100 times the work of 1x.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from router import RoutingTable, route
from router.normalize import MAX_WORD

ROUTER = str(Path(__file__).resolve().parents[2] / "router")


def lines_run(function: Any, *args: Any) -> int:
    """How many lines of router/ code ``function(*args)`` executes."""
    count = 0

    def tracer(frame: FrameType, event: str, _: Any) -> Any:
        nonlocal count
        if not frame.f_code.co_filename.startswith(ROUTER):
            return None
        if event == "line":
            count += 1
        return tracer

    sys.settrace(tracer)
    try:
        function(*args)
    finally:
        sys.settrace(None)
    return count


# (label, one unit of text): keywords that repeat (many overlapping matches), phrases, slang and long tokens.
TEXTS = [
    ("repeated keywords", "jalan berlubang depan rumah, lampu jalan mati, sampah numpuk di TPS. "),
    ("slang and typos", "jln rsk parah dpn rmh gorong2 mampet smpah numpukkkk bngt pju mati. "),
    ("one long word", "ber" * 30 + "lubang "),
    ("no keyword", "terima kasih atas perhatiannya bapak ibu sekalian. "),
]


@pytest.mark.parametrize(("label", "unit"), TEXTS, ids=[label for label, _ in TEXTS])
def test_work_grows_linearly_with_the_text(shipped_table: RoutingTable, label: str, unit: str) -> None:
    route(unit * 100, shipped_table)  # warm-up: every word memoised
    work = {times: lines_run(route, unit * times, shipped_table) for times in (1, 10, 100)}

    assert work[10] <= 12 * work[1], (label, work)
    assert work[100] <= 12 * work[10], (label, work)
    assert work[100] <= 120 * work[1], (label, work)


def test_a_huge_token_costs_its_length_not_its_square(shipped_table: RoutingTable) -> None:
    """Unbroken text (base64, a key held down) is no word: passed through, neither stemmed nor memoised."""
    short, long_ = "berber" * 50, "berber" * 5000
    work_short = lines_run(route, short, shipped_table)
    work_long = lines_run(route, long_, shipped_table)

    assert len(long_) > MAX_WORD
    assert work_long <= 2 * work_short  # the same few lines: the token is not taken apart letter by letter
    assert shipped_table.normalizer.tokens(long_) == [long_]


def test_the_overlap_check_was_quadratic_before() -> None:
    """The old check compared each match with every earlier one; its line count grows with the square."""
    def old(hits: int) -> int:
        taken: list[tuple[int, int]] = []
        steps = 0
        for start in range(0, hits * 10, 10):
            steps += sum(1 for s, e in taken if start <= e and start + 5 >= s) + len(taken)
            taken.append((start, start + 5))
        return steps

    assert old(1000) > 50 * old(100)  # what the new check (a bytearray of taken characters) avoids
