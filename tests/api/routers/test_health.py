"""Liveness and readiness probes."""

from __future__ import annotations

import shutil

from fastapi.testclient import TestClient

from api.app import create_app
from search.kb import KnowledgeBase
from search.settings import Settings


def test_ready_when_open_loaded_and_readable(client: TestClient):
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert body["checks"] == {"knowledge_base": True, "model": True, "store": True}
    assert body["generation"] >= 4  # one commit per ingested report
    assert response.headers["cache-control"] == "no-store"


def test_not_ready_when_the_store_cannot_be_read(filled_index: Settings):
    with TestClient(create_app(filled_index)) as client:
        shutil.rmtree(filled_index.index)
        response = client.get("/readyz")
        # liveness is a separate question: the process still answers
        assert client.get("/docs").status_code == 200
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "not_ready"
    assert body["checks"] == {"knowledge_base": True, "model": True, "store": False}
    assert "store" in body["detail"]


def test_not_ready_before_start_up(filled_index: Settings):
    client = TestClient(create_app(filled_index))  # lifespan not run: nothing open
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"knowledge_base": False, "model": False, "store": False}


def test_not_ready_without_a_loaded_model(filled_index: Settings):
    kb = KnowledgeBase.open(filled_index, load_model=False)  # reads work, queries cannot
    app = create_app(filled_index, kb)
    app.state.kb, app.state.model_ready = kb, True
    response = TestClient(app).get("/readyz")
    kb.close()
    assert response.status_code == 503
    assert response.json()["checks"] == {"knowledge_base": True, "model": False, "store": True}


def test_not_ready_after_shutdown(filled_index: Settings):
    app = create_app(filled_index)
    with TestClient(app) as client:
        assert client.get("/readyz").status_code == 200
    assert TestClient(app).get("/readyz").status_code == 503
