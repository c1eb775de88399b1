"""Tests for ingest.formats.docx: paragraphs, tables, headings, properties; broken files."""

from __future__ import annotations

import io
import random
import zipfile

import docx

from .samples import extract_sample, extraction_error, make_docx, paragraphs, sample


def test_docx_paragraphs_headings_tables_and_properties() -> None:
    result = extract_sample(sample("treffen.docx", make_docx()))

    assert result.format == "docx"
    assert result.pages is None
    assert paragraphs(result.text) == [
        "Netzwerktreffen Fachkräfte 2019",
        "Am 5. Juni 2019 trafen sich Ausbilderinnen und Ausbilder.",
        "Ergebnisse",
        "Thema | Beschluss\nAusbildung | Gemeinsame Messe",
        "Das nächste Treffen folgt 2020.",
    ]
    assert result.headings == ["Netzwerktreffen Fachkräfte 2019", "Ergebnisse"]
    assert result.metadata["title"] == "Netzwerktreffen Fachkräfte"
    assert result.metadata["organiser"] == "Industrieinitiative OWL"
    assert result.metadata["event"] == "Netzwerktreffen 2019"
    assert result.metadata["topics"] == ["Fachkräfte", "Ausbildung"]


def test_docx_without_text() -> None:
    document = docx.Document()
    document.add_paragraph("   ")
    buffer = io.BytesIO()
    document.save(buffer)

    err = extraction_error(sample("leer.docx", buffer.getvalue()))

    assert "no text found" in str(err)


def test_docx_truncated() -> None:
    data = make_docx()
    file = sample("abgeschnitten.docx", data[: len(data) // 2])

    assert "not a valid DOCX" in str(extraction_error(file))


def test_docx_random_bytes() -> None:
    file = sample("zufall.docx", random.Random(3).randbytes(3000))

    assert "not a valid DOCX" in str(extraction_error(file))


def test_docx_zip_without_word_document() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notiz.txt", "kein Word-Dokument")
    file = sample("archiv.docx", buffer.getvalue())

    assert "not a valid DOCX" in str(extraction_error(file))


def test_legacy_doc_renamed_to_docx() -> None:
    file = sample("alt.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)

    assert ".doc" in str(extraction_error(file))
