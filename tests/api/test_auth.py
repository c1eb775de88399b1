"""Keys: changes need a curator key (401 without a valid one, 403 for a reader key, a
revoked key fails at once); reads are open unless KB_READ_KEYS_REQUIRED."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from search.kb import KnowledgeBase
from search.settings import Settings
from tests.api.conftest import Curation
from tests.api.files import report_pdf

#: every change route, as (method, path, request arguments)
WRITES = [
    ("POST", "/api/v1/documents", {"files": {"files": ("a.pdf", b"%PDF-")}}),
    ("PATCH", "/api/v1/documents/wasserstoff-forum", {"json": {"title": "Neu"}}),
    ("PUT", "/api/v1/documents/wasserstoff-forum/file", {"files": {"file": ("a.pdf", b"%PDF")}}),
    ("DELETE", "/api/v1/documents/wasserstoff-forum", {}),
]


def _state(curation: Curation) -> tuple:
    kb = curation.kb
    return kb.stats()["generation"], kb.changes(0, 1)[0], kb.get_document("wasserstoff-forum")


@pytest.mark.parametrize(("method", "path", "kwargs"), WRITES)
@pytest.mark.parametrize(
    ("authorization", "status", "code"),
    [
        (None, 401, "key_missing"),
        ("Basic YW10OmdlaGVpbQ==", 401, "key_missing"),
        ("Bearer ", 401, "key_missing"),
        ("Bearer kb_falsch", 401, "key_invalid"),
        ("reader", 403, "curator_required"),
    ],
)
def test_changes_need_a_curator_key(
    curation: Curation, method, path, kwargs, authorization, status, code
):
    headers = {}
    if authorization == "reader":
        headers = curation.reader
    elif authorization is not None:
        headers = {"Authorization": authorization}
    before = _state(curation)
    answer = curation.client.request(method, path, headers=headers, **kwargs)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == code
    if status == 401:
        assert answer.headers["www-authenticate"].startswith('Bearer realm="kb"')
    assert _state(curation) == before


def test_a_revoked_key_stops_working_at_its_next_use(curation: Curation):
    first = curation.upload(("a.pdf", report_pdf("Eins")))
    assert first.status_code == 201
    curation.kb.revoke_key("geschaeftsstelle")
    second = curation.upload(("b.pdf", report_pdf("Zwei")))
    assert second.status_code == 401 and second.json()["code"] == "key_invalid"
    # revoked in another process (the CLI) counts as well: keys are read per request
    other = KnowledgeBase.open(curation.settings, load_model=False)
    try:
        fresh = other.create_key("zweiter", "curator")
        other.revoke_key("zweiter")
    finally:
        other.close()
    third = curation.upload(
        ("c.pdf", report_pdf("Drei")), headers={"Authorization": f"Bearer {fresh}"}
    )
    assert third.status_code == 401


def test_reads_are_open_by_default_and_keys_are_not_needed(curation: Curation):
    for path in (
        "/api/v1/search?q=Wasserstoff",
        "/api/v1/documents",
        "/api/v1/documents/wasserstoff-forum",
        "/api/v1/documents/wasserstoff-forum/file",
        "/api/v1/changes",
        "/",
    ):
        assert curation.client.get(path).status_code == 200, path


@pytest.fixture
def closed(filled_index: Settings):
    """The app with KB_READ_KEYS_REQUIRED=true, a reader and a curator key."""
    kb = KnowledgeBase.open(filled_index)
    keys = {"reader": kb.create_key("portal", "reader"), "curator": kb.create_key("amt", "curator")}
    kb.close()
    settings = filled_index.model_copy(update={"read_keys_required": True})
    with TestClient(create_app(settings)) as client:
        yield client, keys


READS = [
    "/api/v1/search?q=Wasserstoff",
    "/api/v1/documents",
    "/api/v1/documents/wasserstoff-forum",
    "/api/v1/documents/wasserstoff-forum/file",
    "/api/v1/changes",
]


@pytest.mark.parametrize("path", READS)
def test_with_read_keys_required_reads_need_a_key_of_either_role(closed, path):
    client, keys = closed
    missing = client.get(path)
    assert missing.status_code == 401 and missing.json()["code"] == "key_missing"
    wrong = client.get(path, headers={"Authorization": "Bearer kb_falsch"})
    assert wrong.status_code == 401 and wrong.json()["code"] == "key_invalid"
    for role in ("reader", "curator"):
        answer = client.get(path, headers={"Authorization": f"Bearer {keys[role]}"})
        assert answer.status_code == 200, (role, answer.text)
    client.app.state.kb.revoke_key("portal")
    revoked = client.get(path, headers={"Authorization": f"Bearer {keys['reader']}"})
    assert revoked.status_code == 401


def test_with_read_keys_required_the_pages_ask_to_sign_in_first(closed):
    client, keys = closed
    for path in ("/", "/?q=Wasserstoff", "/berichte/wasserstoff-forum"):
        answer = client.get(path, follow_redirects=False)
        assert (answer.status_code, answer.headers["location"]) == (303, "/verwaltung/anmelden")
    sign_in = client.get("/verwaltung/anmelden")
    token = sign_in.text.split('name="csrf_token" value="')[1].split('"')[0]
    signed = client.post(
        "/verwaltung/anmelden",
        data={"csrf_token": token, "schluessel": keys["reader"]},
        follow_redirects=False,
    )
    assert (signed.status_code, signed.headers["location"]) == (303, "/")
    assert "Wasserstoff für die Region" in client.get("/?q=Wasserstoff").text
    # the session reads the API too (the file links of the pages), but changes nothing
    assert client.get("/api/v1/documents/wasserstoff-forum/file").status_code == 200
    assert client.delete("/api/v1/documents/wasserstoff-forum").status_code == 401
    assert client.get("/verwaltung").status_code == 403


def test_the_schema_names_the_key_for_changes_only(curation: Curation):
    spec = curation.client.get("/openapi.json").json()
    assert spec["components"]["securitySchemes"]["apiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key made with `kb keys create NAME [--role curator|reader]`",
    }
    documents = spec["paths"]["/api/v1/documents"]
    assert documents["post"]["security"] == [{"apiKey": []}]
    assert "security" not in documents["get"]
    for status in ("401", "403", "413", "415", "422"):
        assert status in documents["post"]["responses"]
    assert "401" not in documents["get"]["responses"]
