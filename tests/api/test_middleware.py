"""Headers of every answer: security headers, CORS for the allowed origins only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from search.settings import Settings

TEMPLATES = Path(__file__).resolve().parents[2] / "ui" / "templates"
PORTAL = "https://portal.example.org"


@pytest.mark.parametrize("path", ["/", "/?q=Wasserstoff", "/berichte/kreislauf", "/docs"])
def test_pages_forbid_inline_code_framing_and_sniffing(client: TestClient, path: str):
    response = client.get(path)
    assert response.headers["content-type"].startswith("text/html")
    csp = response.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["frame-ancestors"] == "'none'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert "unsafe" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize(
    "path", ["/api/v1/search?q=Wasserstoff", "/api/v1/documents/nichts", "/healthz", "/metrics"]
)
def test_api_answers_are_not_sniffed(client: TestClient, path: str):
    assert client.get(path).headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "template", sorted(TEMPLATES.rglob("*.html")), ids=lambda p: str(p.relative_to(TEMPLATES))
)
def test_templates_need_no_inline_script_or_style(template: Path):
    # what the CSP forbids must not be needed: scripts by src only, styles in files only
    html = template.read_text(encoding="utf-8")
    for script in re.findall(r"<script\b[^>]*>(.*?)</script>", html, flags=re.S):
        assert not script.strip(), f"inline script in {template.name}"
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert "<style" not in html
    assert not re.search(r"\sstyle\s*=", html)
    assert not re.search(r"\son[a-z]+\s*=", html)  # no inline event handlers


def test_no_cors_headers_without_allowed_origins(client: TestClient):
    response = client.get("/api/v1/documents", headers={"Origin": PORTAL})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


@pytest.fixture
def cors_client(filled_index: Settings):
    app = create_app(filled_index.model_copy(update={"cors_origins": [PORTAL]}))
    with TestClient(app) as test_client:
        yield test_client


def test_an_allowed_origin_may_read_answers_and_their_etag(cors_client: TestClient):
    response = cors_client.get(
        "/api/v1/search", params={"q": "Wasserstoff"}, headers={"Origin": PORTAL}
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == PORTAL
    assert "etag" in response.headers["access-control-expose-headers"].lower()


def test_another_origin_gets_no_cors_headers(cors_client: TestClient):
    response = cors_client.get(
        "/api/v1/search", params={"q": "Wasserstoff"}, headers={"Origin": "https://evil.example"}
    )
    assert response.status_code == 200  # the answer itself; the browser withholds it
    assert "access-control-allow-origin" not in response.headers


def test_preflight_of_a_revalidating_request(cors_client: TestClient):
    headers = {
        "Origin": PORTAL,
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "if-none-match",
    }
    allowed = cors_client.options("/api/v1/search", headers=headers)
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == PORTAL
    assert "if-none-match" in allowed.headers["access-control-allow-headers"].lower()
    refused = cors_client.options(
        "/api/v1/search", headers={**headers, "Origin": "https://evil.example"}
    )
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers
    trace = cors_client.options(
        "/api/v1/search", headers={**headers, "Access-Control-Request-Method": "TRACE"}
    )
    assert trace.status_code == 400


@pytest.mark.parametrize("method", ["POST", "PATCH", "PUT", "DELETE"])
def test_allowed_origins_may_send_changes_with_a_key(cors_client: TestClient, method: str):
    headers = {
        "Origin": PORTAL,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization, content-type",
    }
    allowed = cors_client.options("/api/v1/documents/x", headers=headers)
    assert allowed.status_code == 200
    assert method in allowed.headers["access-control-allow-methods"]
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
    other = cors_client.options(
        "/api/v1/documents/x", headers={**headers, "Origin": "https://evil.example"}
    )
    assert other.status_code == 400 and "access-control-allow-origin" not in other.headers


def test_cors_origins_come_from_the_environment(monkeypatch, filled_index: Settings):
    monkeypatch.setenv("KB_CORS_ORIGINS", f"{PORTAL}, http://localhost:3000/")
    with TestClient(create_app(Settings(index=filled_index.index))) as test_client:
        for origin in (PORTAL, "http://localhost:3000"):
            response = test_client.get("/healthz", headers={"Origin": origin})
            assert response.headers["access-control-allow-origin"] == origin
