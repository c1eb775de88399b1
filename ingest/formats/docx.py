"""Word documents (.docx): paragraphs, tables and heading styles, core properties.

The archive is checked against the limits (``archive.check_archive``) before
python-docx reads it, so a zip bomb costs neither memory nor time.
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

import docx
from docx.table import Table

from ..errors import ExtractionError
from ..metadata import info_to_metadata
from .archive import check_archive
from .base import Extracted, Limits, normalise_text

_DOCX_HEADING_STYLES = ("heading", "überschrift", "title", "titel")


def extract_docx(data: bytes, limits: Limits) -> Extracted:
    """Text of the body (tables as " | "-joined rows), headings, core properties."""
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise ExtractionError(
            "damaged",
            "not a valid DOCX file (file is damaged or truncated)",
            "keine gültige DOCX-Datei (beschädigt oder abgeschnitten)",
        )
    check_archive(data, limits, "DOCX file", "DOCX-Datei")
    try:
        document = docx.Document(io.BytesIO(data))
        paragraphs, headings = _docx_paragraphs(document)
    except Exception as exc:  # python-docx/lxml raise many types on broken packages
        raise ExtractionError(
            "damaged",
            "not a valid DOCX file (damaged, or not a Word document)",
            "keine gültige DOCX-Datei (beschädigt oder kein Word-Dokument)",
        ) from exc
    text = normalise_text("\n\n".join(paragraphs))
    if not text:
        raise ExtractionError(
            "no_text",
            "no text found (the document has no text paragraphs)",
            "kein Text gefunden (das Dokument hat keine Textabsätze)",
        )
    return Extracted(
        text=text,
        pages=None,
        metadata=_docx_metadata(document),
        format="docx",
        headings=headings,
    )


def _docx_paragraphs(document: Any) -> tuple[list[str], list[str]]:
    paragraphs: list[str] = []
    headings: list[str] = []
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            rows = [_docx_row_text(row) for row in block.rows]
            table_text = "\n".join(row for row in rows if row)
            if table_text:
                paragraphs.append(table_text)
            continue
        text = "\n".join(" ".join(line.split()) for line in block.text.split("\n")).strip()
        if not text:
            continue
        paragraphs.append(text)
        style_name = (block.style.name if block.style is not None else "") or ""
        if style_name.lower().startswith(_DOCX_HEADING_STYLES):
            headings.append(" ".join(text.split()))
    return paragraphs, headings


def _docx_row_text(row: Any) -> str:
    cells: list[str] = []
    seen: set[int] = set()
    for cell in row.cells:
        # Merged cells are reported once per grid column; keep each one once.
        if id(cell._tc) in seen:
            continue
        seen.add(id(cell._tc))
        text = " ".join(cell.text.split())
        if text:
            cells.append(text)
    return " | ".join(cells)


def _docx_metadata(document: Any) -> dict[str, Any]:
    try:
        props = document.core_properties
        info = {
            "title": props.title,
            "organiser": props.author,
            "event": props.subject,
            "keywords": props.keywords,
            "language": props.language,
        }
    except Exception:  # malformed core.xml: the text is still usable
        return {}
    return info_to_metadata(info)
