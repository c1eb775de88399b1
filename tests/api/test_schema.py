"""The OpenAPI schema tells the truth: Schemathesis generates requests from it (valid and
invalid ones) against the app and checks every answer against it; no answer is a 5xx."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import jsonschema_rs
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.core.failures import AcceptedNegativeData, FailureGroup
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import positive_data_acceptance

from api.app import create_app
from ingest.pipeline import ingest_files, iter_files
from search.errors import InvalidQuery
from search.filters import parse_date
from search.kb import KnowledgeBase
from search.query import clean_query
from search.settings import Settings
from tests.conftest import CORPUS

#: generated examples per operation (besides the coverage phase's boundary values): enough
#: to find an offset past SQLite's integers with its `le` removed; the run takes ~25 s
MAX_EXAMPLES = 300


#: the schema as the app states it; creating an app touches no index (its start-up does)
schema = schemathesis.openapi.from_dict(
    create_app(Settings(index=Path("unused-index"), embedder="fake")).openapi()
)
# An upload is refused with 413 the moment a limit is passed, before the fields after it
# are read: invalid data may meet that refusal first.
schema.config.checks.negative_data_rejection.expected_statuses.append("413")


#: what a valid request may still be refused for, by a rule no JSON schema states: a query
#: of invisible characters, an id that does not exist, a file that is not a report, a date
#: that does not exist, an empty title
REFUSALS_OF_VALID_DATA = {
    (400, "query_empty"),
    (404, "document_not_found"),
    (404, "original_not_found"),
    (415, "unsupported_type"),
    (415, "type_mismatch"),
    (422, "invalid_field"),
    (422, "empty"),
    (422, "binary"),
    (422, "junk_text"),
    (422, "damaged"),
    (422, "no_text"),
    (422, "bad_encoding"),
    (422, "invalid_front_matter"),
    (422, "upload_failed"),
}


@pytest.fixture
def app(filled_index: Settings):
    """An app over the four small reports and the report the schema's examples name (so a
    document's 200 answer is checked too), with a curator key in ``app.state.curator``
    (so the changes are run too); Schemathesis runs its lifespan."""
    kb = KnowledgeBase.open(filled_index)
    assert ingest_files(kb, iter_files([CORPUS / "wasserstoff-forum-emsland-2019.md"])).ok
    key = kb.create_key("schemathesis", "curator")
    kb.close()
    app = create_app(filled_index)
    app.state.curator = key
    return app


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_every_answer_matches_the_schema_and_none_is_a_server_error(
    case, app, filled_index: Settings
):
    # all of Schemathesis's checks; acceptance of valid data is checked below, with the two
    # rules a JSON schema cannot state: a query needs a character that is no blank, control
    # or format character (the core's rule, `query_empty`), and a date the pattern admits
    # must be one of the calendar (not 2021-02-30 or 0000)
    headers = {"Authorization": f"Bearer {app.state.curator}"}
    # the check that a change is refused without the key sends its probe to this app too
    case.operation.app = case.operation.schema.app = app
    response = case.call(app=app, headers=headers)
    try:
        case.validate_response(
            response, headers=headers, excluded_checks=[positive_data_acceptance]
        )
    except FailureGroup as failures:
        if not _valid_as_sent(case, response.request.url, failures):
            raise
    positive = case.meta is not None and case.meta.generation.mode.is_positive
    if positive and 400 <= response.status_code < 500:
        code = response.json()["code"]
        if (response.status_code, code) == (422, "invalid_request") and all(
            e["type"] == "date_parsing" for e in response.json()["errors"]
        ):
            for error in response.json()["errors"]:
                assert parse_date(case.query[error["name"]]) is None
            return
        assert (response.status_code, code) in REFUSALS_OF_VALID_DATA, response.text
        if response.status_code == 400:
            with pytest.raises(InvalidQuery) as refused:
                clean_query(case.query["q"], filled_index)
            assert refused.value.code == "query_empty"


def _valid_as_sent(case, url, failures: FailureGroup) -> bool:
    """Whether "invalid data accepted" was in fact valid data: a URL carries only strings,
    so a mutation of a query parameter into a number (``topic=-14``) or into ``null``
    can arrive as a valid string. Decided by the query as sent, each parameter checked
    against its schema; any other failure, or any other mutated component, is real."""
    if not all(isinstance(f, AcceptedNegativeData) for f in failures.exceptions):
        return False
    mutated = {loc for loc, info in case.meta.components.items() if info.mode.is_negative}
    if mutated - {ParameterLocation.QUERY}:
        return False
    sent = parse_qs(urlsplit(str(url)).query, keep_blank_values=True)
    for parameter in case.operation.definition.raw.get("parameters", []):
        if parameter["in"] != "query":
            continue
        values = sent.get(parameter["name"], [])
        if not values:
            if parameter.get("required"):
                return False
            continue
        schema = parameter["schema"]
        if not _takes_many(schema):
            if len(values) > 1:
                return False
            values = values[0]
        if not jsonschema_rs.is_valid(schema, _typed(schema, values)):
            return False
    return True


def _kinds(schema: dict) -> set[str]:
    options = schema.get("anyOf", [schema])
    return {option.get("type") for option in options}


def _takes_many(schema: dict) -> bool:
    return "array" in _kinds(schema)


def _typed(schema: dict, value: str | list[str]) -> object:
    """A URL's string as the value the server reads: digits are an integer where the
    schema asks for one (the server's rule, api/params.py)."""
    if isinstance(value, str) and "integer" in _kinds(schema) and re.fullmatch(r"-?\d+", value):
        return int(value)
    return value


def openapi(settings: Settings) -> dict:
    with TestClient(create_app(settings)) as client:
        return client.get("/openapi.json").json()


def parameter(spec: dict, path: str, name: str) -> dict:
    (found,) = [p for p in spec["paths"][path]["get"]["parameters"] if p["name"] == name]
    return found


def test_bounds_in_the_schema_follow_the_settings(filled_index: Settings):
    narrow = filled_index.model_copy(update={"max_k": 20, "max_offset": 300, "max_query_chars": 80})
    spec = openapi(narrow)
    q = parameter(spec, "/api/v1/search", "q")
    assert q["required"] is True
    assert (q["schema"]["minLength"], q["schema"]["maxLength"]) == (1, 80)
    k = parameter(spec, "/api/v1/search", "k")["schema"]
    assert (k["minimum"], k["maximum"], k["default"]) == (1, 20, narrow.default_k)
    offset = parameter(spec, "/api/v1/search", "offset")["schema"]
    assert (offset["minimum"], offset["maximum"]) == (0, 300)
    limit = parameter(spec, "/api/v1/documents", "limit")["schema"]
    assert (limit["minimum"], limit["maximum"]) == (1, 200)
    assert parameter(spec, "/api/v1/documents", "offset")["schema"]["maximum"] == 2**63 - 1


@pytest.mark.parametrize(
    ("path", "statuses"),
    [
        ("/api/v1/search", {"400", "422", "500", "503"}),
        ("/api/v1/documents", {"422", "500", "503"}),
        ("/api/v1/documents/{doc_id}", {"404", "422", "500", "503"}),
        ("/healthz", {"500", "503"}),
        ("/readyz", {"503"}),
    ],
)
def test_errors_are_documented_as_problem_json(filled_index: Settings, path: str, statuses):
    responses = openapi(filled_index)["paths"][path]["get"]["responses"]
    errors = {s for s in responses if s[0] in "45"}
    assert errors == statuses
    for status in errors:
        content = responses[status]["content"]
        assert list(content) == ["application/problem+json"]
        assert content["application/problem+json"]["schema"] == {
            "$ref": "#/components/schemas/Problem"
        }


def test_every_answer_has_a_model(filled_index: Settings):
    spec = openapi(filled_index)
    schemas = spec["components"]["schemas"]
    assert "HTTPValidationError" not in schemas  # FastAPI's default 422 body is not ours
    problem = schemas["Problem"]
    assert problem["properties"]["detail"]["type"] == "string"
    assert set(problem["required"]) == {"title", "status", "detail", "code"}
    expected = {
        "/api/v1/search": "SearchResponse",
        "/api/v1/documents": "DocumentList",
        "/api/v1/documents/{doc_id}": "Document",
        "/healthz": "Health",
        "/readyz": "Readiness",
    }
    for path, model in expected.items():
        ok = spec["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
        assert ok["schema"] == {"$ref": f"#/components/schemas/{model}"}, path
    hit = schemas["SearchHit"]["properties"]
    assert {"id", "title", "snippet", "highlights", "score", "page", "source_url"} <= set(hit)
