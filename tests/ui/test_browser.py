"""The web page in a real browser: Debian's Chromium driven by Playwright.

The server runs in a thread on a free loopback port, over an index of the small test
reports. The search works with JavaScript switched off, as the page promises.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.app import create_app
from ingest.pipeline import ingest_files, iter_files
from search.kb import KnowledgeBase
from search.settings import Settings
from tests.live import app_in_thread

pytestmark = pytest.mark.browser


@contextlib.contextmanager
def serving(folder: Path, **options) -> Iterator[tuple[str, KnowledgeBase]]:
    """The app over the small test reports in a uvicorn thread on a free port; yields its
    base URL and the (still open) knowledge base it was built with, for set-up."""
    from tests.conftest import REPORTS

    reports = folder / "reports"
    reports.mkdir()
    for name, text in REPORTS.items():
        (reports / name).write_text(text, encoding="utf-8")
    settings = Settings(index=folder / "index", embedder="fake", **options)
    kb = KnowledgeBase.open(settings)
    assert ingest_files(kb, iter_files([reports])).ok
    try:
        with app_in_thread(create_app(settings)) as url:
            yield url, kb
    finally:
        kb.close()


@pytest.fixture(scope="module")
def base_url(tmp_path_factory):
    with serving(tmp_path_factory.mktemp("browser")) as (url, _):
        yield url


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


@pytest.mark.parametrize(
    "path", ["/", "/?q=Wasserstoff", "/berichte/wasserstoff-forum", "/verwaltung/anmelden"]
)
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


@pytest.fixture
def curation_server(tmp_path):
    """A server of its own (the test changes the index) with a curator key; lexical
    ranking, as the fake embedder's vectors carry no meaning."""
    with serving(tmp_path, ranking="lexical") as (url, kb):
        yield url, kb.create_key("geschaeftsstelle", "curator")


@pytest.mark.parametrize("javascript", [True, False])
def test_the_service_office_curates_a_report_in_the_browser(
    browser, curation_server, tmp_path, javascript: bool
):
    from tests.api.files import report_pdf

    base_url, key = curation_server
    pdf = tmp_path / "Forum Wasserstoff 2024.pdf"
    pdf.write_bytes(report_pdf("Forum Wasserstoff 2024", pages=3, marker="Elektrolyseurpark"))
    context = browser.new_context(java_script_enabled=javascript, locale="de-DE")
    seen = _watch(context, base_url)
    page = context.new_page()

    # sign in: the list is behind the sign-in form
    page.goto(base_url + "/verwaltung")
    page.wait_for_url("**/verwaltung/anmelden")
    page.get_by_label("Schlüssel").fill(key)
    page.get_by_role("button", name="Anmelden").click()
    page.wait_for_url(base_url + "/verwaltung")
    assert "4 Berichte" in page.locator("main").inner_text()

    # upload a PDF with an event for it; the result page names the outcome
    page.get_by_role("link", name="Hochladen").click()
    page.locator("#files").set_input_files(str(pdf))
    page.get_by_label("Veranstaltung").fill("Forum Wasserstoff")
    page.get_by_role("button", name="Hochladen").click()
    page.wait_for_url("**/verwaltung/hochladen")
    outcome = page.locator("tr.outcome").first
    assert "neu aufgenommen" in outcome.inner_text()
    doc_id = outcome.locator("a").inner_text()

    # it is found by search, with a link to its PDF page
    page.goto(base_url + "/?q=Elektrolyseurpark")
    first = page.locator("li.result").first
    assert first.locator("h2").inner_text() == "Forum Wasserstoff 2024"
    link = first.locator(".file a")
    assert link.inner_text() == "PDF, Seite 3"
    assert link.get_attribute("href") == f"/api/v1/documents/{doc_id}/file#page=3"

    # edit its title
    page.goto(f"{base_url}/verwaltung/berichte/{doc_id}")
    page.get_by_label("Titel").fill("Elektrolyse im Emsland")
    page.get_by_role("button", name="Speichern").click()
    page.wait_for_url("**gespeichert=1")
    assert "gespeichert" in page.locator(".notice").inner_text()
    page.goto(base_url + "/?q=Elektrolyseurpark")
    assert page.locator("li.result h2").first.inner_text() == "Elektrolyse im Emsland"

    # delete it: first a confirmation, then it is gone
    page.goto(base_url + "/verwaltung")
    page.locator(f"#bericht-{doc_id}").get_by_role("link", name="Löschen").click()
    page.wait_for_url(f"**/verwaltung/berichte/{doc_id}/loeschen")
    assert "Bericht löschen?" in page.locator("h1").inner_text()
    page.get_by_role("button", name="Endgültig löschen").click()
    page.wait_for_url("**/verwaltung?geloescht=*")
    assert "wurde gelöscht" in page.locator(".notice").inner_text()
    assert page.locator(f"#bericht-{doc_id}").count() == 0
    page.goto(base_url + "/?q=Elektrolyseurpark")
    assert page.locator("li.result").count() == 0

    # the change log has all three changes, newest first, by the key's name
    page.goto(base_url + "/verwaltung")
    page.get_by_role("link", name="Änderungen").click()
    rows = page.locator("table.changes tbody tr")
    actions = [rows.nth(i).locator("td").nth(2).inner_text() for i in range(3)]
    assert actions == ["gelöscht", "Angaben korrigiert", "hinzugefügt"]
    assert "geschaeftsstelle" in rows.first.inner_text()
    if javascript:  # the watcher of CSP violations is a script itself
        assert page.evaluate("window.__csp") == []
    assert seen["foreign"] == []
    context.close()
