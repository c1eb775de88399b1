"""The fusion maths of search/ranking.py, on hand-made retriever hits (no model, no index)."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from search.errors import InvalidQuery
from search.lexical import idf, term_coverage
from search.ranking import Evidence, FusionWeights, expand_query, query_kind, rank_documents
from search.settings import Settings

DEFAULT = FusionWeights.from_settings(Settings())
ONLY_PASSAGES = replace(DEFAULT, lexical=0.4, sentence=0.0, document=0.0, metadata=0.0)


def _ids(ranked):
    return [r.doc_id for r in ranked]


def test_coverage_is_the_idf_weighted_share_of_query_terms():
    postings = {"wasserstoff": {1, 2}, "emsland": {2}}
    cov = term_coverage(postings, [1, 2, 3], n_chunks=10)
    assert cov[2] == pytest.approx(1.0)
    # the rarer term weighs more: chunk 1 has the common one only
    expected = idf(2, 10) / (idf(2, 10) + idf(1, 10))
    assert cov[1] == pytest.approx(expected)
    assert 3 not in cov  # nothing matched: no entry (= 0)


def test_coverage_with_corpus_frequencies_and_candidate_postings_only():
    # the same as above when the postings hold only the candidates and df comes apart
    cov = term_coverage(
        {"wasserstoff": {1, 2}, "emsland": {2}}, [1, 2, 3], 10, df={"wasserstoff": 2, "emsland": 1}
    )
    assert cov == term_coverage({"wasserstoff": {1, 2}, "emsland": {2}}, [1, 2, 3], 10)
    # a common term seen in one candidate weighs by its corpus frequency, not by 1
    common = term_coverage(
        {"industri": {1}, "wasserstoff": {1}}, [1], 1000, df={"industri": 900, "wasserstoff": 3}
    )[1]
    assert common == pytest.approx(1.0)
    partial = term_coverage(
        {"industri": {1}, "wasserstoff": set()}, [1], 1000, df={"industri": 900, "wasserstoff": 3}
    )[1]
    assert partial == pytest.approx(idf(900, 1000) / (idf(900, 1000) + idf(3, 1000)))


def test_terms_the_corpus_does_not_know_keep_coverage_low():
    # an English question over German text: only the name matches
    english = {"panthers": {7}, "defens": set(), "surrend": set(), "point": set()}
    german = {"panthers": {7}, "verteidig": {7}, "punkt": {7, 8}}
    low = term_coverage(english, [7], n_chunks=240)[7]
    high = term_coverage(german, [7], n_chunks=240)[7]
    assert low < 0.3
    assert high == pytest.approx(1.0)


def test_coverage_edge_cases():
    assert term_coverage({}, [1, 2], n_chunks=5) == {}
    assert term_coverage({"x": set()}, [1], n_chunks=0) == {}  # empty corpus
    # a term in every chunk still has a positive idf, so coverage stays defined
    assert idf(5, 5) > 0
    assert term_coverage({"x": {1, 2, 3, 4, 5}}, [1], n_chunks=5)[1] == pytest.approx(1.0)


def test_lexical_only_document_gets_the_dense_floor_not_zero():
    # doc b was not returned by the dense retriever: it gets the lowest returned cosine
    ev = Evidence(
        passages=[(1, "a", 0.60), (2, "c", 0.50)],
        lexical=[(3, "b", 12.0)],
        coverage={3: 1.0},
    )
    ranked = rank_documents(ev, method="hybrid", weights=ONLY_PASSAGES)
    b = next(r for r in ranked if r.doc_id == "b")
    assert b.dense == pytest.approx(0.50)
    assert b.score == pytest.approx(0.50 + 0.4)
    assert _ids(ranked) == ["b", "a", "c"]


def test_document_strong_in_one_retriever_only_beats_weak_in_both():
    ev = Evidence(
        passages=[(1, "dense-only", 0.80), (2, "both", 0.55), (3, "other", 0.50)],
        lexical=[(2, "both", 3.0)],
        coverage={2: 0.3},  # a single common word of the query
    )
    ranked = rank_documents(ev, method="hybrid", weights=ONLY_PASSAGES)
    assert _ids(ranked)[0] == "dense-only"
    assert ranked[1].doc_id == "both"
    assert ranked[1].score == pytest.approx(0.55 + 0.4 * 0.3)


def test_full_lexical_match_lifts_a_close_dense_second():
    ev = Evidence(
        passages=[(1, "a", 0.62), (2, "b", 0.58)],
        lexical=[(2, "b", 9.0), (1, "a", 1.0)],
        coverage={2: 1.0, 1: 0.2},
    )
    assert _ids(rank_documents(ev, method="hybrid", weights=ONLY_PASSAGES)) == ["b", "a"]
    # with no lexical weight (or the dense baseline) the dense order stays
    no_lex = replace(DEFAULT, lexical=0.0, sentence=0.0, document=0.0, metadata=0.0)
    assert _ids(rank_documents(ev, method="hybrid", weights=no_lex)) == ["a", "b"]
    assert _ids(rank_documents(ev, method="dense", weights=ONLY_PASSAGES)) == ["a", "b"]


def test_best_passage_is_the_one_with_the_best_fused_score():
    # chunk 2 has the terms, chunk 1 the better cosine: the fused best is chunk 2
    ev = Evidence(
        passages=[(1, "a", 0.70), (2, "a", 0.60)],
        lexical=[(2, "a", 5.0)],
        coverage={2: 1.0},
    )
    (top,) = rank_documents(ev, method="hybrid", weights=ONLY_PASSAGES)
    assert top.chunk_id == 2
    assert top.score == pytest.approx(1.0)
    (dense_top,) = rank_documents(ev, method="dense", weights=ONLY_PASSAGES)
    assert dense_top.chunk_id == 1


def test_sentence_and_document_fields_mix_into_the_dense_score():
    weights = replace(DEFAULT, lexical=0.0, sentence=0.5, document=1.0, metadata=0.5)
    ev = Evidence(
        passages=[(1, "a", 0.4), (2, "b", 0.5)],
        sentences=[(1, "a", 0.8), (2, "b", 0.5), (9, "c", 0.3)],
        documents={"a": 0.6, "b": 0.3},
        metadata={"a": 0.5},
    )
    ranked = {r.doc_id: r for r in rank_documents(ev, method="dense", weights=weights)}
    # a: passage 0.5*0.4 + 0.5*0.8 = 0.6; (0.6 + 1.0*0.6 + 0.5*0.5) / 2.5
    assert ranked["a"].score == pytest.approx((0.6 + 0.6 + 0.25) / 2.5)
    # b: metadata missing -> the lowest returned metadata cosine (0.5)
    assert ranked["b"].score == pytest.approx((0.5 + 0.3 + 0.25) / 2.5)
    # c: found by a sentence only -> passage floor 0.4, document floor 0.3
    assert ranked["c"].score == pytest.approx((0.5 * 0.4 + 0.5 * 0.3 + 0.3 + 0.25) / 2.5)


def test_fields_without_hits_drop_out_of_the_mix():
    # an index without sentence/document/metadata vectors ranks by the passages alone
    weights = replace(DEFAULT, lexical=0.0, sentence=0.5, document=1.0, metadata=0.5)
    ev = Evidence(passages=[(1, "a", 0.7), (2, "b", 0.6)])
    ranked = rank_documents(ev, method="dense", weights=weights)
    assert [(r.doc_id, round(r.score, 6)) for r in ranked] == [("a", 0.7), ("b", 0.6)]


def test_one_entry_per_document_and_deterministic_ties():
    ev = Evidence(passages=[(1, "b", 0.5), (2, "a", 0.5), (3, "a", 0.4)])
    ranked = rank_documents(ev, method="hybrid", weights=ONLY_PASSAGES)
    assert _ids(ranked) == ["a", "b"]
    assert ranked[0].chunk_id == 2


def test_lexical_baseline_scales_bm25_by_the_best_and_handles_zero():
    ev = Evidence(lexical=[(1, "a", 4.0), (2, "b", 2.0), (3, "a", 1.0)])
    ranked = rank_documents(ev, method="lexical", weights=DEFAULT)
    assert [(r.doc_id, r.score, r.chunk_id) for r in ranked] == [("a", 1.0, 1), ("b", 0.5, 2)]
    zero = rank_documents(Evidence(lexical=[(1, "a", 0.0)]), method="lexical", weights=DEFAULT)
    assert zero[0].score == 0.0 and not math.isnan(zero[0].score)


def test_empty_evidence_and_unknown_method():
    assert rank_documents(Evidence(), method="hybrid", weights=DEFAULT) == []
    assert rank_documents(Evidence(), method="lexical", weights=DEFAULT) == []
    with pytest.raises(InvalidQuery, match="ranking"):
        rank_documents(Evidence(), method="magic", weights=DEFAULT)


# -- query kinds and topic ranking ---------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "Wie viele Punkte gab die Verteidigung der Panthers ab?",
        "How many points did the Panthers defense surrender?",
        "wer baute den Elektrolyseur",
        "What was the name of the leader ennobled by Henry III",
        "Wasserstoff?",
        "  Welche Förderprogramme gibt es  ",
    ],
)
def test_questions_are_recognised(query):
    assert query_kind(query) == "question"


@pytest.mark.parametrize(
    "query",
    [
        "Wasserstoff",
        "police, crime and disasters",
        "Konjunktur, Banken und Arbeitsmarkt",
        "Wiederverwendung von Baustoffen",  # starts like "wie", but is not "wie"
        "Whatsapp im Betrieb",
        "",
    ],
)
def test_topics_are_everything_else(query):
    assert query_kind(query) == "topic"


def test_feedback_expands_the_query_towards_the_best_documents_first():
    query = np.array([1.0, 0.0, 0.0], dtype=np.float32)
    first = np.array([0.0, 1.0, 0.0], dtype=np.float32)
    second = np.array([0.0, 0.0, 1.0], dtype=np.float32)
    expanded = expand_query(query, [first, second], weight=0.5)
    assert np.linalg.norm(expanded) == pytest.approx(1.0)
    # the query keeps the largest share; the first feedback document counts twice the second
    assert expanded[0] > expanded[1] > expanded[2] > 0
    assert expanded[1] == pytest.approx(2 * expanded[2])
    assert expanded @ query == pytest.approx(1 / np.sqrt(1 + 0.25), rel=1e-5)


def test_feedback_without_vectors_or_weight_keeps_the_query():
    query = np.array([0.6, 0.8], dtype=np.float32)
    assert expand_query(query, [], weight=0.5) is query
    assert expand_query(query, [np.array([1.0, 0.0])], weight=0.0) is query
    assert expand_query(query, [np.zeros(2, dtype=np.float32)], weight=1.0) is query


def test_topic_ranking_counts_best_passage_and_best_coverage_of_a_document_separately():
    # document a: a strong passage without the query word and a weak one with it;
    # document b: one passage, a little better than a's weak one, with the query word
    ev = Evidence(
        passages=[(1, "a", 0.6), (2, "a", 0.2), (3, "b", 0.5)],
        lexical=[(2, "a", 3.0), (3, "b", 3.0)],
        coverage={2: 1.0, 3: 1.0},
    )
    w = replace(DEFAULT, lexical=0.4, sentence=0.0, document=0.0, metadata=0.0, topic_lexical=0.2)
    question = {
        r.doc_id: r for r in rank_documents(ev, method="hybrid", weights=w, kind="question")
    }
    topic = {r.doc_id: r for r in rank_documents(ev, method="hybrid", weights=w, kind="topic")}
    # a question fuses per passage: a's best is its weak passage with the word (0.2 + 0.4)
    assert question["a"].score == pytest.approx(0.6) and question["a"].chunk_id == 2
    # a topic adds the document's best coverage to its best passage: 0.6 + 0.2 * 1
    assert topic["a"].score == pytest.approx(0.8)
    assert topic["a"].dense == pytest.approx(0.6) and topic["a"].lexical == pytest.approx(1.0)
    assert topic["b"].score == pytest.approx(0.7)
    assert _ids(rank_documents(ev, method="hybrid", weights=w, kind="topic")) == ["a", "b"]
    # dense ranking of a topic: no lexical part
    dense = rank_documents(ev, method="dense", weights=w, kind="topic")
    assert [(r.doc_id, round(r.score, 6)) for r in dense] == [("a", 0.6), ("b", 0.5)]


def test_topic_ranking_weighs_the_centroid_with_its_own_weight():
    ev = Evidence(
        passages=[(1, "a", 0.5), (2, "b", 0.4)],
        documents={"a": 0.1, "b": 0.4},
    )
    w = replace(DEFAULT, sentence=0.0, metadata=0.0, document=0.2, topic_document=2.0)
    # question: (0.5 + 0.2 * 0.1) / 1.2 > (0.4 + 0.2 * 0.4) / 1.2
    assert _ids(rank_documents(ev, method="dense", weights=w, kind="question")) == ["a", "b"]
    # topic: (0.5 + 2 * 0.1) / 3 < (0.4 + 2 * 0.4) / 3
    topic = rank_documents(ev, method="dense", weights=w, kind="topic")
    assert _ids(topic) == ["b", "a"]
    assert topic[0].score == pytest.approx((0.4 + 0.8) / 3)


def test_unknown_query_kind_is_an_error():
    with pytest.raises(ValueError, match="poem"):
        rank_documents(Evidence(), method="hybrid", weights=DEFAULT, kind="poem")


def _fusion_by_loop(ev: Evidence, method: str, w: FusionWeights, topic: bool) -> list[tuple]:
    """The module docstring's formulas, one chunk at a time: the oracle for the arrays."""
    lexical_weight = w.topic_lexical if topic else w.lexical
    document_weight = w.topic_document if topic else w.document
    use_lexical = method == "hybrid" and lexical_weight > 0
    owner, passage, sentence = {}, {}, {}
    for c, d, s in ev.passages:
        owner[c], passage[c] = d, max(s, passage.get(c, -math.inf))
    for c, d, s in ev.sentences:
        owner[c], sentence[c] = d, max(s, sentence.get(c, -math.inf))
    for c, d, _ in ev.lexical if use_lexical else ():
        owner[c] = d
    p_floor = min(passage.values(), default=None)
    s_floor = min(sentence.values(), default=None) if w.sentence > 0 else None
    d_floor = min(ev.documents.values(), default=None) if document_weight > 0 else None
    m_floor = min(ev.metadata.values(), default=None) if w.metadata > 0 else None
    sent_w = w.sentence if s_floor is not None else 0.0
    if p_floor is None:
        sent_w, p_floor = 1.0, 0.0
    doc_w = document_weight if d_floor is not None else 0.0
    meta_w = w.metadata if m_floor is not None else 0.0
    norm, s_floor = 1.0 + doc_w + meta_w, s_floor or 0.0
    best, best_p, best_cov, part = {}, {}, {}, {}
    for c, d in owner.items():
        part[d] = doc_w * ev.documents.get(d, d_floor or 0.0) + meta_w * ev.metadata.get(
            d, m_floor or 0.0
        )
        p = (1 - sent_w) * passage.get(c, p_floor) + sent_w * sentence.get(c, s_floor)
        dense = (p + part[d]) / norm
        cov = ev.coverage.get(c, 0.0) if use_lexical else 0.0
        score = dense + lexical_weight * cov if use_lexical else dense
        best_p[d] = max(p, best_p.get(d, -math.inf))
        best_cov[d] = max(cov, best_cov.get(d, 0.0))
        if d not in best or (-score, c) < (-best[d][0], best[d][1]):
            best[d] = (score, c, dense, cov)
    out = []
    for d, (score, c, dense, cov) in best.items():
        if topic:
            cov = best_cov[d]
            dense = (best_p[d] + part[d]) / norm
            score = dense + (lexical_weight * cov if use_lexical else 0.0)
        out.append((d, score, c, dense, cov if use_lexical else None))
    return sorted(out, key=lambda r: (-r[1], r[0]))


