"""Ticket codes: eight digits, Damm check digit; every single typo and neighbour swap is caught."""

from __future__ import annotations

import pytest
from stdnum import damm

from models.tickets import format_ticket_code, new_ticket_code, parse_ticket_code


def test_new_codes_are_eight_digits_valid_and_random() -> None:
    codes = {new_ticket_code() for _ in range(2000)}
    # 2000 draws from 9 million codes: a repeat or two is the birthday paradox, not a pattern.
    assert len(codes) >= 1990
    for code in codes:
        assert len(code) == 8 and code.isdigit() and code[0] != "0"
        assert damm.is_valid(code)
    # Not sequential: consecutive codes are far apart.
    ordered = [int(code) for code in sorted(codes)]
    assert max(b - a for a, b in zip(ordered, ordered[1:], strict=False)) > 1000


def test_every_single_digit_error_and_neighbour_swap_is_caught() -> None:
    for _ in range(300):
        code = new_ticket_code()
        for position in range(8):
            for digit in "0123456789":
                if digit != code[position]:
                    typo = code[:position] + digit + code[position + 1:]
                    assert not parse_ticket_code(typo).valid, typo
        for position in range(7):
            if code[position] != code[position + 1]:
                swapped = code[:position] + code[position + 1] + code[position] + code[position + 2:]
                assert not parse_ticket_code(swapped).valid, swapped


@pytest.mark.parametrize("typed", ["48217730", "4821 7730", "4821-7730", "#4821 7730", "TIKET 4821-7730",
                                   "tiket: 48217730", " 4821.7730 ", "No. 4821 7730"])
def test_codes_are_read_with_or_without_separators_and_prefix(typed: str) -> None:
    code = "4821773" + damm.calc_check_digit("4821773")
    for example, real in (("48217730", code), ("4821 7730", format_ticket_code(code)),
                          ("4821-7730", f"{code[:4]}-{code[4:]}"), ("4821.7730", f"{code[:4]}.{code[4:]}")):
        typed = typed.replace(example, real)
    parsed = parse_ticket_code(typed)
    assert parsed is not None and parsed.digits == code and parsed.valid


@pytest.mark.parametrize("typed", ["", "1234567", "123456789", "jalan rusak", "1234 567a"])
def test_what_is_not_a_code(typed: str) -> None:
    assert parse_ticket_code(typed) is None


def test_printed_form() -> None:
    assert format_ticket_code("48217730") == "4821 7730"
