"""Real report files for the curation tests, made here: PDFs (fpdf2, pypdf) and DOCX
(python-docx)."""

from __future__ import annotations

import io

import docx
from fpdf import FPDF
from pypdf import PdfReader, PdfWriter

from tests.ingest.formats.samples import make_pdf

TOPICS = [
    "Wasserstoff und Elektrolyse in der Region",
    "Fachkräfte für die Industrie gewinnen",
    "Kreislaufwirtschaft im Mittelstand",
    "Digitalisierung der Produktion",
    "Energiepreise und Standortpolitik",
    "Ausbildung und duale Studiengänge",
    "Gewerbeflächen und Verkehr",
    "Klimaschutz in Industriebetrieben",
    "Netzwerke regionaler Unternehmen",
    "Forschung und Transfer",
]


def paragraph(title: str, number: int) -> str:
    """A German paragraph about ``title`` (distinct per number)."""
    return (
        f"Im Abschnitt {number} ging es um {title}. Vertreterinnen und Vertreter aus "
        f"Unternehmen, Kammern und Hochschulen berichteten über ihre Erfahrungen, nannten "
        f"Hindernisse und verabredeten nächste Schritte für das Jahr {2020 + number % 5}. "
        f"Besonders gelobt wurde die Zusammenarbeit der Betriebe bei {title.lower()}."
    )


def report_pdf(title: str = "Wasserstofftag Emsland", pages: int = 2, marker: str = "") -> bytes:
    """A text PDF of ``pages`` pages, a heading and two paragraphs on each; ``marker`` is a
    word placed on the last page (to find it by search)."""
    blocks = []
    for number in range(pages):
        topic = TOPICS[number % len(TOPICS)]
        page = [("h", f"{title}: {topic}"), ("p", paragraph(topic, number))]
        page.append(("p", paragraph(TOPICS[(number + 3) % len(TOPICS)], number + 11)))
        if marker and number == pages - 1:
            page.append(("p", f"Stichwort für die Suche: {marker}."))
        blocks.append(page)
    return bytes(make_pdf(blocks, title=title).output())


def report_docx(title: str = "Netzwerktreffen Fachkräfte", marker: str = "") -> bytes:
    """A Word report with a heading and three paragraphs."""
    document = docx.Document()
    document.core_properties.title = title
    document.add_heading(title, level=1)
    for number, topic in enumerate(TOPICS[:3]):
        document.add_paragraph(paragraph(topic, number))
    if marker:
        document.add_paragraph(f"Stichwort für die Suche: {marker}.")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def scanned_pdf() -> bytes:
    """A PDF like a scan: pages with drawings and no text layer."""
    pdf = FPDF(format="A4")
    for _ in range(2):
        pdf.add_page()
        pdf.set_fill_color(90, 90, 90)
        for row in range(20):
            pdf.rect(20, 20 + row * 12, 170, 6, style="F")
    return bytes(pdf.output())


def encrypted_pdf() -> bytes:
    """A report PDF that opens only with a password."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(report_pdf(pages=1))))
    writer.encrypt(user_password="geheim", owner_password="geheimer", algorithm="AES-256")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()
