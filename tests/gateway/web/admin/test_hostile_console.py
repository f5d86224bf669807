"""Hostile input from inside the console, drawn by hypothesis: a super-admin's (or a stolen session's) query strings
and form fields on every console route, whatever they hold (controls, very long text, numbers that are not numbers,
codes of nothing, repeated fields). Never a 5xx: a clear 4xx, or the page with what it could make of it."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.gateway.conftest import SUPER, Admin

EXAMPLES = int(os.environ.get("SAMBAT_HOSTILE_EXAMPLES", "25"))
TEXT = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=200)
FIELD = st.one_of(TEXT, st.sampled_from(["\x00", "-1", "0", "99999999999999999999", "1e309", "nan", "", "DLH",
                                         "DISHUB", "assign", "reject:spam", "acknowledged", "resolved", "overdue",
                                         "12345678", "1234 5678", "x" * 5000, "../../etc/passwd", "%00", "en", "id"]))
SLOW = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much]
GETS = ["/admin/dashboard", "/admin/review", "/admin/queue", "/admin/users", "/admin/agencies", "/admin/audit",
        "/admin/dead", "/transparansi", "/admin/complaints/{code}", "/transparansi/grafik/aduan/semua.svg"]
POSTS = ["/admin/review", "/admin/review/undo", "/admin/complaints/{code}/status", "/admin/complaints/{code}/bounce",
         "/admin/complaints/{code}/assign", "/admin/complaints/{code}/reject", "/admin/complaints/{code}/merge",
         "/admin/users", "/admin/agencies", "/admin/agencies/DINKES", "/admin/dead/send/1/retry",
         "/admin/dead/message/1/retry"]
KEYS = st.sampled_from(["q", "page", "days", "status", "agency", "sort", "lang", "channel", "age", "reason", "to",
                        "note", "ids", "one", "action", "events", "kept", "email", "role", "password", "code", "name",
                        "active", "candidate", "object", "actor", "before", "after", "per_page"])


@pytest.mark.slow
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=SLOW)
@given(path=st.sampled_from(GETS), query=st.dictionaries(KEYS, FIELD, max_size=6))
def test_console_pages_never_answer_a_server_error(admin: Admin, path: str, query: dict) -> None:
    console = admin.as_user(SUPER)
    code = admin.complaint("sampah menumpuk di TPS", agency="DLH").ticket_code
    response = console.get(path.format(code=code), query_string=query)
    assert response.status_code < 500, response.text[:500]


@pytest.mark.slow
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=SLOW)
@given(path=st.sampled_from(POSTS), fields=st.dictionaries(KEYS, FIELD, max_size=6))
def test_console_forms_never_answer_a_server_error(admin: Admin, path: str, fields: dict) -> None:
    console = admin.as_user(SUPER)
    code = admin.complaint("lampu jalan mati").ticket_code  # one in the review queue
    response = console.post(path.format(code=code), fields)
    assert response.status_code < 500, response.text[:500]
