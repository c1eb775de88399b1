"""The knowledge base: writes, consistency of SQLite and FAISS, search results."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from ingest.pipeline import ingest_files, iter_files
from search.embedders import FakeEmbedder
from search.errors import DocumentNotFound, EmbedderMismatch, IndexNotFound, InvalidQuery
from search.kb import KnowledgeBase
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
    assert [h.id for h in kb.search("fünf sechs", every_candidate=True).results] == ["a"]
    assert all(h.id != "b" for h in kb.search("sechs", ranking="lexical").results)


def test_remove_unknown_document_is_a_clear_error(kb: KnowledgeBase):
    with pytest.raises(DocumentNotFound, match="nope"):
        kb.remove_document("nope")


def test_failed_write_leaves_no_half_written_document(kb: KnowledgeBase, monkeypatch):
    kb.add_document("keep", _doc("keep.md", "bleibt"))

    def disk_full(cur) -> int:  # fails after chunks and terms were inserted
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(kb.index.current().store, "_bump_generation", disk_full)
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


def _snapshots(settings: Settings) -> list:
    return sorted(settings.index.glob("store-*/vectors/*.faiss"))


def test_lost_or_stale_vector_snapshots_are_rebuilt_from_the_store(settings: Settings, reports):
    kb = KnowledgeBase.open(settings)
    ingest_files(kb, iter_files([reports]))
    before = [h.id for h in kb.search("Fachkräfte Ausbildung").results]
    chunks = kb.stats()["chunks"]
    kb.close()
    assert _snapshots(settings), "a bulk ingest ends with a vector snapshot"
    for path in _snapshots(settings):
        path.unlink()
    kb = KnowledgeBase.open(settings)
    assert kb.stats()["vectors"] == chunks
    assert [h.id for h in kb.search("Fachkräfte Ausbildung").results] == before
    # a write after the last snapshot (or a crash after the SQLite commit) is replayed
    kb.add_document("neu", _doc("neu.md", "Kreislaufwirtschaft und Recycling"))
    kb.close()
    kb = KnowledgeBase.open(settings)
    assert kb.stats()["vectors"] == chunks + 1
    assert kb.search("Recycling", ranking="dense").results[0].id == "neu"
    kb.close()
    # a damaged snapshot is not used
    with KnowledgeBase.open(settings).bulk():
        pass
    for path in _snapshots(settings):
        path.write_bytes(b"not faiss")
    kb = KnowledgeBase.open(settings)
    assert kb.stats()["vectors"] == chunks + 1
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
    query = "Fachkräfte Wasserstoff Digitalisierung Kreislaufwirtschaft"
    full = filled_kb.search(query, k=4)
    assert full.total == len(full.results) >= 2  # the matching reports, all on one page
    first = filled_kb.search(query, k=2)
    second = filled_kb.search(query, k=2, offset=2)
    assert first.total == second.total == full.total
    assert [h.id for h in first.results + second.results] == [h.id for h in full.results]
    everything = filled_kb.search(query, k=10, every_candidate=True)
    assert everything.total == 4 >= full.total


def test_every_ranking_finds_the_report(filled_kb: KnowledgeBase):
    for ranking in ("hybrid", "dense", "lexical"):
        hits = filled_kb.search("Fachkräftemangel", ranking=ranking).results
        assert hits[0].id == "fachkraefte-treffen", ranking
    with pytest.raises(InvalidQuery, match="ranking"):
        filled_kb.search("x", ranking="magic")


def test_search_on_an_empty_index_finds_nothing(kb: KnowledgeBase):
    for ranking in ("hybrid", "dense", "lexical"):
        response = kb.search("Wasserstoff", ranking=ranking)
        assert (response.total, response.results) == (0, [])


def test_lookups_by_many_ids_are_batched_below_sqlites_variable_limit(kb: KnowledgeBase):
    kb.add_document("a", _doc("a.md", "eins", "zwei"))
    many = list(range(1, 40_000))  # more ids than SQLite binds in one statement
    store = kb.index.current().store
    assert store.chunk_docs(many) == {1: "a", 2: "a"}
    assert set(store.chunks(many)) == {1, 2}


@pytest.mark.parametrize("limit", [1, 2])
def test_searches_take_turns_up_to_the_configured_number(tmp_path, monkeypatch, limit):
    """``search_concurrency`` searches run at once; more wait, none is refused."""
    import threading

    kb = KnowledgeBase.open(
        Settings(index=tmp_path / "index", embedder="fake", search_concurrency=limit)
    )
    kb.add_document("a", _doc("a.md", "Wasserstoff für die Stahlindustrie"))
    inside, most, lock = 0, 0, threading.Lock()
    real = kb._search

    def counted(*args):
        nonlocal inside, most
        with lock:
            inside += 1
            most = max(most, inside)
        try:
            threading.Event().wait(0.02)  # long enough for the others to arrive
            return real(*args)
        finally:
            with lock:
                inside -= 1

    monkeypatch.setattr(kb, "_search", counted)
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(kb.search("Wasserstoff").total))
        for _ in range(6)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    kb.close()
    assert results == [1] * 6
    assert most == limit


def test_document_metadata_is_cached_per_generation_and_fresh_after_a_write(kb: KnowledgeBase):
    kb.add_document("a", _doc("a.md", "Wasserstoff", title="Alt"))
    before = kb.search("Wasserstoff")  # the facet table of this generation holds "a" now
    assert before.total == 1 and before.facets["topics"] == []  # no topics yet
    with kb.index.reading() as view:
        first = view.store.documents_meta(["a"], view.generation)
        again = view.store.documents_meta(["a"], view.generation)
        assert again["a"] is first["a"]  # served from memory
        gen = view.generation
    kb.update_metadata("a", {"title": "Neu", "topics": ["Energie"]})
    with kb.index.reading() as view:
        assert view.generation > gen
        assert view.store.documents_meta(["a"], view.generation)["a"]["title"] == "Neu"
    hit = kb.search("Wasserstoff")
    assert hit.results[0].title == "Neu"
    assert [f.value for f in hit.facets["topics"]] == ["Energie"]


def test_warm_up_moves_loaded_objects_out_of_the_collectors_sight(kb: KnowledgeBase):
    import gc

    gc.unfreeze()
    thresholds = gc.get_threshold()
    kb.warm_up()
    try:
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold()[0] == 10_000  # young objects: collected less often
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


def test_the_lexical_part_runs_beside_the_vectors_in_the_same_read(filled_kb, monkeypatch):
    """BM25 runs on a helper thread while the query is embedded: on the reading thread's
    connection (the same snapshot), with the same answer as run in line, and a failure
    there reaches the caller and leaves the next search working."""
    import threading

    from search import lexical, retrieval
    from search.errors import KBError
    from search.ranking import FusionWeights, Ranking, query_kind

    kb = filled_kb
    seen: list[tuple[str, int]] = []
    search = lexical.search

    def recorded(conn, *args, **kwargs):
        seen.append((threading.current_thread().name, id(conn)))
        return search(conn, *args, **kwargs)

    monkeypatch.setattr(lexical, "search", recorded)
    query = "Wasserstoff im Hafen und Fachkräfte"
    beside = [(h.id, h.score) for h in kb.search(query, k=5).results]
    ((thread, conn_id),) = seen
    assert thread.startswith("kb-lexical")
    # in line, in one read: the same ranking
    words = kb.analyzer.query_words(query)
    terms = list(dict.fromkeys(t for whole, parts in words for t in (whole, *parts)))
    with kb.index.reading() as view:
        assert id(view.store.conn) == conn_id  # the connection of the reading thread
        qvec = kb.embedder.embed_queries([query])[0]
        weights = FusionWeights.from_settings(kb.settings)
        ranked, _ = retrieval.rank(
            view,
            qvec,
            terms,
            kb.settings.candidates,
            Ranking.HYBRID,
            weights,
            query_kind(query),
            None,
            words,
        )
    assert [r.doc_id for r in ranked][: len(beside)] == [d for d, _ in beside]

    def broken(*args, **kwargs):
        raise KBError("lexical index unreadable")

    monkeypatch.setattr(lexical, "search", broken)
    with pytest.raises(KBError, match="unreadable"):
        kb.search(query)
    monkeypatch.setattr(lexical, "search", search)
    assert [(h.id, h.score) for h in kb.search(query, k=5).results] == beside
