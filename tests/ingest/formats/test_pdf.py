"""Tests for ingest.formats.pdf: real PDFs made with fpdf2 and pypdf, good and broken."""

from __future__ import annotations

import random

from fpdf import FPDF

from ingest.formats import Extracted

from .samples import (
    DEJAVU,
    LONG_PARAGRAPH,
    MULTI_PAGE,
    SECOND_PARAGRAPH,
    aes_pdf,
    extract_sample,
    extraction_error,
    fixture,
    make_pdf,
    paragraphs,
    pdf_bytes,
    sample,
)


def test_pdf_multi_page_text_pages_and_cleanup() -> None:
    file = sample("bericht.pdf", pdf_bytes(MULTI_PAGE))

    result = extract_sample(file)

    assert isinstance(result, Extracted)
    assert result.format == "pdf"
    assert result.pages is not None and len(result.pages) == 3
    page1, page2, page3 = result.pages
    # Hyphenation: joined before lowercase, kept before uppercase or "und".
    assert "grünen Wasserstoff nutzen" in page1
    assert "Industrie-Unternehmen" in page1
    assert "Klima- und Energiepolitik" in page1
    assert "Wasser-" not in page1
    # Umlauts and ß survive, page footers are gone.
    assert "Größere Betriebe" in page1
    assert "von 3" not in result.text
    # Paragraphs: heading on its own, wrapped lines joined into one line.
    assert paragraphs(page1)[0] == "Wasserstofftag 2021"
    assert paragraphs(page1)[1] == LONG_PARAGRAPH
    assert paragraphs(page2) == ["Ergebnisse", SECOND_PARAGRAPH]
    assert page3.startswith("Kurzer Schluss")
    assert result.text == "\n\n".join(result.pages)


def test_pdf_paragraphs_without_vertical_gaps() -> None:
    # No extra space between paragraphs: breaks must come from the text itself.
    file = sample("eng.pdf", pdf_bytes(MULTI_PAGE[:2], paragraph_gap=0))

    pages = extract_sample(file).pages

    assert pages is not None
    assert paragraphs(pages[0])[:2] == ["Wasserstofftag 2021", LONG_PARAGRAPH]
    assert paragraphs(pages[1]) == ["Ergebnisse", SECOND_PARAGRAPH]


def test_pdf_bullets_become_separate_paragraphs() -> None:
    items = ["Bedarfsatlas bis 2022", "Qualifizierung von Fachkräften", "Jährliches Treffen"]
    pages = [[("p", "Die Teilnehmenden vereinbarten drei Schritte:"), ("bullets", items)]]
    file = sample("liste.pdf", pdf_bytes(pages, paragraph_gap=0))

    text = extract_sample(file).text

    assert paragraphs(text) == [
        "Die Teilnehmenden vereinbarten drei Schritte:",
        *(f"- {item}" for item in items),
    ]


def test_pdf_metadata_maps_info_fields() -> None:
    data = pdf_bytes(
        MULTI_PAGE[:1],
        title="Wasserstofftag Musterstadt",
        author="IHK Musterstadt",
        subject="Wasserstofftag 2021",
        keywords="Wasserstoff, Energie; Mobilität",
        lang="de-DE",
    )

    metadata = extract_sample(sample("meta.pdf", data)).metadata

    assert metadata == {
        "title": "Wasserstofftag Musterstadt",
        "organiser": "IHK Musterstadt",
        "event": "Wasserstofftag 2021",
        "topics": ["Wasserstoff", "Energie", "Mobilität"],
        "language": "de",
    }  # CreationDate is not the report date, so no "date"


def test_pdf_generated_title_is_ignored() -> None:
    data = pdf_bytes(MULTI_PAGE[:1], title="Microsoft Word - bericht_final.docx")

    assert "title" not in extract_sample(sample("word.pdf", data)).metadata


def test_pdf_with_unicode_font_keeps_german_quotes_and_dashes() -> None:
    text = "„Transformation gestalten“ – so lautete das Motto des Forums in Köln."
    data = pdf_bytes([[("p", text)]], font_path=DEJAVU)

    assert extract_sample(sample("unicode.pdf", data)).text == text


