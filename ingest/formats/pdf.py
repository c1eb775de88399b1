"""PDF (.pdf): pages of text through pypdf, then ``pdf_layout`` for paragraphs.

Encrypted PDFs that open with the empty password (RC4 or AES; AES needs the
``cryptography`` package, a dependency) are read; password-protected ones are
rejected. A page that cannot be read costs only that page.
"""

from __future__ import annotations

import io
import math
from typing import Any

from pypdf import PasswordType, PdfReader
from pypdf.errors import DependencyError

from ..errors import ExtractionError
from ..metadata import info_to_metadata
from .base import Extracted, Limits
from .pdf_layout import PdfLine, clean_pdf_pages


def _damaged(detail: str, detail_de: str) -> ExtractionError:
    return ExtractionError(
        "damaged", f"not a valid PDF ({detail})", f"keine gültige PDF-Datei ({detail_de})"
    )


def _no_text(detail: str, detail_de: str) -> ExtractionError:
    return ExtractionError(
        "no_text", f"no text found ({detail})", f"kein Text gefunden ({detail_de})"
    )


def extract_pdf(data: bytes, limits: Limits) -> Extracted:
    """Text per page (``Extracted.pages``) and the document info as metadata."""
    if b"%PDF-" not in data[:1024]:
        raise _damaged("no PDF header; is it really a PDF?", "kein PDF-Kopf; ist es wirklich PDF?")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            _decrypt(reader)
        page_count = len(reader.pages)
    except ExtractionError:
        raise
    except DependencyError as exc:  # AES without the cryptography package
        raise _missing_crypto() from exc
    except Exception as exc:  # pypdf raises many exception types on corrupt files
        raise _damaged("file is damaged or truncated", "beschädigt oder abgeschnitten") from exc
    if page_count == 0:
        raise _no_text("PDF has no pages", "PDF hat keine Seiten")

    raw_pages: list[list[PdfLine]] = []
    failed = 0
    for index in range(page_count):
        try:
            raw_pages.append(_pdf_page_lines(reader.pages[index]))
        except Exception:  # one broken page should not cost the rest of the report
            failed += 1
            raw_pages.append([])
    if failed == page_count:
        raise _damaged("page content could not be read", "Seiteninhalt nicht lesbar")

    pages = clean_pdf_pages(raw_pages)
    text = "\n\n".join(page for page in pages if page)
    if not text:
        raise _no_text("scanned PDF without text layer?", "gescanntes PDF ohne Textebene?")
    return Extracted(text=text, pages=pages, metadata=_pdf_metadata(reader), format="pdf")


def _missing_crypto() -> ExtractionError:
    return ExtractionError(
        "encrypted",
        "PDF is encrypted (AES) and the 'cryptography' package is not installed",
        "PDF ist verschlüsselt (AES) und das Paket 'cryptography' ist nicht installiert",
    )


def _decrypt(reader: PdfReader) -> None:
    try:
        result = reader.decrypt("")
    except DependencyError as exc:
        raise _missing_crypto() from exc
    except Exception as exc:
        raise ExtractionError(
            "encrypted",
            "PDF is encrypted and could not be decrypted",
            "PDF ist verschlüsselt und ließ sich nicht entschlüsseln",
        ) from exc
    if result == PasswordType.NOT_DECRYPTED:
        raise ExtractionError(
            "encrypted",
            "PDF is password-protected (cannot be opened without password)",
            "PDF ist kennwortgeschützt (ohne Kennwort nicht zu öffnen)",
        )


def _pdf_metadata(reader: PdfReader) -> dict[str, Any]:
    info: dict[str, Any] = {}
    try:
        meta = reader.metadata
        if meta is not None:
            info = {
                "title": meta.title,
                "organiser": meta.author,
                "event": meta.subject,
                "keywords": _resolve(meta.get("/Keywords")),
            }
        info["language"] = _resolve(reader.root_object.get("/Lang"))
    except Exception:  # a broken info dictionary must not block the text
        pass
    return info_to_metadata(info)


def _resolve(value: Any) -> Any:
    # Raw dictionary entries may be indirect references to the actual string.
    return value.get_object() if hasattr(value, "get_object") else value


def _pdf_page_lines(page: Any) -> list[PdfLine]:
    """Text lines of a page in pypdf's reading order, with position and font size."""
    fragments: list[tuple[str, float, float]] = []

    def visit(text: str, cm: list[float], tm: list[float], _font: Any, font_size: float) -> None:
        # Baseline y: the text matrix applied to the current transformation matrix.
        y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
        scale = math.hypot(tm[2], tm[3]) * math.hypot(cm[2], cm[3])
        fragments.append((text, y, abs(font_size * scale) or abs(font_size)))

    raw = page.extract_text(visitor_text=visit)
    if "".join(text for text, _, _ in fragments) != raw:
        # Positions cannot be matched to output lines; fall back to text-only heuristics.
        return [PdfLine(line) for line in raw.split("\n")]
    lines = [PdfLine("")]
    for text, y, size in fragments:
        for index, part in enumerate(text.split("\n")):
            if index:
                lines.append(PdfLine(""))
            if part:
                line = lines[-1]
                line.text += part
                if line.y is None and part.strip():
                    line.y, line.size = y, size
    return lines
