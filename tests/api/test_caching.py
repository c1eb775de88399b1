"""Conditional GETs: ETag and Cache-Control on API answers, 304 while nothing changed."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from search.kb import KnowledgeBase
from search.models import Chunk, NewDocument
from search.settings import Settings

API_GETS = [
    "/api/v1/search?q=Wasserstoff",
    "/api/v1/documents",
    "/api/v1/documents/kreislauf",
]


@pytest.mark.parametrize("path", API_GETS)
def test_api_answers_carry_a_weak_etag_and_must_be_revalidated(client: TestClient, path: str):
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["etag"].startswith('W/"')
    assert response.headers["cache-control"] == "no-cache"


@pytest.mark.parametrize("path", API_GETS)
def test_matching_if_none_match_gets_304_without_a_body(client: TestClient, path: str):
    tag = client.get(path).headers["etag"]
    again = client.get(path, headers={"If-None-Match": tag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == tag
    assert again.headers["cache-control"] == "no-cache"
    head = client.head(path, headers={"If-None-Match": tag})
    assert head.status_code == 304


def test_if_none_match_lists_strong_forms_and_star(client: TestClient):
    path = "/api/v1/documents"
    tag = client.get(path).headers["etag"]
    strong = tag.removeprefix("W/")
    for header in (f'"other", {tag}', strong, "*"):
        assert client.get(path, headers={"If-None-Match": header}).status_code == 304, header
    assert client.get(path, headers={"If-None-Match": '"other"'}).status_code == 200


def test_the_tag_depends_on_the_request(client: TestClient):
    tags = {
        client.get("/api/v1/search", params={"q": "Wasserstoff"}).headers["etag"],
        client.get("/api/v1/search", params={"q": "Wasserstoff", "k": 2}).headers["etag"],
        client.get("/api/v1/search", params={"q": "Fachkräfte"}).headers["etag"],
        client.get("/api/v1/documents").headers["etag"],
    }
    assert len(tags) == 4


def test_a_write_by_another_process_changes_every_tag(client: TestClient, filled_index: Settings):
    before = {path: client.get(path).headers["etag"] for path in API_GETS}
    # another KnowledgeBase on the same folder: what `kb ingest` in another process does
    writer = KnowledgeBase.open(filled_index)
    writer.add_document(
        "neu",
        NewDocument(
            source="neu.md",
            sha256="n",
            text="Wasserstoff im Hafen",
            title="Neu",
            chunks=[Chunk("Wasserstoff im Hafen", 0)],
        ),
    )
    writer.close()
    for path, tag in before.items():
        response = client.get(path, headers={"If-None-Match": tag})
        assert response.status_code == 200, path
        assert response.headers["etag"] != tag
    assert client.get("/api/v1/documents").json()["total"] == 5


def test_errors_and_pages_carry_no_etag(client: TestClient):
    assert "etag" not in client.get("/api/v1/documents/gibt-es-nicht").headers
    assert "etag" not in client.get("/api/v1/search", params={"q": "x", "k": 0}).headers
    assert "etag" not in client.get("/").headers
