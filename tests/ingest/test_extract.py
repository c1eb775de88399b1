"""Tests for ingest.extract: real files in every supported format, good and broken."""

from __future__ import annotations

import datetime as dt
import io
import random
import zipfile
from pathlib import Path

import docx
import pytest
from fpdf import FPDF

from ingest.extract import (
    SUPPORTED_SUFFIXES,
    Extracted,
    ExtractionError,
    extract,
    extract_bytes,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")

LONG_PARAGRAPH = (
    "Am 30. November 2021 trafen sich rund 120 Vertreterinnen und Vertreter aus Unternehmen, "
    "Kommunen und Hochschulen in der Stadthalle. Die Kammer hatte zum zweiten Wasserstofftag "
    "eingeladen, um über Erzeugung, Transport und Nutzung von grünem Wasserstoff in der "
    "Region zu sprechen. Größere Betriebe berichteten über ihre Erfahrungen mit Elektrolyse."
)
SECOND_PARAGRAPH = (
    "Die Diskussion zeigte, dass vor allem kleine Unternehmen Unterstützung bei der Planung "
    "brauchen. Mehrere Teilnehmende forderten ein gemeinsames Beratungsangebot der Region."
)


# --------------------------------------------------------------------------- helpers


class _FooterPDF(FPDF):
    """FPDF that prints "Seite N von M" centred in the footer of every page."""

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font("helvetica", "", 8)
        self.cell(0, 10, f"Seite {self.page_no()} von {{nb}}", align="C")


def make_pdf(
    pages: list[list[tuple[str, object]]],
    *,
    paragraph_gap: float = 3.0,
    footer: bool = True,
    font_path: Path | None = None,
    **info: str,
) -> FPDF:
    """Build a PDF; each page is a list of blocks.

    Blocks: ("h", text) heading, ("p", text) wrapped paragraph, ("lines", [..]) a
    paragraph with line breaks exactly where given, ("bullets", [..]) list items.
    """
    pdf = _FooterPDF(format="A4") if footer else FPDF(format="A4")
    family = "helvetica"
    if font_path is not None:
        pdf.add_font("body", "", str(font_path))
        pdf.add_font("body", "B", str(font_path))
        family = "body"
    for key, value in info.items():
        getattr(pdf, f"set_{key}")(value)
    pdf.set_creation_date(dt.datetime(2024, 5, 1, tzinfo=dt.UTC))
    for blocks in pages:
        pdf.add_page()
        for kind, content in blocks:
            if kind == "h":
                pdf.set_font(family, "B", 14)
                pdf.multi_cell(0, 8, str(content), new_x="LMARGIN", new_y="NEXT")
                pdf.ln(1)
                continue
            pdf.set_font(family, "", 11)
            if kind == "p":
                pdf.multi_cell(0, 6, str(content), new_x="LMARGIN", new_y="NEXT")
            elif kind == "lines":
                for line in content:  # type: ignore[union-attr]
                    pdf.cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
            elif kind == "bullets":
                for item in content:  # type: ignore[union-attr]
                    pdf.cell(0, 6, f"- {item}", new_x="LMARGIN", new_y="NEXT")
            pdf.ln(paragraph_gap)
    return pdf


def pdf_bytes(pages: list[list[tuple[str, object]]], **kwargs: object) -> bytes:
    return bytes(make_pdf(pages, **kwargs).output())  # type: ignore[arg-type]


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def extraction_error(path: Path) -> ExtractionError:
    """Run extract() and return the ExtractionError it must raise."""
    with pytest.raises(ExtractionError) as info:
        extract(path)
    err = info.value
    assert type(err) is ExtractionError
    message = str(err)
    # One clear sentence, never a traceback or a library repr.
    assert message and "\n" not in message and "Traceback" not in message
    return err


def paragraphs(text: str) -> list[str]:
    return text.split("\n\n")


MULTI_PAGE = [
    [
        ("h", "Wasserstofftag 2021"),
        ("p", LONG_PARAGRAPH),
        (
            "lines",
            [
                "Im Mittelpunkt stand die Frage, wie mittelständische Betriebe grünen Wasser-",
                "stoff nutzen können. Mehrere Industrie-",
                "Unternehmen berichteten über ihre Pläne zur Klima-",
                "und Energiepolitik der Region.",
            ],
        ),
    ],
    [("h", "Ergebnisse"), ("p", SECOND_PARAGRAPH)],
    [("p", "Kurzer Schluss auf der dritten Seite. Vielen Dank an alle Beteiligten.")],
]


# --------------------------------------------------------------------------- PDF


def test_pdf_multi_page_text_pages_and_cleanup(tmp_path: Path) -> None:
    path = write(tmp_path, "bericht.pdf", pdf_bytes(MULTI_PAGE))

    result = extract(path)

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


def test_pdf_paragraphs_without_vertical_gaps(tmp_path: Path) -> None:
    # No extra space between paragraphs: breaks must come from the text itself.
    path = write(tmp_path, "eng.pdf", pdf_bytes(MULTI_PAGE[:2], paragraph_gap=0))

    pages = extract(path).pages

    assert pages is not None
    assert paragraphs(pages[0])[:2] == ["Wasserstofftag 2021", LONG_PARAGRAPH]
    assert paragraphs(pages[1]) == ["Ergebnisse", SECOND_PARAGRAPH]


def test_pdf_bullets_become_separate_paragraphs(tmp_path: Path) -> None:
    items = ["Bedarfsatlas bis 2022", "Qualifizierung von Fachkräften", "Jährliches Treffen"]
    pages = [[("p", "Die Teilnehmenden vereinbarten drei Schritte:"), ("bullets", items)]]
    path = write(tmp_path, "liste.pdf", pdf_bytes(pages, paragraph_gap=0))

    text = extract(path).text

    assert paragraphs(text) == [
        "Die Teilnehmenden vereinbarten drei Schritte:",
        *(f"- {item}" for item in items),
    ]


def test_pdf_metadata_maps_info_fields(tmp_path: Path) -> None:
    data = pdf_bytes(
        MULTI_PAGE[:1],
        title="Wasserstofftag Musterstadt",
        author="IHK Musterstadt",
        subject="Wasserstofftag 2021",
        keywords="Wasserstoff, Energie; Mobilität",
        lang="de-DE",
    )

    metadata = extract(write(tmp_path, "meta.pdf", data)).metadata

    assert metadata == {
        "title": "Wasserstofftag Musterstadt",
        "organiser": "IHK Musterstadt",
        "event": "Wasserstofftag 2021",
        "topics": ["Wasserstoff", "Energie", "Mobilität"],
        "language": "de",
    }  # CreationDate is not the report date, so no "date"


def test_pdf_generated_title_is_ignored(tmp_path: Path) -> None:
    data = pdf_bytes(MULTI_PAGE[:1], title="Microsoft Word - bericht_final.docx")

    assert "title" not in extract(write(tmp_path, "word.pdf", data)).metadata


def test_pdf_with_unicode_font_keeps_german_quotes_and_dashes(tmp_path: Path) -> None:
    text = "„Transformation gestalten“ – so lautete das Motto des Forums in Köln."
    data = pdf_bytes([[("p", text)]], font_path=DEJAVU)

    assert extract(write(tmp_path, "unicode.pdf", data)).text == text


def test_pdf_encrypted_with_empty_user_password_is_read(tmp_path: Path) -> None:
    pdf = make_pdf(MULTI_PAGE[:1])
    pdf.set_encryption(owner_password="geheim")  # RC4: no extra crypto package needed

    result = extract(write(tmp_path, "geschuetzt.pdf", bytes(pdf.output())))

    assert "Wasserstofftag 2021" in result.text


def test_pdf_with_user_password_is_rejected(tmp_path: Path) -> None:
    pdf = make_pdf(MULTI_PAGE[:1])
    pdf.set_encryption(owner_password="geheim", user_password="auch-geheim")
    path = write(tmp_path, "passwort.pdf", bytes(pdf.output()))

    assert "password" in str(extraction_error(path))


def test_pdf_without_text_layer(tmp_path: Path) -> None:
    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 100, 60)  # a "scan": graphics only, no text
    path = write(tmp_path, "scan.pdf", bytes(pdf.output()))

    assert "no text found" in str(extraction_error(path))


