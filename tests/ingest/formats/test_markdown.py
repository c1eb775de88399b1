"""Tests for ingest.formats.markdown: body to text, headings, front matter as metadata."""

from __future__ import annotations

from .samples import FRONT_MATTER_MD, extract_sample, extraction_error, paragraphs, sample


def test_markdown_front_matter_and_body() -> None:
    result = extract_sample(sample("bericht.md", FRONT_MATTER_MD.encode()))

    assert result.format == "md"
    assert result.pages is None
    assert result.metadata == {
        "title": "Wasserstofftag Musterstadt",
        "date": "2021-11-30",  # YAML gives a datetime.date; stored as ISO text
        "event": "Wasserstofftag 2021",
        "location": "Musterstadt",
        "organiser": "IHK Musterstadt",
        "topics": ["Wasserstoff", "Energie", "Mobilität"],
        "language": "de",
        "source_url": "https://example.org/bericht",
        "id": "42",
    }
    assert paragraphs(result.text) == [
        "Wasserstofftag in Musterstadt",
        "Am 30. November 2021 trafen sich Vertreter der Industrie in Musterstadt.",
        "Ergebnisse",
        "- erster Punkt mit Code\n- zweiter Punkt mit Betonung und Fortsetzung\n1. nummeriert",
        "Ein Wort mit snake_case_name und 2 * 3 * 4 bleibt.",
        "Setext-Überschrift",
        "Ein Zitat über zwei Zeilen.",
        "Spalte A | Spalte B\neins | zwei",
        "Zeile mit hartem Umbruch\nund danach.",
    ]
    assert result.headings == ["Wasserstofftag in Musterstadt", "Ergebnisse", "Setext-Überschrift"]


def test_markdown_topics_list_and_markdown_suffix() -> None:
    source = "---\ntopics:\n  - Wasserstoff\n  - Energie\ndate: 30.11.2021\n---\nText.\n"
    result = extract_sample(sample("bericht.MARKDOWN", source.encode()))

    assert result.format == "md"
    assert result.metadata == {"topics": ["Wasserstoff", "Energie"], "date": "30.11.2021"}


def test_markdown_without_front_matter() -> None:
    result = extract_sample(sample("notiz.md", b"# Titel\n\nText mit __fett__.\n"))

    assert result.metadata == {}
    assert result.text == "Titel\n\nText mit fett."


def test_markdown_leading_horizontal_rule_is_not_front_matter() -> None:
    result = extract_sample(sample("linie.md", b"---\n\nNur Text.\n"))

    assert result.text == "Nur Text."


def test_markdown_only_front_matter() -> None:
    err = extraction_error(sample("nur-kopf.md", b"---\ntitle: Nur Kopf\n---\n\n"))

    assert "no text found" in str(err)
