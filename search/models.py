"""Plain data records shared by ingestion, the knowledge base and the adapters."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from .errors import InvalidDocument

#: Metadata fields a report may carry (front matter, PDF info, curator edits).
METADATA_FIELDS = (
    "title",
    "date",
    "event",
    "location",
    "organiser",
    "topics",
    "language",
    "source_url",
)


@dataclass
class Chunk:
    """A passage of a document: what gets embedded and lexically indexed."""

    text: str
    position: int  # 0-based order within the document
    page: int | None = None  # 1-based PDF page where the passage starts; None for text


@dataclass
class NewDocument:
    """A document ready to be written into the knowledge base."""

    source: str  # stable key: path relative to the ingest root (posix), or an upload name
    sha256: str  # of the raw file bytes; unchanged files are skipped on re-ingest
    text: str  # full text, paragraphs separated by blank lines
    chunks: list[Chunk]
    title: str
    date: str | None = None  # ISO date, YYYY-MM-DD (or YYYY-MM / YYYY when less is known)
    event: str | None = None
    location: str | None = None
    organiser: str | None = None
    topics: list[str] = field(default_factory=list)
    language: str | None = None
    source_url: str | None = None
    pages: int | None = None  # page count for PDFs
    doc_id: str | None = None  # optional explicit id (front matter ``id``)


@dataclass
class Written:
    """What writing one document did.

    ``status``: "added", "updated", "unchanged" or "duplicate" (the same file as
    ``duplicate_of``, recorded as a further source of it). ``near_duplicates`` names
    reports with almost the same text (the same report as PDF and as DOCX, say).
    """

    doc_id: str
    status: str
    duplicate_of: str | None = None
    near_duplicates: list[str] = field(default_factory=list)


_ISO_DATE = re.compile(r"^\d{4}(?:-\d{2}(?:-\d{2})?)?$")
#: longest text of a metadata field (a title, an event, ...) and most topics
MAX_FIELD_CHARS = 500
MAX_TOPICS = 50


def check_metadata(values: dict) -> dict:
    """Metadata fields to change, checked and normalised; InvalidDocument names the field.

    Known fields only; text values (white space folded; empty means "none", except for
    the title); topics a list of texts; dates ISO (``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``).
    """
    out: dict = {}
    for key, value in values.items():
        if key not in METADATA_FIELDS:
            raise InvalidDocument(f"unknown field {key!r}", code="unknown_field")
        if key == "topics":
            if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
                raise InvalidDocument("topics must be a list of texts", code="invalid_field")
            topics = list(dict.fromkeys(" ".join(t.split()) for t in value if t.strip()))
            if len(topics) > MAX_TOPICS or any(len(t) > MAX_FIELD_CHARS for t in topics):
                raise InvalidDocument("too many or too long topics", code="invalid_field")
            out[key] = topics
            continue
        if value is not None and not isinstance(value, str):
            raise InvalidDocument(f"{key} must be text", code="invalid_field")
        text = " ".join((value or "").split()) or None
        if text is not None and len(text) > MAX_FIELD_CHARS:
            raise InvalidDocument(f"{key} is too long", code="invalid_field")
        if key == "title" and text is None:
            raise InvalidDocument("title must not be empty", code="invalid_field")
        if key == "date" and text is not None:
            if not _ISO_DATE.match(text) or not _valid_date(text):
                raise InvalidDocument(
                    "date must be YYYY, YYYY-MM or YYYY-MM-DD", code="invalid_field"
                )
        out[key] = text
    return out


def _valid_date(text: str) -> bool:
    parts = [int(p) for p in text.split("-")]
    try:
        dt.date(parts[0], parts[1] if len(parts) > 1 else 1, parts[2] if len(parts) > 2 else 1)
    except ValueError:
        return False
    return True
