"""The retrievers a ranking draws on, each with one entry point, and the evidence they
gather for one query.

* ``dense``   — passages nearest to the query vector;
* ``fields``  — sentences, document centroids and metadata vectors nearest to it;
* ``lexical`` — passages by BM25 over the analysed terms (``search.lexical``), plus the
  IDF-weighted term coverage of every candidate for the hybrid ranking.

All of them read one ``View``: the store inside a read transaction and the vector mirror
held at that transaction's generation, so every id they return resolves.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import lexical as lexical_index
from .mirror import VectorMirror
from .ranking import Evidence, FusionWeights, Ranking
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


def dense(view: View, qvec: np.ndarray, n: int) -> Scored:
    """The n passages nearest to the query vector."""
    ids, scores = view.mirror.search("passages", qvec, n)
    return list(zip(ids.tolist(), scores.tolist(), strict=True))


def fields(view: View, qvec: np.ndarray, n: int) -> Scored:
    """The field vectors (sentences, centroids, metadata) nearest to the query vector."""
    ids, scores = view.mirror.search("fields", qvec, FIELD_FACTOR * n)
    return list(zip(ids.tolist(), scores.tolist(), strict=True))


def lexical(view: View, terms: list[str], n: int) -> Scored:
    """The n passages with the best BM25 for the query terms."""
    return lexical_index.search(view.store.conn, terms, n) if terms else []


def collect(
    view: View,
    qvec: np.ndarray | None,
    terms: list[str],
    n: int,
    ranking: Ranking,
    weights: FusionWeights,
) -> Evidence:
    """Run the retrievers ``ranking`` needs and resolve their hits to documents."""
    passages: Scored = []
    field_hits: Scored = []
    if qvec is not None:
        passages = dense(view, qvec, n)
        if weights.sentence or weights.document or weights.metadata:
            field_hits = fields(view, qvec, n)
    lex = lexical(view, terms, n)
    owners = view.store.chunk_docs([c for c, _ in passages] + [c for c, _ in lex])
    field_owners = view.store.field_owners([f for f, _ in field_hits])
    ev = Evidence()
    ev.passages = [(c, owners[c], s) for c, s in passages if c in owners]
    ev.lexical = [(c, owners[c], s) for c, s in lex if c in owners]
    sentences, documents, metadata = [], {}, {}
    for f, s in field_hits:
        if f not in field_owners:
            continue
        kind, chunk_id, doc_id = field_owners[f]
        if kind == "sentence":
            sentences.append((chunk_id, doc_id, s))
        elif kind == "document":
            documents[doc_id] = max(s, documents.get(doc_id, -1.0))
        elif kind == "metadata":
            metadata[doc_id] = max(s, metadata.get(doc_id, -1.0))
    ev.sentences, ev.documents, ev.metadata = sentences, documents, metadata
    if ranking is Ranking.HYBRID and terms and weights.lexical > 0:
        candidates = {c for c, _, _ in ev.passages} | {c for c, _, _ in ev.lexical}
        candidates |= {c for c, _, _ in sentences}
        ev.coverage = lexical_index.coverage(
            view.store.conn, terms, candidates, view.store.chunk_count()
        )
    return ev
