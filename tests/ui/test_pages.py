"""The server-rendered web page (no JavaScript needed)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from ingest.pipeline import ingest_files, iter_files
from search.kb import KnowledgeBase
from search.models import Chunk, NewDocument
from search.settings import Settings
from ui.views import marked


@pytest.fixture
def client(settings: Settings, reports):
    kb = KnowledgeBase.open(settings)
    assert ingest_files(kb, iter_files([reports])).ok
    evil = "<script>alert(1)</script> Wasserstoff & <b>fett</b>"
    kb.add_document(
        "evil",
        NewDocument(
            source="evil.md",
            sha256="e",
            text=evil,
            title="<img src=x onerror=alert(1)>",
            event="<i>Forum</i>",
            chunks=[Chunk(evil, 0)],
        ),
    )
    kb.close()
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_start_page_has_a_german_search_form(client: TestClient):
    page = client.get("/")
    assert page.status_code == 200
    html = page.text
    assert '<html lang="de">' in html
    assert '<form class="search" action="/" method="get"' in html
    assert 'name="q"' in html
    assert "Suchen" in html


def test_results_show_title_event_date_marked_snippet_and_link(client: TestClient):
    html = client.get("/", params={"q": "Wasserstoff"}).text
    assert "Wasserstoff für die Region" in html
    assert "Forum Wasserstoff" in html
    assert "04.03.2021" in html
    assert '<mark class="term">Wasserstoff</mark>' in html
    # the link opens the report at the passage shown, with the query to mark there
    assert 'href="/berichte/wasserstoff-forum?q=Wasserstoff#abschnitt-1"' in html


def test_document_text_is_escaped_everywhere(client: TestClient):
    html = client.get("/", params={"q": "Wasserstoff fett"}).text
    assert "<script>" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    report = client.get("/berichte/evil").text
    assert "<script>alert" not in report and "&lt;script&gt;" in report
    assert "<i>Forum</i>" not in report


def test_query_is_escaped_in_the_form(client: TestClient):
    html = client.get("/", params={"q": '"><script>x()</script>'}).text
    assert "<script>x()" not in html


def test_full_report_page_and_missing_report(client: TestClient):
    page = client.get("/berichte/fachkraefte-treffen")
    assert page.status_code == 200
    assert "Zuwanderung ausländischer Fachkräfte" in page.text
    assert "12.05.2022" in page.text
    missing = client.get("/berichte/unbekannt")
    assert missing.status_code == 404
    assert "unbekannt" in missing.text


def test_too_long_query_gets_a_german_message(client: TestClient):
    page = client.get("/", params={"q": "x" * 600})
    assert page.status_code == 400
    assert "zu lang" in page.text


def test_marked_splits_text_into_plain_and_marked_parts():
    assert marked("ab Wasser cd", [(3, 9, "term")]) == [
        ("ab ", None),
        ("Wasser", "term"),
        (" cd", None),
    ]
    assert marked("abc", []) == [("abc", None)]


def test_facets_filter_with_plain_links_and_counts_add_up(client: TestClient):
    query = "Fachkräfte Wasserstoff Digitalisierung Kreislaufwirtschaft"
    html = client.get("/", params={"q": query}).text
    total = int(re.search(r'id="total">(\d+) passende', html).group(1))
    years = re.findall(r'data-facet="years".*?</section>', html, re.S)[0]
    counts = [int(c) for c in re.findall(r'class="count">\((\d+)\)', years)]
    assert sum(counts) == total >= 2
    link = re.search(r'href="(/\?q=[^"]*date_from=2022[^"]*)"', years).group(1)
    narrowed = client.get(link.replace("&amp;", "&")).text
    assert 'id="total">1 passende' in narrowed and "aria-current" in narrowed


def test_report_page_marks_the_query_and_lists_similar_reports(client: TestClient):
    html = client.get("/berichte/wasserstoff-forum", params={"q": "Elektrolyse"}).text
    assert 'id="abschnitt-1"' in html
    assert '<mark class="term">Elektrolyse' in html
    assert "Ähnliche Berichte" in html and 'href="/berichte/fachkraefte-treffen"' in html


def test_a_bad_date_on_the_page_is_a_german_hint(client: TestClient):
    page = client.get("/", params={"q": "Wasserstoff", "date_from": "letztes Jahr"})
    assert page.status_code == 400 and "JJJJ" in page.text


def test_curation_views_in_german():
    from ui.views import change_diff, de_time, field_message

    assert de_time("2026-12-01T05:42:22+00:00") == "01.12.2026, 05:42 UTC"
    assert de_time(None) == "" and de_time("2024") == "2024"
    assert field_message("title must not be empty") == "Der Titel darf nicht leer sein."
    assert "Themen" in field_message("too many or too long topics")
    assert "„Titel“" in field_message("title is too long")
    assert "„Veranstaltung“" in field_message("event is too long")
    assert "JJJJ-MM-TT" in field_message("date must be YYYY, YYYY-MM or YYYY-MM-DD")
    before = {"title": "Alt", "topics": ["A"], "date": None}
    after = {"title": "Neu", "topics": ["A", "B"], "date": "2024"}
    assert change_diff(before, after) == [
        ("Titel", "Alt", "Neu"),
        ("Datum", "–", "2024"),
        ("Themen", "A", "A, B"),
    ]
    assert change_diff(None, after) == []