def test_pdf_encrypted_with_empty_user_password_is_read() -> None:
    pdf = make_pdf(MULTI_PAGE[:1])
    pdf.set_encryption(owner_password="geheim")  # RC4: no extra crypto package needed

    result = extract_sample(sample("geschuetzt.pdf", bytes(pdf.output())))

    assert "Wasserstofftag 2021" in result.text


def test_pdf_with_user_password_is_rejected() -> None:
    pdf = make_pdf(MULTI_PAGE[:1])
    pdf.set_encryption(owner_password="geheim", user_password="auch-geheim")
    file = sample("passwort.pdf", bytes(pdf.output()))

    err = extraction_error(file)
    assert "password" in str(err)
    assert err.code == "encrypted"


def test_pdf_aes256_with_empty_user_password_is_read() -> None:
    data = aes_pdf("")
    assert b"/AESV3" in data  # really AES-256, not RC4

    result = extract_sample(sample("aes.pdf", data))

    assert paragraphs(result.pages[0])[0] == "Wasserstofftag 2021"
    assert LONG_PARAGRAPH in result.text


def test_pdf_aes256_with_user_password_is_password_protected() -> None:
    err = extraction_error(sample("aes-passwort.pdf", aes_pdf("auch-geheim")))

    assert str(err) == "PDF is password-protected (cannot be opened without password)"
    assert err.code == "encrypted"
    assert "kennwortgeschützt" in err.german


def test_pdf_without_text_layer() -> None:
    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 100, 60)  # a "scan": graphics only, no text
    file = sample("scan.pdf", bytes(pdf.output()))

    assert "no text found" in str(extraction_error(file))


def test_pdf_truncated() -> None:
    data = pdf_bytes(MULTI_PAGE)
    file = sample("abgeschnitten.pdf", data[: len(data) // 2])

    assert "not a valid PDF" in str(extraction_error(file))


def test_pdf_random_bytes() -> None:
    junk = random.Random(7).randbytes(4000)
    file = sample("zufall.pdf", junk)

    assert "not a valid PDF" in str(extraction_error(file))


def test_pdf_header_followed_by_garbage() -> None:
    file = sample("kaputt.pdf", b"%PDF-1.7\n" + random.Random(8).randbytes(4000))

    assert "not a valid PDF" in str(extraction_error(file))


# --------------------------------------------------------------------------- committed fixtures


def test_fixture_two_page_report() -> None:
    file = fixture("bericht-zwei-seiten.pdf")
    assert len(file[0]) < 20 * 1024

    result = extract_sample(file)

    assert result.pages is not None and len(result.pages) == 2
    page1, page2 = result.pages
    assert page1.startswith("Wasserstofftag Musterstadt 2021\n\nAm 30. November 2021")
    assert "grünen Wasserstoff nutzen" in page1
    assert "Mehrere Industrie-Unternehmen" in page1
    assert "Klima- und Energiepolitik" in page1
    assert "Dr. Anna Müller" in page1
    # The footer "IHK Musterstadt ... Seite N von 2" shares one baseline; all of it goes.
    assert "Seite" not in result.text
    assert "IHK Musterstadt" not in result.text
    assert paragraphs(page2) == [
        "Ergebnisse und Ausblick",
        "Die Teilnehmenden verständigten sich auf drei Schritte:",
        "- Ein gemeinsamer Bedarfsatlas für Wasserstoff bis Mitte 2022.",
        "- Eine Qualifizierungsoffensive für Fachkräfte in der Region.",
        "- Ein jährliches Treffen des Netzwerks.",
        "Der nächste Wasserstofftag findet im Herbst 2022 statt. Die Präsentationen stehen "
        "auf der Website der Kammer zum Download bereit.",
    ]
    assert result.metadata == {
        "title": "Wasserstofftag Musterstadt 2021",
        "organiser": "IHK Musterstadt",
        "event": "Wasserstofftag 2021",
        "topics": ["Wasserstoff", "Energie", "Mobilität"],
        "language": "de",
    }


def test_fixture_truncated_pdf() -> None:
    err = extraction_error(fixture("kaputt.pdf"))

    assert str(err) == "not a valid PDF (file is damaged or truncated)"
