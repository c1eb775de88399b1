"""The app over the four small reports, through FastAPI's TestClient (lifespan included)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from search.kb import KnowledgeBase
from search.settings import Settings


@pytest.fixture
def filled_index(built: Settings) -> Settings:
    """Settings of an index holding the four small reports (closed again)."""
    return built


@pytest.fixture
def client(filled_index: Settings):
    with TestClient(create_app(filled_index)) as test_client:
        yield test_client


class Curation:
    """A client of the app over the four small reports, with a curator and a reader key."""

    def __init__(self, client: TestClient, settings: Settings, curator: str, reader: str):
        self.client = client
        self.settings = settings
        self.curator = {"Authorization": f"Bearer {curator}"}
        self.reader = {"Authorization": f"Bearer {reader}"}

    @property
    def kb(self) -> KnowledgeBase:
        """The knowledge base the app serves."""
        return self.client.app.state.kb

    def upload(self, *files: tuple[str, bytes], headers: dict | None = None, **fields):
        """POST the files (name, bytes) in the field `files` with metadata fields."""
        return self.client.post(
            "/api/v1/documents",
            files=[("files", (name, data, "application/octet-stream")) for name, data in files],
            data=fields,
            headers=self.curator if headers is None else headers,
        )


@pytest.fixture
def curation(filled_index: Settings):
    """Searches rank lexically: with the fake embedder, only words tell what a report holds."""
    kb = KnowledgeBase.open(filled_index)
    curator = kb.create_key("geschaeftsstelle", "curator")
    reader = kb.create_key("portal", "reader")
    kb.close()
    settings = filled_index.model_copy(update={"ranking": "lexical"})
    with TestClient(create_app(settings)) as test_client:
        yield Curation(test_client, settings, curator, reader)
