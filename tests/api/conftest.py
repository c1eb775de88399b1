"""The app over the four small reports, through FastAPI's TestClient (lifespan included)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from ingest.pipeline import ingest_files, iter_files
from search.kb import KnowledgeBase
from search.settings import Settings


@pytest.fixture
def filled_index(settings: Settings, reports: Path) -> Settings:
    """Settings of an index holding the four small reports (closed again)."""
    kb = KnowledgeBase.open(settings)
    assert ingest_files(kb, iter_files([reports])).ok
    kb.close()
    return settings


@pytest.fixture
def client(filled_index: Settings):
    with TestClient(create_app(filled_index)) as test_client:
        yield test_client
