"""Plain data records shared by ingestion, the knowledge base and the adapters."""

from __future__ import annotations

from dataclasses import dataclass, field

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
