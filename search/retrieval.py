"""The retrievers a ranking draws on, each with one entry point, and the evidence they
gather for one query.

* ``dense``   — passages nearest to the query vector;
* ``fields``  — sentences, document centroids and metadata vectors nearest to it;
* ``lexical`` — passages by BM25 over the analysed terms (``search.lexical``), plus the
  IDF-weighted term coverage of every candidate for the hybrid ranking; from the
  in-memory postings when the view has them (``search.postings``, same scores), else
  from FTS5.

``rank`` runs them, fuses the evidence (``search.ranking``) and, for topic queries,
scores the same candidates again with a query vector expanded by the best documents.

All of them read one ``View``: the store inside a read transaction and the vector mirror
held at that transaction's generation, so every id they return resolves.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from . import lexical as lexical_index
from .filters import Filters
from .mirror import VectorMirror
from .postings import Postings, usable_term
from .ranking import (
    Evidence,
    FusionWeights,
    QueryKind,
    RankedDoc,
    Ranking,
    expand_query,
    rank_documents,
)
from .store import Store

#: (id, score) pairs of one retriever, best first
Scored = list[tuple[int, float]]

#: sentences outnumber passages several times; centroids and metadata are few
FIELD_FACTOR = 4


@dataclass(frozen=True)
class View:
    """A consistent state to read: the store in a read transaction, the mirror at its
    generation."""

    store: Store
    mirror: VectorMirror
    generation: int
    #: the passages' terms in memory at this generation, if current (else FTS5 answers)
    postings: Postings | None = None


@dataclass(frozen=True)
class Scope:
    """The documents a filter admits, as each retriever needs them: a SQL condition on
    ``documents d`` for the lexical search; for the vector searches, the allowed ids when
    the filter admits few documents (FAISS checks them while searching, so a rare filter
    still finds its n best), else the admitted documents, whose hits a deeper unfiltered
    search keeps (cheaper than a long id list at every search)."""

    where: tuple[str, list]
    docs: frozenset[str]
    share: float  # of all documents admitted
    chunks: np.ndarray | None = None
    fields: np.ndarray | None = None


#: a filter admitting at most this share of the documents passes allowed ids to FAISS
FEW = 0.2
#: up to this many documents their ids come from SQLite (0.5 us a row, about 25 rows a
#: document), beyond from the mirror's owner arrays (about 1 ms at 660,000 field
#: vectors, whatever the filter admits: 30 -> 3 ms for one year of 29,000 reports)
FEW_DOCS = 64


def scope(view: View, filters: Filters) -> Scope | None:
    """The scope of ``filters`` in this view; None when nothing filters."""
    if not filters:
        return None
    where = filters.sql()
    docs, total = view.store.admitted(*where)
    share = len(docs) / total if total else 0.0
    if share > FEW:
        return Scope(where, docs, share)
    if len(docs) <= FEW_DOCS:  # SQLite reads their rows by index
        chunks, field_ids = view.store.allowed(docs)
    else:  # a pass over the owner arrays in memory costs less than reading the rows
        owners = view.mirror.owners
        chunks, field_ids = owners["passages"].ids_of(docs), owners["fields"].ids_of(docs)
    return Scope(where, docs, share, chunks, field_ids)


def _vectors(view: View, space: str, qvec: np.ndarray, n: int, within: Scope | None) -> Scored:
    if within is None or within.chunks is not None:
        allow = (
            None if within is None else (within.chunks if space == "passages" else within.fields)
        )
        ids, scores = view.mirror.search(space, qvec, n, allow)
        return list(zip(ids.tolist(), scores.tolist(), strict=True))
    # a broad filter: search deeper without it, keep the hits of admitted documents
    ids, scores = view.mirror.search(space, qvec, int(n / within.share) + 1)
    return _admitted(view, space, list(zip(ids.tolist(), scores.tolist(), strict=True)), within)[:n]


def _admitted(view: View, space: str, hits: Scored, within: Scope) -> Scored:
    """The hits whose owning document ``within`` admits, in order."""
    owners = view.mirror.owners[space].docs([i for i, _ in hits])
    return [(i, s) for i, s in hits if owners.get(i) in within.docs]


def dense(view: View, qvec: np.ndarray, n: int, within: Scope | None = None) -> Scored:
    """The n passages nearest to the query vector (of the admitted documents)."""
    return _vectors(view, "passages", qvec, n, within)


def fields(view: View, qvec: np.ndarray, n: int, within: Scope | None = None) -> Scored:
    """The field vectors (sentences, centroids, metadata) nearest to the query vector."""
    return _vectors(view, "fields", qvec, FIELD_FACTOR * n, within)


def postings_for(view: View, terms: Sequence[str]) -> Postings | None:
    """The view's in-memory postings if they can answer for ``terms`` (FTS5 reads a term
    with other characters than ASCII letters and digits as a phrase)."""
    if view.postings is None or not all(map(usable_term, terms)):
        return None
    return view.postings


def lexical(
    view: View,
    terms: list[str],
    n: int,
    within: Scope | None = None,
    df: Mapping[str, int] | None = None,
    conn: sqlite3.Connection | None = None,
) -> Scored:
    """The n passages with the best BM25 for the query terms; given the terms' document
    frequencies ``df``, only passages that hold a term that is not common, and none if
    every term is common (``search.lexical.distinctive``). ``conn``: the connection of the view's
    read transaction when called from another thread (default: this thread's)."""
    if not terms:
        return []
    conn = conn or view.store.conn
    postings = postings_for(view, terms)
    rare = None
    if df is not None:
        n_chunks = postings.n if postings is not None else view.store.chunk_count(conn)
        rare = lexical_index.distinctive(terms, df, n_chunks)
    if within is None or within.chunks is not None:
        if postings is not None:
            return postings.search(terms, n, rare, None if within is None else within.chunks)
        where = None if within is None else within.where
        return lexical_index.search(conn, terms, n, where, rare)
    # a broad filter, as for the vectors: deeper without it, keep admitted documents
    deeper = int(n / within.share) + 1
    if postings is not None:
        hits = postings.search(terms, deeper, rare)
    else:
        hits = lexical_index.search(conn, terms, deeper, None, rare)
    return _admitted(view, "passages", hits, within)[:n]


def candidate_terms(
    words: Sequence[tuple[str, tuple[str, ...]]], df: Mapping[str, int]
) -> list[str]:
    """The terms the BM25 candidate search looks for: every word's whole term, and the
    compound parts of a word only where no passage holds the whole word (``df``: the
    document frequencies of the query terms).

    A known compound finds its passages by itself, also inside longer compounds (their
    parts are indexed). Its parts are common words ("werk" of "Netzwerk" is in a third
    of the passages of a news corpus) and made FTS5 score half the corpus: 21-29 ms of a
    search at 100,000 passages. They still count in every candidate's coverage.
    """
    out = [whole for whole, _ in words]
    for whole, parts in words:
        if not df.get(whole):
            out.extend(parts)
    return list(dict.fromkeys(out))


@dataclass
class Candidates:
    """What the first stage found, kept so that the second stage can score the same
    candidates against another vector without reading the store: the passage and field
    hits and their owners, and the field id of each document's centroid seen."""

    passage_ids: list[int] = field(default_factory=list)
    field_ids: list[int] = field(default_factory=list)
    chunk_docs: dict[int, str] = field(default_factory=dict)
    field_owners: dict[int, tuple[str, int | None, str]] = field(default_factory=dict)
    centroids: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class LexicalHits:
    """The BM25 candidates of a query and its terms' document frequencies (None when the
    query's words were not given)."""

    hits: Scored
    df: dict[str, int] | None


def lexical_candidates(
    view: View,
    terms: list[str],
    n: int,
    ranking: Ranking,
    within: Scope | None = None,
    words: Sequence[tuple[str, tuple[str, ...]]] | None = None,
    conn: sqlite3.Connection | None = None,
) -> LexicalHits:
    """The lexical retriever's part of ``collect``. It reads only SQLite, through
    ``conn`` (the view's read transaction, default this thread's), so it can run on a
    helper thread while the query is embedded and the vectors searched
    (``KnowledgeBase.search``); the caller must not use ``conn`` meanwhile."""
    conn = conn or view.store.conn
    # given the query's words: one frequency lookup for the BM25 terms and the coverage
    df = None
    if words:
        postings = postings_for(view, terms)
        if postings is not None:
            df = postings.document_frequencies(terms)
        else:
            df = lexical_index.document_frequencies(conn, terms)
    # hybrid: BM25 only proposes candidates, so passages with only common words are left
    # out; the lexical ranking is BM25 itself and stays exact
    hits = lexical(
        view,
        candidate_terms(words, df) if words else terms,
        n,
        within,
        df if ranking is Ranking.HYBRID else None,
        conn,
    )
    return LexicalHits(hits, df)


def collect(
    view: View,
    qvec: np.ndarray | None,
    terms: list[str],
    n: int,
    ranking: Ranking,
    weights: FusionWeights,
    within: Scope | None = None,
    words: Sequence[tuple[str, tuple[str, ...]]] | None = None,
    lexical_hits: Callable[[], LexicalHits] | None = None,
) -> tuple[Evidence, Candidates]:
    """Run the retrievers ``ranking`` needs and resolve their hits to documents;
    ``lexical_hits`` gives the lexical part if it was started elsewhere (a future's
    ``result``), else it runs here after the vector searches."""
    seen = Candidates()
    passages: Scored = []
    field_hits: Scored = []
    if qvec is not None:
        passages = dense(view, qvec, n, within)
        if weights.sentence or weights.document or weights.metadata:
            field_hits = fields(view, qvec, n, within)
    if lexical_hits is not None:
        found = lexical_hits()
    else:
        found = lexical_candidates(view, terms, n, ranking, within, words)
    lex, df = found.hits, found.df
    # owners come from the mirror, held at this read's generation: no store reads
    seen.chunk_docs = view.mirror.owners["passages"].docs(
        [c for c, _ in passages] + [c for c, _ in lex]
    )
    seen.field_owners = view.mirror.owners["fields"].fields([f for f, _ in field_hits])
    seen.passage_ids = [c for c, _ in passages if c in seen.chunk_docs]
    seen.field_ids = [f for f, _ in field_hits if f in seen.field_owners]
    ev = _dense_evidence(passages, field_hits, seen)
    ev.lexical = [(c, seen.chunk_docs[c], s) for c, s in lex if c in seen.chunk_docs]
    if ranking is Ranking.HYBRID and terms and (weights.lexical > 0 or weights.topic_lexical > 0):
        candidates = {c for c, _, _ in ev.passages} | {c for c, _, _ in ev.lexical}
        candidates |= {c for c, _, _ in ev.sentences}
        postings = postings_for(view, terms)
        if postings is not None and df is not None:
            ev.coverage = postings.coverage(terms, candidates, df)
        else:
            ev.coverage = lexical_index.coverage(
                view.store.conn, terms, candidates, view.store.chunk_count(), df
            )
    return ev, seen


def _dense_evidence(passages: Scored, field_hits: Scored, seen: Candidates) -> Evidence:
    """Evidence from scored passage and field ids whose owners ``seen`` knows."""
    ev = Evidence()
    ev.passages = [(c, seen.chunk_docs[c], s) for c, s in passages if c in seen.chunk_docs]
    sentences, documents, metadata = [], {}, {}
    for f, s in field_hits:
        if f not in seen.field_owners:
            continue
        kind, chunk_id, doc_id = seen.field_owners[f]
        if kind == "sentence":
            sentences.append((chunk_id, doc_id, s))
        elif kind == "document":
            documents[doc_id] = max(s, documents.get(doc_id, -1.0))
            seen.centroids[doc_id] = f
        elif kind == "metadata":
            metadata[doc_id] = max(s, metadata.get(doc_id, -1.0))
    ev.sentences, ev.documents, ev.metadata = sentences, documents, metadata
    return ev


def rank(
    view: View,
    qvec: np.ndarray | None,
    terms: list[str],
    n: int,
    ranking: Ranking,
    weights: FusionWeights,
    kind: QueryKind,
    within: Scope | None = None,
    words: Sequence[tuple[str, tuple[str, ...]]] | None = None,
    lexical_hits: Callable[[], LexicalHits] | None = None,
) -> tuple[list[RankedDoc], float]:
    """The documents for a query, best first, and the best first-stage score: the
    retrievers, the fusion and, for a topic, a second stage with the query vector
    expanded by the best documents' centroids (pseudo-relevance feedback; see
    ``search.ranking``). ``within`` restricts every retriever to the documents a filter
    admits; ``lexical_hits`` as for ``collect``."""
    evidence, seen = collect(view, qvec, terms, n, ranking, weights, within, words, lexical_hits)
    ranked = rank_documents(evidence, method=ranking, weights=weights, kind=kind)
    first_top = ranked[0].score if ranked else 0.0
    if kind is not QueryKind.TOPIC or qvec is None or weights.feedback_docs <= 0 or not ranked:
        return ranked, first_top
    top = [r.doc_id for r in ranked[: weights.feedback_docs]]
    feedback = _centroids(view, top, seen)
    if not feedback:  # an index without centroid vectors: no second stage
        return ranked, first_top
    expanded = expand_query(qvec, feedback, weights.feedback_weight)
    again = _dense_evidence(
        _rescored(view, "passages", seen.passage_ids, expanded),
        _rescored(view, "fields", seen.field_ids, expanded),
        seen,
    )
    again.lexical, again.coverage = evidence.lexical, evidence.coverage
    return rank_documents(again, method=ranking, weights=weights, kind=kind), first_top


def _rescored(view: View, space: str, ids: list[int], vector: np.ndarray) -> Scored:
    """First-stage hits of a space scored against another vector (no search, no reads)."""
    if not ids:
        return []
    scores = view.mirror.vectors(space, ids) @ vector
    return list(zip(ids, scores.tolist(), strict=True))


def _centroids(view: View, doc_ids: list[str], seen: Candidates) -> list[np.ndarray]:
    """Centroid vectors of ``doc_ids`` in that order: from the mirror when the first stage
    saw their field ids, else from the store; documents without one are left out."""
    known = [d for d in doc_ids if d in seen.centroids]
    found = dict(
        zip(known, view.mirror.vectors("fields", [seen.centroids[d] for d in known]), strict=True)
    )
    rest = [d for d in doc_ids if d not in found]
    if rest:
        found.update(view.store.document_vectors(rest, view.mirror.dim))
    return [found[d] for d in doc_ids if d in found]
