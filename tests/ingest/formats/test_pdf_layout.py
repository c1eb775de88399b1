"""Tests for ingest.formats.pdf_layout: lines to paragraphs without pypdf."""

from __future__ import annotations

from ingest.formats.pdf_layout import PdfLine, clean_pdf_pages


def page(*lines: tuple[str, float], size: float = 11.0) -> list[PdfLine]:
    return [PdfLine(text, y, size) for text, y in lines]


def body(first_y: float, texts: list[str]) -> list[tuple[str, float]]:
    """Lines of one paragraph, 14 points apart."""
    return [(text, first_y - 14 * index) for index, text in enumerate(texts)]


def test_hyphenated_words_are_joined_and_compounds_kept() -> None:
    lines = [
        "Die Betriebe wollen künftig grünen Wasser-",
        "stoff aus der Region nutzen, sagte die Industrie-",
        "Vertreterin, und sprach über Klima-",
        "und Energiepolitik in den Jahren 2020-",
        "2022 und darüber hinaus in der ganzen Region.",
    ]
    (text,) = clean_pdf_pages([page(*body(700, lines))])

    assert text == (
        "Die Betriebe wollen künftig grünen Wasserstoff aus der Region nutzen, sagte die "
        "Industrie-Vertreterin, und sprach über Klima- und Energiepolitik in den Jahren "
        "2020-2022 und darüber hinaus in der ganzen Region."
    )


TOPICS = ("Wasserstoff", "Fachkräfte", "Digitalisierung")


def test_page_numbers_and_running_headers_are_removed() -> None:
    pages = [
        page(
            ("IHK Musterstadt – Jahresbericht", 800),
            *body(760, [f"Auf dieser Seite geht es um {topic} und um die Betriebe."]),
            (f"Seite {number} von 3", 40),
        )
        for number, topic in enumerate(TOPICS, start=1)
    ]

    cleaned = clean_pdf_pages(pages)

    assert cleaned == [
        f"Auf dieser Seite geht es um {topic} und um die Betriebe." for topic in TOPICS
    ]


def test_a_gap_and_a_larger_type_size_start_new_paragraphs() -> None:
    lines = [
        PdfLine("Ergebnisse", 760, 16.0),
        *page(
            *body(730, ["Die erste Zeile des Absatzes läuft über die ganze Breite hin", "weiter."])
        ),
        *page(*body(680, ["Ein zweiter Absatz nach einer Lücke von zwei Zeilen beginnt", "hier."])),
    ]

    (text,) = clean_pdf_pages([lines])

    assert text.split("\n\n") == [
        "Ergebnisse",
        "Die erste Zeile des Absatzes läuft über die ganze Breite hin weiter.",
        "Ein zweiter Absatz nach einer Lücke von zwei Zeilen beginnt hier.",
    ]
