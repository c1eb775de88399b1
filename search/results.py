"""What a search answers: the response records and how hits are built from a ranking."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from urllib.parse import quote

from .analyze import Analyzer
from .ranking import RankedDoc
from .snippet import make_snippet
from .store import ChunkRow


@dataclass
class SearchHit:
    """One report in a result list, with its best passage."""

    id: str
    title: str
    snippet: str
    highlights: list[tuple[int, int]]
    score: float
    date: str | None
    event: str | None
    location: str | None
    organiser: str | None
    topics: list[str]
    source: str
    source_url: str | None
    page: int | None
    format: str | None
    file_url: str | None = None


#: where the HTTP API serves a report's original file; a search hit links to it, so
#: ``kb search --json`` and the API answer alike
FILE_PATH = "/api/v1/documents/{id}/file"


def file_url(
    doc_id: str, kept: bool, fmt: str | None = None, page: int | None = None
) -> str | None:
    """The link to a report's original file (None when none is kept); for a PDF with the
    page of the passage as ``#page=N``, which browsers' PDF viewers open at."""
    if not kept:
        return None
    url = FILE_PATH.format(id=quote(doc_id, safe=""))
    return f"{url}#page={page}" if fmt == "pdf" and page else url


@dataclass
class SearchResponse:
    """What a search returns; ``to_dict`` is the exact JSON of the HTTP API."""

    query: str
    total: int
    took_ms: float
    results: list[SearchHit] = field(default_factory=list)
    k: int = 10
    offset: int = 0

    def to_dict(self) -> dict:
        """JSON-ready form shared by the HTTP API and ``kb search --json``."""
        data = asdict(self)
        for hit in data["results"]:
            hit["highlights"] = [list(h) for h in hit["highlights"]]
        return data


def build_hits(
    page: list[RankedDoc],
    chunks: dict[int, ChunkRow],
    metas: dict[str, dict],
    query: str,
    analyzer: Analyzer,
    snippet_chars: int,
) -> list[SearchHit]:
    """One hit per ranked document: its metadata and the snippet of its best passage."""
    hits = []
    for r in page:
        chunk = chunks[r.chunk_id]
        meta = metas[r.doc_id]
        spans = analyzer.match_spans(chunk.text, query)
        snip = make_snippet(chunk.text, spans, snippet_chars)
        hits.append(
            SearchHit(
                id=r.doc_id,
                title=meta["title"],
                snippet=snip.text,
                highlights=snip.highlights,
                score=round(float(r.score), 6),
                date=meta["date"],
                event=meta["event"],
                location=meta["location"],
                organiser=meta["organiser"],
                topics=meta["topics"],
                source=meta["source"],
                source_url=meta["source_url"],
                page=chunk.page,
                format=meta["format"],
                file_url=file_url(r.doc_id, bool(meta["original"]), meta["format"], chunk.page),
            )
        )
    return hits
