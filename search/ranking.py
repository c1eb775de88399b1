"""Turn chunk hits of the dense and lexical retrievers into a ranking of documents."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

#: (chunk id, document id, score); higher scores are better
Hit = tuple[int, str, float]

RANKINGS = ("hybrid", "dense", "lexical")


@dataclass
class RankedDoc:
    """A document's place in the ranking and the passage that earned it."""

    doc_id: str
    score: float
    chunk_id: int  # best passage, shown as the snippet
    dense: float | None = None  # best chunk cosine
    lexical: float | None = None  # best chunk bm25, normalised to [0, 1] per query


def _best_per_doc(hits: Sequence[Hit]) -> dict[str, tuple[float, int]]:
    best: dict[str, tuple[float, int]] = {}
    for chunk_id, doc_id, score in hits:
        if doc_id not in best or score > best[doc_id][0]:
            best[doc_id] = (score, chunk_id)
    return best


def rank_documents(
    query: str,
    dense: Sequence[Hit],
    lexical: Sequence[Hit],
    *,
    method: str = "hybrid",
    lexical_weight: float = 0.3,
) -> list[RankedDoc]:
    """Rank documents: one entry per document, best first.

    A document scores by its best chunk (max aggregation), so long reports are not
    favoured for their length. ``hybrid`` adds the lexical score, scaled to [0, 1] by
    the query's best bm25, with ``lexical_weight`` to the cosine of the dense retriever.
    """
    dense_best = _best_per_doc(dense)
    top_lex = max((s for _, _, s in lexical), default=0.0)
    lex_best = {
        d: (s / top_lex if top_lex > 0 else 0.0, c) for d, (s, c) in _best_per_doc(lexical).items()
    }
    out: list[RankedDoc] = []
    if method == "dense":
        for doc_id, (score, chunk_id) in dense_best.items():
            out.append(RankedDoc(doc_id, score, chunk_id, dense=score))
    elif method == "lexical":
        for doc_id, (score, chunk_id) in lex_best.items():
            out.append(RankedDoc(doc_id, score, chunk_id, lexical=score))
    elif method == "hybrid":
        for doc_id in dense_best.keys() | lex_best.keys():
            d = dense_best.get(doc_id)
            lx = lex_best.get(doc_id)
            d_score = d[0] if d else 0.0
            l_score = lx[0] if lx else 0.0
            score = d_score + lexical_weight * l_score
            # the snippet comes from the lexical chunk when terms matched, so it can
            # show marked words; otherwise from the best dense chunk
            chunk_id = lx[1] if lx else d[1]  # type: ignore[index]
            out.append(
                RankedDoc(doc_id, score, chunk_id, dense=d[0] if d else None,
                          lexical=l_score if lx else None)
            )
    else:
        raise ValueError(f"unknown ranking {method!r}; use one of {', '.join(RANKINGS)}")
    out.sort(key=lambda r: (-r.score, r.doc_id))
    return out
