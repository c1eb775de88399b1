"""Turn the hits of the dense and lexical retrievers into a ranking of documents.

The hybrid ranking scores a document by its best passage ``c``::

    score(d) = max_c [ dense(c) + lexical_weight * coverage(c) ]

    dense(c) = ( passage(c) + document_weight * centroid(d) + metadata_weight * meta(d) )
               / ( 1 + document_weight + metadata_weight )
    passage(c) = (1 - sentence_weight) * cos(query, passage c)
                 + sentence_weight * max cos(query, sentence of c)

All dense parts are cosines of the same embedder: the passage, its best sentence, the
document's centroid (mean of its passage vectors) and its metadata (title, topics,
event). ``coverage(c)`` is the share of the query's IDF mass that passage ``c`` contains
(each query term weighs log((N + 1) / (df + 0.5)) over the N passages). It lies in
[0, 1] for every query, so it needs no per-query normalisation, and it is small by
construction when the query's words do not occur in the corpus: an English question
over German reports matches a name or two but not "how many ... did", so the lexical
part stays small and the dense part decides, while a German query that matches all its
words gets the full lexical weight. BM25 still picks the lexical candidates.

Every retriever returns only its top hits. A candidate that one dense field did not
return gets that field's lowest returned score (a tight upper bound of its true score),
so a document found by one retriever only is not pushed to the bottom by a zero.

Queries come in two kinds (``query_kind``). A *question* ("Wer gewann ...?") asks for
the passage that answers it and is ranked as above. A *topic* ("Wasserstoff", "police,
crime and disasters") asks for the reports about it; it is ranked by document-level
evidence, and in two stages::

    score(d) = dense_doc(d) + topic_lexical * max_c coverage(c)
    dense_doc(d) = ( max_c passage(c) + topic_document * centroid(d) + metadata_weight * meta(d) )
                   / ( 1 + topic_document + metadata_weight )

The first stage ranks with the query vector ``q``; the second stage scores the first
stage's candidates again (same passages, sentences, centroids and metadata vectors,
same coverages) with the expanded vector
``q' = unit(q + feedback_weight * unit(sum_i centroid(d_i) / i))`` over the first
stage's ``feedback_docs`` best documents ``d_1, d_2, ...`` (Rocchio pseudo-relevance
feedback, rank-weighted). Documents that are about the topic throughout are close to
each other, so the feedback pulls in on-topic reports that the query's few words alone
do not reach; a passage that only mentions a query word gets less lexical weight than
in a question. ``search.retrieval.rank`` runs the two stages.

``dense`` and ``lexical`` are the single-retriever baselines: ``dense`` uses all vector
fields (and, for topics, the same feedback) and no lexical evidence; ``lexical`` ranks
by the best passage's BM25 scaled by the query's best BM25.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import repeat
from typing import NamedTuple

import numpy as np

from .settings import Ranking, Settings

__all__ = [
    "Evidence",
    "FusionWeights",
    "Hit",
    "QueryKind",
    "RankedDoc",
    "Ranking",
    "expand_query",
    "query_kind",
    "rank_documents",
]


class QueryKind(StrEnum):
    """What a query asks for: the passage answering a question, or reports on a topic."""

    QUESTION = "question"
    TOPIC = "topic"


#: interrogatives that open a question in German or English (folded to lowercase)
QUESTION_WORDS = frozenset(
    """
    wer wen wem wessen was wann wo wohin woher warum weshalb weswegen wieso wie wieviel
    wieviele welche welcher welches welchen welchem womit wodurch wofür wozu worauf
    woran worin worüber wovon wovor
    who whom whose what when where why how which
    """.split()
)
_FIRST_WORD = re.compile(r"\w+")


def query_kind(query: str) -> QueryKind:
    """A question if the query ends with '?' or opens with an interrogative, else a topic
    (keywords or a phrase naming a subject)."""
    text = query.strip()
    if text.endswith("?"):
        return QueryKind.QUESTION
    first = _FIRST_WORD.search(text.lower())
    return QueryKind.QUESTION if first and first.group() in QUESTION_WORDS else QueryKind.TOPIC


#: (chunk id, document id, score); higher scores are better
Hit = tuple[int, str, float]


@dataclass(frozen=True)
class FusionWeights:
    """The few parameters of the hybrid ranking (see the module docstring)."""

    lexical: float
    sentence: float
    document: float
    metadata: float
    #: topic queries: lexical weight, centroid weight and pseudo-relevance feedback
    topic_lexical: float
    topic_document: float
    feedback_docs: int
    feedback_weight: float

    @classmethod
    def from_settings(cls, settings: Settings) -> FusionWeights:
        """The weights configured by ``KB_*_WEIGHT`` and ``KB_FEEDBACK_*``."""
        return cls(
            lexical=settings.lexical_weight,
            sentence=settings.sentence_weight,
            document=settings.document_weight,
            metadata=settings.metadata_weight,
            topic_lexical=settings.topic_lexical_weight,
            topic_document=settings.topic_document_weight,
            feedback_docs=settings.feedback_docs,
            feedback_weight=settings.feedback_weight,
        )


@dataclass
class Evidence:
    """What the retrievers found for one query.

    ``passages``, ``sentences`` and ``lexical`` are chunk hits (a sentence hit names
    the chunk the sentence belongs to); ``documents`` and ``metadata`` map document ids
    to the cosine of their centroid and metadata vectors; ``coverage`` maps chunk ids to
    their IDF-weighted share of the query terms.
    """

    passages: Sequence[Hit] = ()
    sentences: Sequence[Hit] = ()
    documents: Mapping[str, float] = field(default_factory=dict)
    metadata: Mapping[str, float] = field(default_factory=dict)
    lexical: Sequence[Hit] = ()
    coverage: Mapping[int, float] = field(default_factory=dict)


class RankedDoc(NamedTuple):
    """A document's place in the ranking and the passage that earned it (a named tuple:
    a search ranks some 500 documents, twice for a topic, and ``_make`` builds them in C)."""

    doc_id: str
    score: float
    chunk_id: int  # best passage, shown as the snippet
    dense: float | None = None  # dense score of that passage (topics: of the document)
    lexical: float | None = None  # coverage (hybrid; topics: best of the document) or bm25


def _best_per_doc(hits: Sequence[Hit]) -> dict[str, tuple[float, int]]:
    best: dict[str, tuple[float, int]] = {}
    for chunk_id, doc_id, score in hits:
        if doc_id not in best or score > best[doc_id][0]:
            best[doc_id] = (score, chunk_id)
    return best


def _floor(scores) -> float | None:
    """The lowest returned score of a field, or None when the field returned nothing."""
    return min(scores, default=None)


def expand_query(query: np.ndarray, feedback: Sequence[np.ndarray], weight: float) -> np.ndarray:
    """Rocchio feedback: ``unit(q + weight * unit(sum_i v_i / i))`` over ``feedback``
    vectors in rank order (the first counts most). Returns ``query`` if there is none."""
    if not len(feedback) or weight <= 0:
        return query
    vectors = np.asarray(feedback, dtype=np.float32)
    ranks = np.arange(1, len(vectors) + 1, dtype=np.float32)
    centre = (vectors / ranks[:, None]).sum(axis=0)
    norm = float(np.linalg.norm(centre))
    if norm == 0:
        return query
    expanded = query + weight * centre / norm
    return (expanded / np.linalg.norm(expanded)).astype(np.float32)


def rank_documents(
    evidence: Evidence,
    *,
    method: Ranking | str,
    weights: FusionWeights,
    kind: QueryKind | str = QueryKind.QUESTION,
) -> list[RankedDoc]:
    """Rank documents: one entry per document, best first (ties by document id).

    ``kind`` is the query's kind (``query_kind``): a question is fused per passage, a
    topic per document with its own weights (see the module docstring). Feedback is the
    caller's second stage: rank, expand the query with ``expand_query``, rank again.
    """
    method = Ranking.parse(method)
    topic = QueryKind(kind) is QueryKind.TOPIC
    w = weights
    if method is Ranking.LEXICAL:
        return _rank_lexical(evidence.lexical)
    lexical_weight = w.topic_lexical if topic else w.lexical
    document_weight = w.topic_document if topic else w.document
    use_lexical = method is Ranking.HYBRID and lexical_weight > 0
    hits = [*evidence.passages, *evidence.sentences, *(evidence.lexical if use_lexical else ())]
    if not hits:
        return []

    # The fusion runs over every candidate of every query, twice for a topic: on arrays
    # rather than dicts, with the columns taken apart and looked up by C-level maps, 0.56
    # -> 0.30 ms a call over some 500 hits at 100,000 passages. Each step is the same
    # float64 arithmetic in the same order as the formulas of the module docstring, so
    # the scores are the same to the last bit.
    chunk_col, doc_col, score_col = zip(*hits, strict=True)
    # documents numbered in order of first appearance
    doc_code = {d: i for i, d in enumerate(dict.fromkeys(doc_col))}
    codes = np.fromiter(map(doc_code.__getitem__, doc_col), np.intp, len(hits))
    chunk_ids, first, where = np.unique(
        np.array(chunk_col, dtype=np.int64), return_index=True, return_inverse=True
    )
    owner = codes[first]  # a chunk belongs to one document
    scores = np.array(score_col, dtype=np.float64)
    n_pass, n_sent = len(evidence.passages), len(evidence.sentences)
    size = len(chunk_ids)
    passage = _best_of(where[:n_pass], scores[:n_pass], size)
    sentence = _best_of(where[n_pass : n_pass + n_sent], scores[n_pass : n_pass + n_sent], size)
    has_passage, has_sentence = passage > -math.inf, sentence > -math.inf

    p_floor = float(passage[has_passage].min()) if has_passage.any() else None
    s_floor = float(sentence[has_sentence].min()) if w.sentence > 0 and n_sent else None
    d_floor = _floor(evidence.documents.values()) if document_weight > 0 else None
    m_floor = _floor(evidence.metadata.values()) if w.metadata > 0 else None
    # a field without any hit (not indexed, or a weight of 0) drops out of the mix
    sent_w = w.sentence if s_floor is not None else 0.0
    if p_floor is None:  # no passage hits at all: the sentences stand in for them
        sent_w, p_floor = 1.0, 0.0
    doc_w = document_weight if d_floor is not None else 0.0
    meta_w = w.metadata if m_floor is not None else 0.0
    norm = 1.0 + doc_w + meta_w
    s_floor = s_floor if s_floor is not None else 0.0

    # per document: the centroid and metadata part; per chunk: passage, dense, fused
    docs = list(doc_code)
    d_default, m_default = d_floor or 0.0, m_floor or 0.0
    documents, metadata = evidence.documents, evidence.metadata
    doc_part = doc_w * _looked_up(documents, docs, d_default) + meta_w * _looked_up(
        metadata, docs, m_default
    )
    p = (1 - sent_w) * np.where(has_passage, passage, p_floor) + sent_w * np.where(
        has_sentence, sentence, s_floor
    )
    dense = (p + doc_part[owner]) / norm
    if use_lexical:
        coverage = evidence.coverage
        cov = _looked_up(coverage, chunk_ids.tolist(), 0.0)
        fused = dense + lexical_weight * cov
    else:
        cov = np.zeros(size)
        fused = dense
    # each document's best chunk: the highest fused score, on a tie the lowest chunk id
    order = np.lexsort((chunk_ids, -fused, owner))
    grouped = owner[order]
    best = order[np.concatenate(([True], grouped[1:] != grouped[:-1]))]
    best_doc = owner[best]
    if topic:  # the document's best passage and best coverage, each on its own
        best_passage = np.full(len(docs), -math.inf)
        np.maximum.at(best_passage, owner, p)
        best_cover = np.zeros(len(docs))
        np.maximum.at(best_cover, owner, cov)
        doc_dense = ((best_passage + doc_part) / norm)[best_doc]
        doc_cover = best_cover[best_doc]
        doc_score = doc_dense + lexical_weight * doc_cover if use_lexical else doc_dense + 0.0
    else:
        doc_dense, doc_cover, doc_score = dense[best], cov[best], fused[best]
    # best first, ties by document id
    doc_ids = np.array(docs)[best_doc]
    ranked = np.lexsort((doc_ids, -doc_score))
    lexical = doc_cover[ranked].tolist() if use_lexical else [None] * len(ranked)
    make = tuple.__new__  # RankedDoc(...) without its Python-level __new__ or _make
    return list(
        map(
            make,
            repeat(RankedDoc),
            zip(
                doc_ids[ranked].tolist(),
                doc_score[ranked].tolist(),
                chunk_ids[best][ranked].tolist(),
                doc_dense[ranked].tolist(),
                lexical,
                strict=True,
            ),
        )
    )


def _looked_up(values: Mapping, keys: list, default: float) -> np.ndarray:
    """``values[k]`` (``default`` where missing) for each of ``keys``, as float64."""
    return np.fromiter(map(values.get, keys, repeat(default)), np.float64, len(keys))


def _best_of(where: np.ndarray, scores: np.ndarray, size: int) -> np.ndarray:
    """The highest of ``scores`` per slot ``where``, over ``size`` slots; -inf where none."""
    best = np.full(size, -math.inf)
    np.maximum.at(best, where, scores)
    return best


def _rank_lexical(lexical: Sequence[Hit]) -> list[RankedDoc]:
    top = max((s for _, _, s in lexical), default=0.0)
    out = [
        RankedDoc(d, s / top if top > 0 else 0.0, c, lexical=s / top if top > 0 else 0.0)
        for d, (s, c) in _best_per_doc(lexical).items()
    ]
    out.sort(key=lambda r: (-r.score, r.doc_id))
    return out
