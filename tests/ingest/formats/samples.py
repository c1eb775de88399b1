"""Sample files for the format tests: PDFs built with fpdf2, a DOCX, Markdown.

Tests see a file as the registry does: its bytes and its name.
"""

from __future__ import annotations

import datetime as dt
import io
import struct
import zipfile
import zlib
from pathlib import Path

import docx
import pytest
from fpdf import FPDF
from pypdf import PdfReader, PdfWriter

from ingest.formats import Extracted, ExtractionError, Limits, extract_bytes
from search.settings import Settings

#: the limits of the default settings
LIMITS = Limits.from_settings(Settings(index=Path("unused"), embedder="fake"))

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
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


def sample(name: str, data: bytes) -> tuple[bytes, str]:
    """A file as the registry sees it: (bytes, name)."""
    return data, name


def fixture(name: str) -> tuple[bytes, str]:
    """A committed fixture file as (bytes, name)."""
    return (FIXTURES / name).read_bytes(), name


def extract_sample(file: tuple[bytes, str]) -> Extracted:
    """Extract a sample through the registry's entry point."""
    return extract_bytes(*file, LIMITS)


def extraction_error(file: tuple[bytes, str]) -> ExtractionError:
    """Extract a sample and return the ExtractionError it must raise."""
    with pytest.raises(ExtractionError) as info:
        extract_bytes(*file, LIMITS)
    err = info.value
    assert type(err) is ExtractionError
    message = str(err)
    # One clear sentence, never a traceback or a library repr.
    assert message and "\n" not in message and "Traceback" not in message
    assert err.german and "\n" not in err.german
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


def _relabel_member(data: bytearray, local: int, central: int, **fields: int) -> None:
    """Overwrite fields of one member's local and central header in a ZIP (in place)."""
    # (offset in the local header, in the central header, struct format)
    layout = {"method": (8, 10, "<H"), "crc": (14, 16, "<I"), "size": (22, 24, "<I")}
    for name, value in fields.items():
        at_local, at_central, fmt = layout[name]
        struct.pack_into(fmt, data, local + at_local, value)
        struct.pack_into(fmt, data, central + at_central, value)


def docx_with_document(stream: bytes, **fields: int) -> bytes:
    """``make_docx()`` with word/document.xml replaced by ``stream``, stored, headers patched.

    The member is written last, so its central-directory entry is the last one.
    """
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(make_docx())) as source,
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for item in source.infolist():
            if item.filename != "word/document.xml":
                target.writestr(item.filename, source.read(item))
        member = zipfile.ZipInfo("word/document.xml")
        target.writestr(member, stream, compress_type=zipfile.ZIP_STORED)
    data = bytearray(buffer.getvalue())
    _relabel_member(data, member.header_offset, data.rindex(b"PK\x01\x02"), **fields)
    return bytes(data)


def deflated_zeros(mib: int) -> tuple[bytes, int]:
    """A raw deflate stream of ``mib`` MiB of zeros and their CRC-32, in milliseconds.

    One MiB of zeros is deflated with a full flush, which makes every further MiB
    compress to the same bytes, so no GiB is ever compressed.
    """
    block = bytes(2**20)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    piece = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(mib):
        crc = zlib.crc32(block, crc)
    return piece * mib + compressor.flush(zlib.Z_FINISH), crc


def zip_bomb_docx(mib: int = 1024) -> bytes:
    """A DOCX whose word/document.xml unpacks to ``mib`` MiB of zeros (1 GiB: a 1 MB file)."""
    stream, crc = deflated_zeros(mib)
    return docx_with_document(stream, method=zipfile.ZIP_DEFLATED, crc=crc, size=mib * 2**20)


def many_members_docx(count: int) -> bytes:
    """``make_docx()`` plus ``count`` empty members."""
    buffer = io.BytesIO(make_docx())
    with zipfile.ZipFile(buffer, "a") as archive:
        for index in range(count):
            archive.writestr(f"customXml/leer{index}.xml", b"")
    return buffer.getvalue()


def aes_pdf(user_password: str) -> bytes:
    """A report encrypted by pypdf with AES-256 (needs the cryptography package to read)."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_bytes(MULTI_PAGE[:1]))))
    writer.encrypt(user_password=user_password, owner_password="geheim", algorithm="AES-256")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()