@pytest.mark.parametrize("seed", range(40))
def test_the_fusion_gives_the_scores_of_the_formulas_bit_for_bit(seed):
    # random evidence: shared and repeated chunks, ties, empty fields, zero weights
    rng = np.random.default_rng(seed)
    n_docs, n_chunks = int(rng.integers(1, 12)), int(rng.integers(1, 40))
    owner = {c: f"d{int(rng.integers(n_docs))}" for c in range(n_chunks)}

    def hits(count, scale):
        chunks = rng.integers(0, n_chunks, count).tolist()
        # coarse values make ties common, which the tie rules must settle alike
        return [(c, owner[c], float(rng.integers(0, 8)) / 8 * scale) for c in chunks]

    ev = Evidence(
        passages=hits(int(rng.integers(0, 30)), 1.0),
        sentences=hits(int(rng.integers(0, 60)), 1.0),
        lexical=hits(int(rng.integers(0, 20)), 10.0),
        documents={d: float(rng.random()) for d in set(owner.values()) if rng.random() < 0.6},
        metadata={d: float(rng.random()) for d in set(owner.values()) if rng.random() < 0.4},
        coverage={c: float(rng.integers(0, 5)) / 4 for c in range(n_chunks) if rng.random() < 0.7},
    )
    weights = replace(
        DEFAULT,
        sentence=float(rng.choice([0.0, 0.3])),
        metadata=float(rng.choice([0.0, 0.2])),
        lexical=float(rng.choice([0.0, 0.4])),
    )
    for method in ("hybrid", "dense"):
        for kind in ("question", "topic"):
            got = rank_documents(ev, method=method, weights=weights, kind=kind)
            rows = [(r.doc_id, r.score, r.chunk_id, r.dense, r.lexical) for r in got]
            assert rows == _fusion_by_loop(ev, method, weights, kind == "topic")
