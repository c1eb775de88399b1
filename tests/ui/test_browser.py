"""The web page in a real browser: Debian's Chromium driven by Playwright.

The server runs in a thread on a free loopback port, over an index of the small test
reports. The search works with JavaScript switched off, as the page promises.
"""

from __future__ import annotations

import threading
import time

import pytest
import uvicorn

from api.app import create_app
from ingest.pipeline import ingest_files, iter_files
from search.kb import KnowledgeBase
from search.settings import Settings
from tests.live import free_port

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def base_url(tmp_path_factory):
    from tests.conftest import REPORTS

    folder = tmp_path_factory.mktemp("browser")
    reports = folder / "reports"
    reports.mkdir()
    for name, text in REPORTS.items():
        (reports / name).write_text(text, encoding="utf-8")
    settings = Settings(index=folder / "index", embedder="fake")
    kb = KnowledgeBase.open(settings)
    assert ingest_files(kb, iter_files([reports])).ok
    kb.close()
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    assert server.started, "server did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.mark.parametrize("javascript", [True, False])
def test_search_and_open_a_report(browser, base_url: str, javascript: bool):
    context = browser.new_context(java_script_enabled=javascript, locale="de-DE")
    page = context.new_page()
    page.goto(base_url + "/")
    page.get_by_label("Thema oder Frage").fill("Wasserstoffstrategie")
    page.get_by_role("button", name="Suchen").click()
    page.wait_for_url("**/?q=Wasserstoffstrategie*")
    results = page.locator("li.result")
    assert results.count() >= 1
    first = results.first
    assert first.locator("h2").inner_text() == "Wasserstoff für die Region"
    assert "Wasserstoff" in first.locator("mark").first.inner_text()
    assert "04.03.2021" in first.locator(".facts").inner_text()
    first.locator("h2 a").click()
    page.wait_for_url("**/berichte/wasserstoff-forum?*")
    assert page.locator("h1").inner_text() == "Wasserstoff für die Region"
    assert "Elektrolyseure" in page.locator("article").inner_text()
    context.close()


def test_too_long_query_shows_a_german_hint_on_the_page(browser, base_url: str):
    page = browser.new_page()
    page.goto(base_url + "/?q=" + "x" * 600)
    assert "zu lang" in page.locator(".error").inner_text()
    assert page.locator("form.search").count() == 1
    page.close()


def _watch(context, base_url: str) -> dict[str, list[str]]:
    """Record CSP violations and block (and record) every request off this server."""
    seen: dict[str, list[str]] = {"violations": [], "foreign": []}
    context.add_init_script(
        "window.__csp = [];"
        "document.addEventListener('securitypolicyviolation',"
        " e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"
    )

    def route(request_route):
        url = request_route.request.url
        if url.startswith(base_url) or url.startswith("data:"):
            request_route.continue_()
        else:
            seen["foreign"].append(url)
            request_route.abort()

    context.route("**/*", route)
    return seen


@pytest.mark.parametrize("path", ["/", "/?q=Wasserstoff", "/berichte/wasserstoff-forum"])
def test_pages_run_under_their_csp_without_violations(browser, base_url: str, path: str):
    context = browser.new_context(locale="de-DE")
    seen = _watch(context, base_url)
    page = context.new_page()
    page.goto(base_url + path)
    page.wait_for_load_state("networkidle")
    # the stylesheet applied: style.css lays the header out as flex (a browser's default: block)
    assert page.locator("header.site").evaluate("e => getComputedStyle(e).display") == "flex"
    assert page.evaluate("window.__csp") == []
    assert seen["foreign"] == []
    context.close()


def test_api_docs_render_offline_under_the_csp(browser, base_url: str):
    context = browser.new_context()
    seen = _watch(context, base_url)
    page = context.new_page()
    page.goto(base_url + "/docs")
    page.wait_for_selector(".opblock", timeout=20_000)
    operations = page.locator(".opblock-summary-path").all_inner_texts()
    assert "/api/v1/search" in operations
    assert "/api/v1/documents/{doc_id}" in operations
    page.locator(".opblock-summary", has_text="/api/v1/search").first.click()
    # the documented answers, the Problem ones included, are listed
    page.wait_for_selector(".response-col_status >> text=422", timeout=10_000)
    assert page.evaluate("window.__csp") == []
    assert seen["foreign"] == []
    context.close()
