"""Which ranked reports count as matches: the rule behind ``total`` and the facets.

A ranking orders every candidate the retrievers found; most of them are only the least
bad of a corpus. A report *matches* when

1. the query found real evidence at all: the best first-stage score (before any
   feedback, which pulls every query towards some documents) reaches
   ``KB_MATCH_FLOOR`` (not for the lexical ranking, whose hits all contain query
   words), and
2. its score reaches a share of the best report's score: ``KB_MATCH_RATIO_TOPIC`` for
   topic queries, ``KB_MATCH_RATIO_QUESTION`` for questions (a question wants the few
   passages that answer it).

The ratios and the floor were calibrated on corpus/eval and the dev sets of
``../shared/bench`` (``docs/quality.md``, "Matching reports").
"""

from __future__ import annotations

from .ranking import QueryKind, RankedDoc
from .settings import Ranking, Settings


def matching(
    ranked: list[RankedDoc],
    first_top: float,
    kind: QueryKind,
    ranking: Ranking,
    settings: Settings,
) -> list[RankedDoc]:
    """The reports of ``ranked`` (best first) that count as matches, in the same order."""
    if not ranked:
        return []
    if ranking is not Ranking.LEXICAL and first_top < settings.match_floor:
        return []
    ratio = settings.match_ratio_topic if kind is QueryKind.TOPIC else settings.match_ratio_question
    cut = ratio * ranked[0].score
    return [r for r in ranked if r.score >= cut]