def test_pdf_truncated(tmp_path: Path) -> None:
    data = pdf_bytes(MULTI_PAGE)
    path = write(tmp_path, "abgeschnitten.pdf", data[: len(data) // 2])

    assert "not a valid PDF" in str(extraction_error(path))


def test_pdf_random_bytes(tmp_path: Path) -> None:
    junk = random.Random(7).randbytes(4000)
    path = write(tmp_path, "zufall.pdf", junk)

    assert "not a valid PDF" in str(extraction_error(path))


def test_pdf_header_followed_by_garbage(tmp_path: Path) -> None:
    path = write(tmp_path, "kaputt.pdf", b"%PDF-1.7\n" + random.Random(8).randbytes(4000))

    assert "not a valid PDF" in str(extraction_error(path))


# --------------------------------------------------------------------------- committed fixtures


def test_fixture_two_page_report() -> None:
    path = FIXTURES / "bericht-zwei-seiten.pdf"
    assert path.stat().st_size < 20 * 1024

    result = extract(path)

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
    err = extraction_error(FIXTURES / "kaputt.pdf")

    assert str(err) == "not a valid PDF (file is damaged or truncated)"


# --------------------------------------------------------------------------- plain text


@pytest.mark.parametrize("suffix", SUPPORTED_SUFFIXES)
def test_zero_byte_file_is_empty(tmp_path: Path, suffix: str) -> None:
    path = write(tmp_path, f"leer{suffix}", b"")

    assert str(extraction_error(path)) == "file is empty"


@pytest.mark.parametrize("name", ["leer.txt", "leer.md", "leer.pdf", "leer.docx"])
def test_whitespace_only_file_is_empty(tmp_path: Path, name: str) -> None:
    path = write(tmp_path, name, b" \n\t\r\n  \n")

    assert "empty" in str(extraction_error(path))


def test_bom_only_text_file_is_empty(tmp_path: Path) -> None:
    path = write(tmp_path, "bom.txt", b"\xef\xbb\xbf\n  \n")

    assert "empty" in str(extraction_error(path))


def test_binary_junk_named_txt(tmp_path: Path) -> None:
    path = write(tmp_path, "daten.txt", random.Random(1).randbytes(2048))

    assert "binary" in str(extraction_error(path))


def test_binary_without_nul_bytes_named_txt(tmp_path: Path) -> None:
    control_heavy = bytes(range(1, 9)) * 50 + b"etwas Text " * 20
    path = write(tmp_path, "steuerzeichen.txt", control_heavy)

    assert "binary" in str(extraction_error(path))


def test_pdf_renamed_to_txt_is_binary(tmp_path: Path) -> None:
    path = write(tmp_path, "bericht.txt", pdf_bytes(MULTI_PAGE[:1]))

    assert "binary" in str(extraction_error(path))


def test_latin1_text_with_umlauts(tmp_path: Path) -> None:
    text = "Größere Übergänge für Öko-Straßen\n\nÄrger über Maßnahmen."
    path = write(tmp_path, "latin1.txt", text.encode("latin-1"))

    result = extract(path)

    assert result.text == text
    assert result.format == "txt"
    assert result.pages is None
    assert result.metadata == {}


def test_cp1252_text_with_quotes_and_euro(tmp_path: Path) -> None:
    text = "„Wasserstoff kostet 5 € je Kilogramm“ – so der Referent."
    path = write(tmp_path, "cp1252.txt", text.encode("cp1252"))

    assert extract(path).text == text


def test_utf8_bom_is_stripped(tmp_path: Path) -> None:
    path = write(tmp_path, "bom.txt", "\ufeffÜberschrift\n\nText.".encode())

    assert extract(path).text == "Überschrift\n\nText."


def test_utf16_with_bom(tmp_path: Path) -> None:
    path = write(tmp_path, "utf16.txt", "Größe und Maß".encode("utf-16"))

    assert extract(path).text == "Größe und Maß"


def test_text_is_normalised(tmp_path: Path) -> None:
    raw = "  Titel  \r\n\r\n\r\n\r\nZeile eins   \r\nZeile zwei\t\n\n\n\nU\u0308bung\u00a0macht\n\n"
    path = write(tmp_path, "roh.txt", raw.encode())

    text = extract(path).text

    assert text == "Titel\n\nZeile eins\nZeile zwei\n\nÜbung macht"


# --------------------------------------------------------------------------- Markdown

FRONT_MATTER_MD = """---
title: Wasserstofftag Musterstadt
date: 2021-11-30
event: Wasserstofftag 2021
location: Musterstadt
organizer: IHK Musterstadt
topics: Wasserstoff, Energie; Mobilität
language: de
source_url: https://example.org/bericht
id: 42
unbekannt: wird ignoriert
---
# Wasserstofftag in *Musterstadt*

<!-- interne Notiz:
nicht veröffentlichen -->
Am **30. November 2021** trafen sich Vertreter der
[Industrie](https://example.org/industrie "Link") in Musterstadt.
![Foto vom Podium](bilder/podium.jpg)

## Ergebnisse

- erster Punkt mit `Code`
* zweiter Punkt mit _Betonung_
  und Fortsetzung
1. nummeriert

Ein Wort mit snake_case_name und 2 * 3 * 4 bleibt.

Setext-Überschrift
------------------

> Ein Zitat über
> zwei Zeilen.

---

| Spalte A | Spalte B |
|----------|----------|
| eins     | zwei     |

"""
# Two trailing spaces: a Markdown hard line break (kept out of the literal for linters).
FRONT_MATTER_MD += "Zeile mit hartem Umbruch  \nund danach.\n"


def test_markdown_front_matter_and_body(tmp_path: Path) -> None:
    result = extract(write(tmp_path, "bericht.md", FRONT_MATTER_MD.encode()))

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


def test_markdown_topics_list_and_markdown_suffix(tmp_path: Path) -> None:
    source = "---\ntopics:\n  - Wasserstoff\n  - Energie\ndate: 30.11.2021\n---\nText.\n"
    result = extract(write(tmp_path, "bericht.MARKDOWN", source.encode()))

    assert result.format == "md"
    assert result.metadata == {"topics": ["Wasserstoff", "Energie"], "date": "30.11.2021"}


def test_markdown_without_front_matter(tmp_path: Path) -> None:
    result = extract(write(tmp_path, "notiz.md", b"# Titel\n\nText mit __fett__.\n"))

    assert result.metadata == {}
    assert result.text == "Titel\n\nText mit fett."


def test_markdown_leading_horizontal_rule_is_not_front_matter(tmp_path: Path) -> None:
    result = extract(write(tmp_path, "linie.md", b"---\n\nNur Text.\n"))

    assert result.text == "Nur Text."


def test_markdown_broken_yaml(tmp_path: Path) -> None:
    source = "---\ntitle: [nicht geschlossen\ndate: 2021-11-30\n---\nText.\n"
    err = extraction_error(write(tmp_path, "kaputt.md", source.encode()))

    assert str(err).startswith("invalid YAML front matter: ")
    assert "line" in str(err)


def test_markdown_front_matter_not_a_mapping(tmp_path: Path) -> None:
    source = "---\n- eins\n- zwei\n---\nText.\n"
    err = extraction_error(write(tmp_path, "liste.md", source.encode()))

    assert "not a 'key: value' mapping" in str(err)


def test_markdown_front_matter_not_closed(tmp_path: Path) -> None:
    source = "---\ntitle: Ohne Ende\ndate: 2021-11-30\n\nText.\n"
    err = extraction_error(write(tmp_path, "offen.md", source.encode()))

    assert "not closed" in str(err)


def test_markdown_front_matter_field_with_wrong_type(tmp_path: Path) -> None:
    source = "---\ntitle:\n  de: Titel\n---\nText.\n"
    err = extraction_error(write(tmp_path, "typ.md", source.encode()))

    assert str(err) == "front matter field 'title' must be text, not a mapping"


def test_markdown_front_matter_nested_too_deeply(tmp_path: Path) -> None:
    source = "---\ntitle: " + "[" * 5000 + "\n---\nText.\n"
    err = extraction_error(write(tmp_path, "tief.md", source.encode()))

    assert str(err).startswith("invalid YAML front matter")


def test_markdown_only_front_matter(tmp_path: Path) -> None:
    err = extraction_error(write(tmp_path, "nur-kopf.md", b"---\ntitle: Nur Kopf\n---\n\n"))

    assert "no text found" in str(err)


# --------------------------------------------------------------------------- DOCX


def make_docx() -> bytes:
    document = docx.Document()
    document.core_properties.title = "Netzwerktreffen Fachkräfte"
    document.core_properties.author = "Industrieinitiative OWL"
    document.core_properties.subject = "Netzwerktreffen 2019"
    document.core_properties.keywords = "Fachkräfte; Ausbildung"
    document.add_heading("Netzwerktreffen Fachkräfte 2019", level=1)
    document.add_paragraph("Am 5. Juni 2019 trafen sich   Ausbilderinnen und Ausbilder.")
    document.add_paragraph("")  # empty paragraphs carry nothing
    document.add_heading("Ergebnisse", level=2)
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "Thema"
    table.cell(0, 1).text = "Beschluss"
    table.cell(1, 0).text = "Ausbildung"
    table.cell(1, 1).text = "Gemeinsame Messe"
    document.add_paragraph("Das nächste Treffen folgt 2020.")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def test_docx_paragraphs_headings_tables_and_properties(tmp_path: Path) -> None:
    result = extract(write(tmp_path, "treffen.docx", make_docx()))

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


def test_docx_without_text(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_paragraph("   ")
    buffer = io.BytesIO()
    document.save(buffer)

    err = extraction_error(write(tmp_path, "leer.docx", buffer.getvalue()))

    assert "no text found" in str(err)


def test_docx_truncated(tmp_path: Path) -> None:
    data = make_docx()
    path = write(tmp_path, "abgeschnitten.docx", data[: len(data) // 2])

    assert "not a valid DOCX" in str(extraction_error(path))


def test_docx_random_bytes(tmp_path: Path) -> None:
    path = write(tmp_path, "zufall.docx", random.Random(3).randbytes(3000))

    assert "not a valid DOCX" in str(extraction_error(path))


def test_docx_zip_without_word_document(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notiz.txt", "kein Word-Dokument")
    path = write(tmp_path, "archiv.docx", buffer.getvalue())

    assert "not a valid DOCX" in str(extraction_error(path))


def test_legacy_doc_renamed_to_docx(tmp_path: Path) -> None:
    path = write(tmp_path, "alt.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)

    assert ".doc" in str(extraction_error(path))


# --------------------------------------------------------------------------- damaged input


@pytest.mark.parametrize("name", ["bericht.pdf", "bericht.docx", "bericht.md"])
def test_randomly_damaged_files_raise_only_extraction_error(name: str) -> None:
    originals = {
        ".pdf": (FIXTURES / "bericht-zwei-seiten.pdf").read_bytes(),
        ".docx": make_docx(),
        ".md": FRONT_MATTER_MD.encode(),
    }
    original = originals[Path(name).suffix]
    rng = random.Random(name)
    for _ in range(40):
        damaged = bytearray(original)
        for _ in range(rng.randint(1, 20)):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        if rng.random() < 0.3:
            damaged = damaged[: rng.randrange(1, len(damaged))]
        try:
            result = extract_bytes(bytes(damaged), name)
        except ExtractionError as err:
            assert str(err) and "\n" not in str(err)
        else:
            assert result.text.strip()


# --------------------------------------------------------------------------- dispatch and limits


@pytest.mark.parametrize("name", ["bericht.doc", "bild.png", "README", "tabelle.xlsx"])
def test_unsupported_suffix(tmp_path: Path, name: str) -> None:
    path = write(tmp_path, name, b"irgendwas")

    assert "unsupported file type" in str(extraction_error(path))


def test_suffix_is_case_insensitive(tmp_path: Path) -> None:
    result = extract(write(tmp_path, "BERICHT.PDF", pdf_bytes(MULTI_PAGE[:1])))

    assert result.format == "pdf"


def test_file_too_large(tmp_path: Path) -> None:
    path = write(tmp_path, "gross.txt", b"x" * 3 * 2**20)

    with pytest.raises(ExtractionError) as info:
        extract(path, max_bytes=2 * 2**20)

    assert str(info.value) == "file too large (3 MB, limit 2 MB)"


def test_extract_bytes_too_large() -> None:
    with pytest.raises(ExtractionError, match="file too large"):
        extract_bytes(b"x" * 2000, "upload.txt", max_bytes=1024)


def test_missing_file(tmp_path: Path) -> None:
    assert str(extraction_error(tmp_path / "fehlt.txt")) == "file not found"


def test_directory_is_not_a_file(tmp_path: Path) -> None:
    folder = tmp_path / "ordner.md"
    folder.mkdir()

    assert str(extraction_error(folder)) == "not a regular file"


def test_extract_and_extract_bytes_agree(tmp_path: Path) -> None:
    data = FRONT_MATTER_MD.encode()

    assert extract(write(tmp_path, "a.md", data)) == extract_bytes(data, "upload/a.md")
