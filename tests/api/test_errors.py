"""Every error is application/problem+json (RFC 9457) with our machine-readable code."""

from __future__ import annotations

import shutil

import pytest
from fastapi import HTTPException
from fastapi.testclient import TestClient

from api.app import create_app
from search.errors import IndexBusy, InvalidQuery, KBError
from search.kb import KnowledgeBase
from search.settings import Settings

PROBLEM_FIELDS = {"type", "title", "status", "detail", "code"}


def assert_problem(response, status: int, code: str) -> dict:
    """The answer is a problem of this status and code; returns its body."""
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["x-content-type-options"] == "nosniff"
    body = response.json()
    assert PROBLEM_FIELDS <= set(body)
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == "about:blank"
    assert isinstance(body["detail"], str) and body["detail"]
    return body


def test_400_query_without_words(client: TestClient):
    body = assert_problem(client.get("/api/v1/search", params={"q": "\u200b"}), 400, "query_empty")
    assert body["title"] == "Bad Request"
    assert body["detail"] == "query is empty"
    assert "errors" not in body


def test_404_unknown_document_names_the_id(client: TestClient):
    body = assert_problem(client.get("/api/v1/documents/gibt-es-nicht"), 404, "document_not_found")
    assert "gibt-es-nicht" in body["detail"]


def test_404_unknown_path_and_405_unknown_method(client: TestClient):
    body = assert_problem(client.get("/api/v1/nichts"), 404, "not_found")
    assert "/api/v1/nichts" in body["detail"]
    response = client.post("/api/v1/search", params={"q": "x"})
    assert_problem(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "GET"
    # a path with routes for several methods names them all
    documents = client.put("/api/v1/documents")
    assert_problem(documents, 405, "method_not_allowed")
    assert documents.headers["allow"] == "GET, POST"


def test_422_names_each_parameter_in_errors(client: TestClient):
    response = client.get("/api/v1/search", params={"q": "x", "k": "viele"})
    body = assert_problem(response, 422, "invalid_request")
    assert body["title"] == "Unprocessable Content"
    assert body["detail"] == "k must be an integer"
    (error,) = body["errors"]
    assert error["name"] == "k" and error["in"] == "query" and error["loc"] == ["query", "k"]
    assert error["type"] == "int_parsing"


@pytest.mark.parametrize(
    ("status", "code"), [(413, "content_too_large"), (415, "unsupported_media_type")]
)
def test_http_errors_of_body_routes_are_problems_too(
    filled_index: Settings, status: int, code: str
):
    # write routes (curation) raise these for bodies; the handler is the same for all routes
    app = create_app(filled_index)

    @app.post("/probe")
    def probe() -> None:
        raise HTTPException(status, detail="body refused")

    with TestClient(app) as client:
        body = assert_problem(client.post("/probe"), status, code)
    assert body["detail"] == "body refused"


def search_failing_with(settings: Settings, monkeypatch, error: Exception):
    """The answer to a search while the knowledge base's search raises ``error``."""

    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(KnowledgeBase, "search", fail)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        return client.get("/api/v1/search", params={"q": "Wasserstoff"})


def test_500_shows_no_internals(filled_index: Settings, monkeypatch):
    secret = RuntimeError("secret: /srv/kb/index/store-0001/kb.sqlite is locked")
    response = search_failing_with(filled_index, monkeypatch, secret)
    body = assert_problem(response, 500, "internal_error")
    assert body["detail"] == "internal error"
    assert "secret" not in response.text and "sqlite" not in response.text
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def test_500_for_a_domain_error_no_client_can_cause(filled_index: Settings, monkeypatch):
    lost = KBError("vector mirror lost at /srv/kb")
    body = assert_problem(
        search_failing_with(filled_index, monkeypatch, lost), 500, "internal_error"
    )
    assert "/srv" not in body["detail"]


def test_503_when_a_writer_holds_the_index(filled_index: Settings, monkeypatch):
    busy = IndexBusy("index busy: pid 4711 (kb reindex) since 10:00")
    response = search_failing_with(filled_index, monkeypatch, busy)
    body = assert_problem(response, 503, "index_busy")
    assert "4711" not in body["detail"]
    assert response.headers["retry-after"] == "5"


def test_503_when_the_index_is_gone(filled_index: Settings):
    with TestClient(create_app(filled_index)) as client:
        assert client.get("/api/v1/search", params={"q": "Wasserstoff"}).status_code == 200
        shutil.rmtree(filled_index.index)
        for path in ("/api/v1/search?q=Wasserstoff", "/api/v1/documents", "/healthz"):
            body = assert_problem(client.get(path), 503, "index_not_found")
            assert str(filled_index.index) not in body["detail"]


def test_503_before_the_knowledge_base_is_open(filled_index: Settings):
    client = TestClient(create_app(filled_index))  # no `with`: the lifespan has not run
    body = assert_problem(client.get("/api/v1/search", params={"q": "x"}), 503, "not_ready")
    assert body["detail"] == "the knowledge base is not open yet"


def test_invalid_query_code_from_the_core_is_kept(filled_index: Settings, monkeypatch):
    refused = InvalidQuery("unknown ranking 'x'; use one of hybrid", code="unknown_ranking")
    response = search_failing_with(filled_index, monkeypatch, refused)
    assert assert_problem(response, 400, "unknown_ranking")["detail"].startswith("unknown ranking")
