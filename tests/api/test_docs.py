"""The API docs at /docs work offline: every file they load comes from this server."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urlsplit

from fastapi.testclient import TestClient


class _Links(HTMLParser):
    """Every URL a page refers to (src and href attributes)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [v for k, v in attrs if k in ("src", "href") and v]


def test_docs_refer_only_to_local_urls_that_answer(client: TestClient):
    page = client.get("/docs")
    assert page.status_code == 200
    links = _Links()
    links.feed(page.text)
    assert len(links.urls) >= 4  # icon, stylesheet, Swagger UI, start script
    for url in links.urls:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc, f"not local: {url}"
        assert url.startswith("/"), url
        answer = client.get(url)
        assert answer.status_code == 200, url
        assert answer.content, url
    assert "cdn" not in page.text.lower()
    types = {url.rsplit(".", 1)[-1]: client.get(url).headers["content-type"] for url in links.urls}
    assert types["js"].startswith(("text/javascript", "application/javascript"))
    assert types["css"].startswith("text/css")


def test_the_start_script_loads_the_served_schema(client: TestClient):
    page = client.get("/docs").text
    assert 'data-openapi-url="/openapi.json"' in page
    script = client.get("/static/docs.js").text
    assert "SwaggerUIBundle(" in script and "openapiUrl" in script


def test_no_cdn_pages_remain(client: TestClient):
    assert client.get("/redoc").status_code == 404
    assert client.get("/docs/oauth2-redirect").status_code == 404
