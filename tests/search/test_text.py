"""The shared text rules: sentences (German abbreviations and dates), bullets, headings."""

import math

import pytest

from search.text import (
    ends_sentence,
    is_bullet,
    is_heading,
    is_list_item,
    is_numbered,
    split_sentences,
)


def test_abbreviations_dates_and_ordinals_do_not_end_sentences():
    text = (
        "Dr. Anna Weber vom Netzwerk e. V. sprach am 30. November über z. B. Wasserstoff. "
        "Danach folgte die Diskussion! War das genug? Ja."
    )
    assert split_sentences(text) == [
        "Dr. Anna Weber vom Netzwerk e. V. sprach am 30. November über z. B. Wasserstoff.",
        "Danach folgte die Diskussion!",
        "War das genug?",
        "Ja.",
    ]


def test_text_without_final_period_and_empty_text():
    assert split_sentences("  Ein Satz ohne Punkt  ") == ["Ein Satz ohne Punkt"]
    assert split_sentences("   ") == []


# -- headings: the paragraph rule of chunking (the defaults) ---------------------------


@pytest.mark.parametrize(
    ("paragraph_text", "expected"),
    [
        ("Ergebnisse der Workshops", True),
        ("Workshop 3: Fachkräfte", True),
        ("3. Ein nummerierter Punkt", False),
        ("„Wasserstoff verbindet“", True),
        ("Ein ganzer Satz endet mit Punkt.", False),
        ("Was braucht die Region?", True),
        ("Energie sparen, aber wie? " * 4, False),
        ("Die Teilnehmenden beschlossen:", False),
        ("- ein Listenpunkt", False),
        ("kleingeschriebener Anfang", False),
        ("2021", False),
        ("Zwei\nZeilen", False),
        ("Sehr lange Zeile " * 10, False),
    ],
)
def test_is_heading(paragraph_text: str, expected: bool) -> None:
    assert is_heading(paragraph_text) is expected


def test_heading_ending_in_a_hyphen_or_with_a_check_mark_is_none():
    # The two cases where chunking's rule was widened to the PDF rule's.
    assert not is_heading("Wasserstoff-")
    assert not is_heading("✓ Erledigt")


# -- headings: the PDF line rule (parameters chosen from the line statistics) -----------


def pdf_heading(text: str, full_length: float) -> bool:
    """``is_heading`` as ingest.formats.pdf_layout calls it for a PDF line."""
    limit = 0.6 * full_length if full_length else 80
    return is_heading(
        text,
        max_chars=math.ceil(limit) - 1,
        question_max_chars=0,
        numbered=True,
        capital_start=True,
    )


@pytest.mark.parametrize(
    ("line", "full_length", "expected"),
    [
        ("Ergebnisse der Workshops", 90.0, True),
        ("3. Ergebnisse", 90.0, True),  # numbered headings are common in PDFs
        ("„Wasserstoff verbindet“", 90.0, False),  # a quote at a line start is body text
        ("Was braucht die Region?", 90.0, False),
        ("Ein ganzer Satz endet mit Punkt.", 90.0, False),
        ("Zeile mit Wasser-", 90.0, False),
        ("- ein Listenpunkt", 90.0, False),
        ("A" * 53, 90.0, True),  # shorter than 60 % of a full line (54 characters)
        ("A" * 54, 90.0, False),
        ("A" * 79, 0.0, True),  # without statistics: shorter than 80 characters
        ("A" * 80, 0.0, False),
    ],
)
def test_pdf_heading_rule(line: str, full_length: float, expected: bool):
    assert pdf_heading(line, full_length) is expected


# -- bullets and sentence ends --------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "bullet", "numbered"),
    [
        ("- Punkt", True, False),
        ("• Punkt", True, False),
        ("✓ erledigt", True, False),
        ("1. Punkt", False, True),
        ("12) Punkt", False, True),
        ("a) Punkt", False, True),
        ("-Punkt", False, False),
        ("2021 war gut", False, False),
        ("30.11.2021", False, False),
    ],
)
def test_bullets_and_numbered_items(text: str, bullet: bool, numbered: bool):
    assert is_bullet(text) is bullet
    assert is_numbered(text) is numbered
    assert is_list_item(text) is (bullet or numbered)


@pytest.mark.parametrize(
    ("line", "plain", "with_colon"),
    [
        ("Das war gut.", True, True),
        ("Das war gut.“", True, True),
        ("Wirklich?!", True, True),
        ("Und dann…", True, True),
        ("Die Teilnehmenden beschlossen:", False, True),
        ("Zeile ohne Ende", False, False),
        ("Ende.) weiter", False, False),
    ],
)
def test_line_ends_a_sentence(line: str, plain: bool, with_colon: bool):
    assert ends_sentence(line) is plain
    assert ends_sentence(line, colon=True) is with_colon
