"""What a search answers: the response records and how hits are built from a ranking."""

from __future__ import annotations

import heapq
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from itertools import chain
from operator import itemgetter
from urllib.parse import quote

import numpy as np

from .analyze import Analyzer
from .facets import FacetTable
from .ranking import RankedDoc
from .snippet import make_snippet
from .store import ChunkRow
from .text import sentence_spans

_WORD = re.compile(r"\w+(?:[-\u2010\u2011]\w+)*")


@dataclass
class Mark:
    """A range of a snippet to mark: ``term`` where query words (or their compound parts)
    occur, ``semantic`` for the sentence closest in meaning to the query (a query in
    another language, or a match without shared words)."""

    start: int
    end: int
    kind: str


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
    matched_terms: list[str] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)
    passage: int = 0  # position of the snippet's passage in the report (0-based)
    file_url: str | None = None


@dataclass
class FacetValue:
    """One value of a facet and how many matching reports have it."""

    value: str
    count: int


_HIT_FIELDS = fields(SearchHit)

#: the facets counted over the matching reports, in this order
FACETS = ("topics", "years", "organisers", "events", "formats")


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
    """What a search returns; ``to_dict`` is the exact JSON of the HTTP API.

    ``total`` counts the matching reports (see ``search.relevance``), ``facets`` counts
    values over all of them, not only the page in ``results``.
    """

    query: str
    total: int
    took_ms: float
    results: list[SearchHit] = field(default_factory=list)
    k: int = 10
    offset: int = 0
    sort: str = "relevance"
    facets: dict[str, list[FacetValue]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-ready form shared by the HTTP API and ``kb search --json``.

        Built field by field: ``dataclasses.asdict`` deep-copies every value and took a
        millisecond per answer, as long as the rest of the HTTP layer together.
        """
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["results"] = [_hit_dict(hit) for hit in self.results]
        data["facets"] = {
            name: [{"value": v.value, "count": v.count} for v in values]
            for name, values in self.facets.items()
        }
        return data


def _hit_dict(hit: SearchHit) -> dict:
    data = {f.name: getattr(hit, f.name) for f in _HIT_FIELDS}
    data["highlights"] = [[a, b] for a, b in hit.highlights]
    data["topics"] = list(hit.topics)
    data["matched_terms"] = list(hit.matched_terms)
    data["marks"] = [{"start": m.start, "end": m.end, "kind": m.kind} for m in hit.marks]
    return data


def count_facets(metas: list[dict], limit: int | None = None) -> dict[str, list[FacetValue]]:
    """Facet values of these reports, most frequent first (ties by value); with ``limit``
    only that many per facet."""
    if limit == 0:
        return {name: [] for name in FACETS}
    # map and itemgetter run in C: a search counts the facets of some 400 reports
    dates = [d[:4] for d in map(itemgetter("date"), metas) if d]
    counts = {
        # a topic listed twice in one report counts once
        "topics": Counter(
            chain.from_iterable(map(dict.fromkeys, map(itemgetter("topics"), metas)))
        ),
        "years": Counter(dates),
        "organisers": Counter(map(itemgetter("organiser"), metas)),
        "events": Counter(map(itemgetter("event"), metas)),
        "formats": Counter(map(itemgetter("format"), metas)),
    }
    out = {}
    for name in FACETS:
        counted = counts[name]
        counted.pop("", None)
        counted.pop(None, None)
        # the most frequent first; only the values kept are sorted by value
        best = heapq.nsmallest(limit, counted.items(), key=_by_count) if limit else None
        ranked = best if best is not None else sorted(counted.items(), key=_by_count)
        out[name] = [FacetValue(v, c) for v, c in ranked]
    return out


def _by_count(item: tuple[str, int]) -> tuple[int, str]:
    return -item[1], item[0]


def facets_of(
    doc_ids: list[str],
    read_metas: Callable[[list[str]], dict[str, dict]],
    table: FacetTable,
    limit: int | None,
) -> dict[str, list[FacetValue]]:
    """``count_facets`` of these reports, counted by ``table`` (``search.facets``: the
    same answer in a third of the time, reading only the metadata of reports new to it)
    unless it is full."""
    if limit == 0:
        return {name: [] for name in FACETS}
    counted = table.count(doc_ids, read_metas, limit)
    if counted is None:
        metas = read_metas(doc_ids)
        return count_facets([metas[d] for d in doc_ids], limit)
    return {name: [FacetValue(v, c) for v, c in counted[name]] for name in FACETS}


class QueryMarks:
    """Where a query's words occur in passages: its terms, and per query word the terms
    that stand for it (a word counts as matched when the passage has any of them)."""

    def __init__(self, query: str, analyzer: Analyzer) -> None:
        self.analyzer = analyzer
        self.words = [
            (m.group(), set(analyzer.query_terms(m.group()))) for m in _WORD.finditer(query)
        ]
        self.wanted = set(analyzer.query_terms(query))
        self.asked = self.wanted.union(*(terms for _, terms in self.words))

    def of(self, text: str) -> tuple[list[tuple[int, int]], list[str]]:
        """The spans of ``text`` to mark and the query words it has, in query order."""
        spans, present = self.analyzer.marked(text, self.wanted, self.asked)
        return spans, list(dict.fromkeys(w for w, terms in self.words if terms & present))


def build_hits(
    page: list[RankedDoc],
    chunks: dict[int, ChunkRow],
    metas: dict[str, dict],
    marked: dict[int, tuple[list[tuple[int, int]], list[str]]],
    sentences: dict[int, np.ndarray],
    qvec: np.ndarray | None,
    snippet_chars: int,
) -> list[SearchHit]:
    """One hit per ranked document: its metadata, the snippet of its best passage with
    the query words marked (``marked``: ``QueryMarks.of`` each passage) and, where none
    occurs, its best sentence marked (by the stored sentence vectors in ``sentences``),
    and the query words the passage has."""
    hits = []
    for r in page:
        chunk = chunks[r.chunk_id]
        meta = metas[r.doc_id]
        spans, matched = marked[chunk.id]
        focus = None
        if not spans and qvec is not None:
            focus = _best_sentence(chunk.text, sentences.get(chunk.id), qvec)
        snip = make_snippet(chunk.text, spans, snippet_chars, focus)
        marks = [Mark(a, b, "term") for a, b in snip.highlights]
        clipped = snip.clip(focus) if focus is not None and not marks else None
        if clipped is not None:
            marks.append(Mark(*clipped, "semantic"))
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
                matched_terms=matched,
                marks=marks,
                passage=chunk.position,
                file_url=file_url(r.doc_id, bool(meta["original"]), meta["format"], chunk.page),
            )
        )
    return hits


def _best_sentence(
    text: str, vectors: np.ndarray | None, qvec: np.ndarray
) -> tuple[int, int] | None:
    """The span of the passage's sentence closest to the query vector; None when the
    stored sentence vectors do not fit the passage's sentences."""
    spans = list(sentence_spans(text, 0, len(text)))
    if vectors is None or len(vectors) != len(spans) or not spans:
        return None
    return spans[int(np.argmax(vectors @ qvec))]
