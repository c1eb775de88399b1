"""Tests for ingest.chunk: paragraph-following passages with size limits and pages."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.chunk import chunk_document
from ingest.formats import extract_bytes
from search.models import Chunk

from .formats.samples import LIMITS

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def sentence(number: int, words: int = 12) -> str:
    """A German-looking sentence of predictable length, numbered to stay unique."""
    return f"Satz {number} " + " ".join(["Wasserstoff"] * words) + " endet hier."


def paragraph(first: int, sentences: int, words: int = 12) -> str:
    return " ".join(sentence(first + index, words) for index in range(sentences))


def filler(words: int, word: str = "Wort") -> str:
    """Text of exactly ``words * (len(word) + 1)`` characters, ending with a period."""
    return " ".join([word] * words) + "."


SENTENCE_LEN = len(sentence(1))  # 162


def words_of(chunks: list[Chunk]) -> list[str]:
    return " ".join(chunk.text for chunk in chunks).split()


def assert_well_formed(chunks: list[Chunk], max_len: float) -> None:
    assert [chunk.position for chunk in chunks] == list(range(len(chunks)))
    for chunk in chunks:
        assert chunk.text.strip() == chunk.text and chunk.text
        assert len(chunk.text) <= max_len


def test_empty_and_whitespace_text_give_no_chunks() -> None:
    assert chunk_document("", max_chars=1000, min_chars=200) == []
    assert chunk_document(" \n\n \t\n", max_chars=1000, min_chars=200) == []
    assert chunk_document("", ["", "  "], max_chars=1000, min_chars=200) == []


def test_short_text_is_one_chunk_without_page() -> None:
    chunks = chunk_document(
        "Ein kurzer Bericht.\n\nMit zwei Absätzen.", max_chars=1000, min_chars=200
    )

    assert chunks == [Chunk(text="Ein kurzer Bericht.\n\nMit zwei Absätzen.", position=0)]
    assert chunks[0].page is None


def test_paragraphs_are_packed_up_to_max_chars() -> None:
    paras = [sentence(index) for index in range(6)]
    text = "\n\n".join(paras)
    assert 2 * SENTENCE_LEN + 2 <= 400 < 3 * SENTENCE_LEN + 4

    chunks = chunk_document(text, max_chars=400, min_chars=50)

    assert_well_formed(chunks, 400)
    assert [chunk.text for chunk in chunks] == [
        f"{paras[0]}\n\n{paras[1]}",
        f"{paras[2]}\n\n{paras[3]}",
        f"{paras[4]}\n\n{paras[5]}",
    ]


def test_heading_starts_new_chunk_and_stays_with_its_paragraph() -> None:
    intro, body, outro = paragraph(1, 1), paragraph(2, 1), paragraph(3, 1)
    text = f"{intro}\n\nErgebnisse der Workshops\n\n{body}\n\n{outro}"

    chunks = chunk_document(text, max_chars=1000, min_chars=10)

    assert [chunk.text for chunk in chunks] == [
        intro,
        f"Ergebnisse der Workshops\n\n{body}\n\n{outro}",
    ]


def test_heading_before_long_paragraph_stays_with_its_first_piece() -> None:
    long_body = paragraph(1, 12)
    text = f"Einleitung\n\n{long_body}"

    chunks = chunk_document(text, max_chars=500, min_chars=10)

    assert_well_formed(chunks, 500)
    assert chunks[0].text.startswith("Einleitung\n\nSatz 1 ")
    assert words_of(chunks) == text.split()


def test_lead_in_ending_with_colon_stays_with_next_paragraph() -> None:
    first = paragraph(1, 2)
    text = f"{first}\n\nDie Teilnehmenden beschlossen:\n\n- einen Atlas\n- ein Netzwerk"

    chunks = chunk_document(text, max_chars=380, min_chars=10)

    assert chunks[-1].text == "Die Teilnehmenden beschlossen:\n\n- einen Atlas\n- ein Netzwerk"


def test_long_paragraph_split_at_sentence_boundaries() -> None:
    text = paragraph(1, 20)

    chunks = chunk_document(text, max_chars=500, min_chars=10)

    assert_well_formed(chunks, 500)
    for chunk in chunks:
        assert chunk.text.startswith("Satz ")
        assert chunk.text.endswith("endet hier.")
    assert words_of(chunks) == text.split()
    # Balanced pieces: no leftover single sentence at the end.
    assert min(len(chunk.text) for chunk in chunks) >= 2 * SENTENCE_LEN


def test_german_abbreviations_do_not_end_sentences() -> None:
    sentences = [
        "Die Runde moderierte Dr. Anna Müller vom Verein Wasserstoff Nord e. V. aus Kiel.",
        "Gefördert werden z. B. Elektrolyseure, Tankstellen usw. in der ganzen Region.",
        "Am 30. November 2021 beschloss man das Projekt Nr. 5 gemeinsam mit Prof. Lang.",
        "Laut Abs. 2 gilt das auch für die Wasserstoff-Verordnung ggf. rückwirkend.",
    ]
    text = " ".join(sentences * 3)

    chunks = chunk_document(text, max_chars=90, min_chars=0)

    # Every sentence fits into 90 chars, so every chunk must be exactly one sentence.
    assert [chunk.text for chunk in chunks] == sentences * 3


def test_overlong_sentence_is_split_at_word_boundaries() -> None:
    words = [f"Wort{index}" for index in range(120)]
    text = " ".join(words) + "."

    chunks = chunk_document(text, max_chars=100, min_chars=0)

    assert_well_formed(chunks, 100)
    assert len(chunks) > 1
    assert words_of(chunks) == text.split()  # no word was cut


def test_single_overlong_word_is_cut_hard() -> None:
    url = "https://example.org/" + "a" * 250

    chunks = chunk_document(url, max_chars=100, min_chars=0)

    assert_well_formed(chunks, 100)
    assert "".join(chunk.text for chunk in chunks) == url


def test_long_list_paragraph_is_split_at_lines() -> None:
    items = [f"- Punkt {index}: " + "Maßnahme " * 5 for index in range(12)]
    text = "\n".join(item.strip() for item in items)

    chunks = chunk_document(text, max_chars=200, min_chars=0)

    assert_well_formed(chunks, 200)
    for chunk in chunks:
        assert all(line.startswith("- Punkt") for line in chunk.text.split("\n"))


def test_tiny_trailing_chunk_with_heading_is_merged() -> None:
    body = paragraph(1, 2)
    text = f"{body}\n\nNachwort\n\nDanke."

    chunks = chunk_document(text, max_chars=450, min_chars=100)

    # The heading opened a new chunk, but a tiny last chunk joins the previous one.
    assert [chunk.text for chunk in chunks] == [text]


@pytest.mark.parametrize(("max_chars", "merged"), [(302, True), (300, False)])
def test_tiny_trailing_chunk_merge_limit(max_chars: int, merged: bool) -> None:
    body, tail = filler(60), filler(30, "Ende")  # 300 and 150 characters
    text = f"{body}\n\n{tail}"  # merged: 452 characters

    chunks = chunk_document(text, max_chars=max_chars, min_chars=200)

    # 452 <= 1.5 * 302 = 453, but 452 > 1.5 * 300 = 450.
    assert [chunk.text for chunk in chunks] == ([text] if merged else [body, tail])


def test_pages_are_never_spanned_and_numbered_from_one() -> None:
    pages = [paragraph(1, 3), "", paragraph(10, 8), "Kurzer Rest."]

    chunks = chunk_document("ignored", pages, max_chars=400, min_chars=50)

    assert_well_formed(chunks, 600)
    page_numbers = [chunk.page for chunk in chunks]
    assert page_numbers == sorted(page_numbers)
    assert set(page_numbers) == {1, 3, 4}
    assert chunks[-1] == Chunk("Kurzer Rest.", len(chunks) - 1, 4)  # not merged into page 3
    for chunk in chunks:
        assert chunk.text in pages[chunk.page - 1]  # type: ignore[operator]


def test_every_word_is_kept_in_order() -> None:
    text = "\n\n".join(
        [
            "Wasserstofftag 2021",
            paragraph(1, 9),
            "Ergebnisse",
            paragraph(20, 2, words=40),
            "Fazit: Die Region ist auf einem guten Weg.",
        ]
    )

    chunks = chunk_document(text, max_chars=300, min_chars=80)

    assert_well_formed(chunks, 450)
    assert words_of(chunks) == text.split()


def test_chunking_is_deterministic() -> None:
    text = "\n\n".join(paragraph(10 * index, 1 + index % 4) for index in range(15))

    assert chunk_document(text, max_chars=350, min_chars=200) == chunk_document(
        text, max_chars=350, min_chars=200
    )


def test_invalid_max_chars() -> None:
    with pytest.raises(ValueError):
        chunk_document("Text.", max_chars=0, min_chars=0)


def test_fixture_pdf_chunks_follow_pages() -> None:
    name = "bericht-zwei-seiten.pdf"
    extracted = extract_bytes((FIXTURES / name).read_bytes(), name, LIMITS)

    chunks = chunk_document(extracted.text, extracted.pages, max_chars=400, min_chars=100)

    assert [chunk.page for chunk in chunks] == [1, 1, 1, 2]
    assert chunks[0].text.startswith("Wasserstofftag Musterstadt 2021\n\nAm 30. November 2021")
    assert chunks[2].text.startswith("Erfahrungen aus den Betrieben\n\nDr. Anna Müller")
    assert chunks[3].text.startswith("Ergebnisse und Ausblick\n\nDie Teilnehmenden")
    assert chunks[3].text.endswith("zum Download bereit.")
