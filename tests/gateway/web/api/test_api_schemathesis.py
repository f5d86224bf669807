"""Schemathesis over /api/v1/openapi.json (issue 14): generated requests, valid and invalid by the document, with a
fixed seed and a bounded number of examples per operation; any 5xx, or an answer the document does not describe
(status, content type, headers, body), fails. Requests carry a valid API key.

It runs on PostgreSQL, where a NUL character in a string once reached the database (a 500), with the rq queue.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from gateway.jobs.queue import RQQueue
from tests.conftest import Stack, _empty_tables, _stack
from tests.gateway.web.intake_support import new_api_key

EXAMPLES = 30  # per operation and generation mode; with a fixed seed (derandomize) every run is the same
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]


@pytest.fixture
def api_stack(postgres_url: str, twilio_standin, tmp_path: Path) -> Iterator[Stack]:  # noqa: ANN001
    built = _stack("postgres", postgres_url, twilio_standin, intake__media_dir=str(tmp_path / "media"),
                   intake__api_rate_limit="100000 per minute")
    yield built
    built.runtime.db.dispose()
    if isinstance(built.runtime.queue, RQQueue):
        built.runtime.queue.connection.flushdb()
    _empty_tables(postgres_url)


OPERATIONS = [("POST", "/complaints"), ("GET", "/complaints/{code}"), ("GET", "/kelurahan"), ("GET", "/categories")]


def test_every_operation_is_tested(api_stack: Stack) -> None:
    document = api_stack.client.get("/api/v1/openapi.json").json
    assert sorted((method.upper(), path) for path, item in document["paths"].items() for method in item) == \
        sorted(OPERATIONS)


VALID, INVALID = GenerationMode.POSITIVE, GenerationMode.NEGATIVE
# Operations without parameters or a body have no invalid requests to make.
RUNS = [(method, path, mode) for method, path in OPERATIONS
        for mode in ((VALID, INVALID) if method == "POST" or "{" in path else (VALID,))]


@pytest.mark.slow
@pytest.mark.parametrize(("method", "path", "mode"), RUNS, ids=[f"{m} {p} {g.value}" for m, p, g in RUNS])
def test_the_api_answers_as_its_document_says(api_stack: Stack, method: str, path: str,
                                               mode: GenerationMode) -> None:
    api_schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", api_stack.app)
    operation = api_schema[path][method]
    key = new_api_key(api_stack, "schemathesis")

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    def answers(case: schemathesis.Case) -> None:
        case.call_and_validate(headers={"X-API-Key": key}, checks=CHECKS)

    answers()


# The two multipart mismatches schemathesis found: the document allowed any text for the coordinates and for the
# e-mail address of a multipart form, which the app refuses (422). Each row: fields sent, and whether both the
# document's multipart schema and the app accept them.
MULTIPART = [
    ({"latitude": "-7,97", "longitude": "112,63"}, True),
    ({"latitude": "-7.9666", "longitude": "112.6326"}, True),
    ({"latitude": "abc", "longitude": "112.6"}, False),
    ({"latitude": "1_0", "longitude": "112.6"}, False),  # float() reads 10, the document's pattern does not
    ({"latitude": "inf", "longitude": "112.6"}, False),
    ({"email": "budi@example.id"}, True),
    ({"email": "bukan-email"}, False),
]


@pytest.mark.parametrize(("fields", "accepted"), MULTIPART, ids=[str(row[0]) for row in MULTIPART])
def test_the_multipart_document_and_the_app_agree(api_stack: Stack, fields: dict[str, str], accepted: bool) -> None:
    from jsonschema import Draft7Validator, FormatChecker

    document = api_stack.client.get("/api/v1/openapi.json").json
    body = document["paths"]["/complaints"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    sent = {"text": "lampu jalan mati di depan pasar", **fields}
    assert Draft7Validator(body, format_checker=FormatChecker()).is_valid(sent) is accepted
    response = api_stack.client.post("/api/v1/complaints", data=sent, content_type="multipart/form-data",
                                     headers={"X-API-Key": new_api_key(api_stack, f"k{abs(hash(str(fields)))}")})
    assert response.status_code == (201 if accepted else 422), response.json
    if not accepted:
        assert set(response.json["error"]["fields"]) <= set(fields)
