"""The web page in a real browser: Debian's Chromium driven by Playwright.

The server runs in a thread on a free loopback port, over an index of the small test
reports. The search works with JavaScript switched off, as the page promises.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest
import uvicorn

from api.app import create_app
from ingest.pipeline import ingest_files, iter_files
from search.kb import KnowledgeBase
from search.settings import Settings

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
    port = _free_port()
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


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), "install Debian's chromium (see .ci/run)"
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.mark.parametrize("javascript", [True, False])
def test_search_and_open_a_report(browser, base_url: str, javascript: bool):
    context = browser.new_context(java_script_enabled=javascript, locale="de-DE")
    page = context.new_page()
    page.goto(base_url + "/")
    page.get_by_label("Thema oder Frage").fill("Wasserstoffstrategie")
    page.get_by_role("button", name="Suchen").click()
    page.wait_for_url("**/?q=Wasserstoffstrategie")
    results = page.locator("li.result")
    assert results.count() >= 1
    first = results.first
    assert first.locator("h2").inner_text() == "Wasserstoff für die Region"
    assert "Wasserstoff" in first.locator("mark").first.inner_text()
    assert "04.03.2021" in first.locator(".facts").inner_text()
    first.locator("h2 a").click()
    page.wait_for_url("**/berichte/wasserstoff-forum")
    assert page.locator("h1").inner_text() == "Wasserstoff für die Region"
    assert "Elektrolyseure" in page.locator("article").inner_text()
    context.close()


def test_too_long_query_shows_a_german_hint_on_the_page(browser, base_url: str):
    page = browser.new_page()
    page.goto(base_url + "/?q=" + "x" * 600)
    assert "zu lang" in page.locator(".error").inner_text()
    assert page.locator("form.search").count() == 1
    page.close()
