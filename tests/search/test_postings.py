"""The passages' terms in memory: the same BM25, frequencies and coverage as FTS5, kept
current across writes, and used by searches only at their own generation."""

from __future__ import annotations

import time

import pytest

from search import lexical
from search.kb import KnowledgeBase
from search.postings import Postings, TermFollower

from .test_lexical import _doc

#: queries whose terms the reports below hold in different amounts and columns
QUERIES = [
    ["wasserstoff"],
    ["wasserstoff", "strom"],
    ["strom", "wind", "netz", "fehlt"],
    ["hafen", "wasserstoff", "strom", "wind"],
    ["fehlt"],
]


def _fill(kb: KnowledgeBase) -> None:
    kb.add_document(
        "a",
        _doc("a.md", "Wasserstoff im Hafen, Wasserstoff im Netz.", "Strom und Netze aus Wind."),
    )
    kb.add_document("b", _doc("b.md", "Wasserstoff und Strom aus Wind.", "Der Hafen wächst."))
    kb.add_document("c", _doc("c.md", "Strom, Strom und nochmals Strom für das Netz."))
    kb.update_metadata("c", {"title": "Wasserstoff im Netz"})


def _built(kb: KnowledgeBase) -> Postings:
    store = kb.index.current().store
    with store.read() as conn:
        return Postings.build(conn, store.generation())


def _assert_like_fts(kb: KnowledgeBase, postings: Postings) -> None:
    """Every query scores, counts and covers as FTS5 does, with and without narrowing."""
    store = kb.index.current().store
    conn = store.conn
    assert postings.n == store.chunk_count()
    for terms in QUERIES:
        assert postings.document_frequencies(terms) == lexical.document_frequencies(conn, terms)
        for within in (None, terms[:1], []):
            fts = lexical.search(conn, terms, 10, within=within)
            ours = postings.search(terms, 10, within)
            assert [c for c, _ in ours] == [c for c, _ in fts]
            assert [s for _, s in ours] == pytest.approx([s for _, s in fts], rel=1e-9)
        df = lexical.document_frequencies(conn, terms)
        ids = {c for c, _ in lexical.search(conn, ["strom", "wasserstoff", "hafen"], 10)}
        assert postings.coverage(terms, ids, df) == pytest.approx(
            lexical.coverage(conn, terms, ids, store.chunk_count(), df), rel=1e-12
        )


def test_bm25_frequencies_and_coverage_are_those_of_fts5(kb: KnowledgeBase):
    _fill(kb)
    postings = _built(kb)
    _assert_like_fts(kb, postings)
    hits = postings.search(["wasserstoff"], 10)
    # the passage with the word twice leads; the title counts for every passage of "c"
    assert hits[0][0] == 1 and {c for c, _ in hits} == {1, 3, 5}
    assert postings.search(["wasserstoff"], 10, ["fehlt"]) == []
    assert postings.search([], 10) == [] and postings.search(["fehlt"], 10) == []


def test_extended_postings_match_a_new_build(kb: KnowledgeBase):
    _fill(kb)
    store = kb.index.current().store
    old = _built(kb)
    kb.remove_document("a")
    kb.add_document("d", _doc("d.md", "Wind und Wasserstoff am Hafen.", "Netze für Strom."))
    with store.read() as conn:
        gen = store.generation()
        added, removed = store.log_between(old.generation, gen)["passages"]
        newer = old.extended(conn, gen, added, removed)
    assert newer.generation == gen and newer.changed == len(added) + len(removed)
    _assert_like_fts(kb, newer)
    assert old.n == 5 and newer.n == 5 - 2 + 2  # the older state is untouched
    with pytest.raises(ValueError, match="new ids"):
        with store.read() as conn:
            old.extended(conn, gen, {1}, set())


def _wait_current(follower: TermFollower, generation: int) -> Postings:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = follower.at(generation)
        if found is not None:
            return found
        time.sleep(0.02)
    raise AssertionError(f"the postings did not reach generation {generation}")


def test_the_follower_extends_on_adds_and_rebuilds_on_a_new_title(kb: KnowledgeBase):
    _fill(kb)
    handle = kb.index.current()
    follower = handle.terms
    assert follower.at(handle.store.generation()) is None  # not started: FTS5 answers
    kb.index.follow_terms()
    first = _wait_current(follower, handle.store.generation())
    kb.add_document("d", _doc("d.md", "Wind und Wasserstoff am Hafen."))
    second = _wait_current(follower, handle.store.generation())
    assert second.changed == 1  # extended, not rebuilt
    _assert_like_fts(kb, second)
    kb.update_metadata("d", {"title": "Strom vom Meer"})  # terms of a stored passage change
    third = _wait_current(follower, handle.store.generation())
    assert third.changed == 0 and third is not second  # built anew
    assert third.document_frequencies(["meer"]) == {"meer": 1}
    _assert_like_fts(kb, third)
    assert first.generation < second.generation < third.generation


def test_searches_use_the_postings_only_at_their_own_generation(kb: KnowledgeBase):
    _fill(kb)
    kb.warm_up()  # builds them before the first search
    follower = kb.index.current().terms
    with kb.index.reading() as view:
        assert view.postings is not None and view.postings.generation == view.generation
    with_postings = kb.search("Wasserstoff Strom")
    follower.close()  # no more refreshes: the next write leaves them behind
    time.sleep(0.05)
    kb.add_document("d", _doc("d.md", "Wasserstoff und Strom aus dem Hafen."))
    with kb.index.reading() as view:
        assert view.postings is None  # FTS5 answers meanwhile
    found = kb.search("Wasserstoff Strom")
    assert "d" in {h.id for h in found.results}
    assert found.total == with_postings.total + 1


def test_the_same_ranking_with_and_without_the_postings(filled_kb: KnowledgeBase):
    queries = ["Wasserstoff", "Fachkräfte im Handwerk", "hydrogen", "Kreislauf und Recycling"]
    before = [filled_kb.search(q) for q in queries]
    filled_kb.warm_up()
    _wait_current(filled_kb.index.current().terms, filled_kb.index.current().store.generation())
    after = [filled_kb.search(q) for q in queries]
    for old, new in zip(before, after, strict=True):
        assert [(h.id, h.score) for h in new.results] == [(h.id, h.score) for h in old.results]
        assert new.total == old.total


def test_a_term_fts5_reads_as_a_phrase_is_left_to_fts5(kb: KnowledgeBase):
    from search.retrieval import postings_for

    _fill(kb)
    kb.warm_up()
    _wait_current(kb.index.current().terms, kb.index.current().store.generation())
    with kb.index.reading() as view:
        assert postings_for(view, ["wasserstoff", "strom"]) is view.postings
        assert postings_for(view, ["wasser-stoff"]) is None
        assert postings_for(view, ["straße"]) is None


def test_closing_stops_a_build_and_waits_for_the_thread(kb: KnowledgeBase, monkeypatch):
    from search import postings as postings_module

    _fill(kb)
    monkeypatch.setattr(postings_module, "_BUILD_ROWS", 1)
    store = kb.index.current().store
    with store.read() as conn, pytest.raises(postings_module.Cancelled):
        Postings.build(conn, store.generation(), lambda: True)
    follower = kb.index.current().terms
    kb.index.follow_terms()
    follower.close()  # the store's connections may close right after
    assert follower._thread is not None and not follower._thread.is_alive()
    kb.close()


def test_ids_far_apart_keep_their_exact_values():
    import numpy as np

    from search.postings import _block

    # term 0: ids 70,000 apart (too far for a 16-bit gap); term 1: starts above 65,535
    terms = np.array([0, 1, 1, 0, 1], dtype=np.int32)
    chunks = np.array([3, 100_000, 100_002, 70_004, 100_002], dtype=np.int32)
    weights = np.array([4, 4, 3, 4, 2], dtype=np.uint8)
    order = np.argsort(chunks, kind="stable")
    base = _block({"fern": 0, "nah": 1}, terms[order], chunks[order], weights[order])
    assert list(base.wide) == [0] and base.wide[0].base is None  # a copy, not a view
    ids, tf = base.entries(0)
    assert ids.tolist() == [3, 70_004] and tf.tolist() == [4, 4]
    ids, tf = base.entries(1)
    assert ids.tolist() == [100_000, 100_002] and tf.tolist() == [4, 5]


def test_the_setting_leaves_everything_to_fts5(settings):
    settings = settings.model_copy(update={"term_postings": False})
    kb = KnowledgeBase.open(settings)
    try:
        _fill(kb)
        kb.warm_up()
        with kb.index.reading() as view:
            assert view.postings is None
        assert kb.index.current().terms._thread is None
        assert kb.search("Wasserstoff").results[0].id == "a"
    finally:
        kb.close()


def test_a_log_that_repeats_known_passages_leads_to_a_new_build(kb: KnowledgeBase):
    _fill(kb)
    kb.add_document("d", _doc("d.md", "Wind und Wasserstoff am Hafen."))
    store = kb.index.current().store
    follower = TermFollower(store)
    ahead = _built(kb)  # already holds the passages of the last write ...
    ahead.generation -= 1  # ... but claims the generation before it
    follower.current = ahead
    follower.refresh()  # replaying that write would add known ids: built anew instead
    assert follower.current is not ahead
    assert follower.current.generation == store.generation()
    _assert_like_fts(kb, follower.current)


def test_with_the_postings_the_lexical_part_needs_no_helper_thread(kb: KnowledgeBase, monkeypatch):
    _fill(kb)
    submitted = []
    real = kb._helpers.submit
    monkeypatch.setattr(kb._helpers, "submit", lambda *a, **k: submitted.append(a) or real(*a, **k))
    kb.search("Wasserstoff im Hafen")  # no postings yet: BM25 on FTS5, beside the vectors
    assert len(submitted) == 1
    kb.warm_up()
    found = kb.search("Wasserstoff im Hafen")
    assert len(submitted) == 1 and found.results


def test_equal_scores_at_the_cut_keep_the_lowest_ids_as_fts5_does(kb: KnowledgeBase):
    for name in "edcba":  # the same passage five times: five equal scores
        kb.add_document(name, _doc(f"{name}.md", "Wasserstoff im Netz.", "Strom aus Wind."))
    postings = _built(kb)
    conn = kb.index.current().store.conn
    for n in (1, 2, 4):
        ours = postings.search(["wasserstoff"], n)
        assert [c for c, _ in ours] == [c for c, _ in lexical.search(conn, ["wasserstoff"], n)]
        assert [c for c, _ in ours] == [1, 3, 5, 7][:n]


def test_a_failing_build_is_not_retried_at_every_search(kb: KnowledgeBase, monkeypatch, caplog):
    from search import postings as postings_module

    _fill(kb)
    builds = []

    def failing(cls, conn, generation, cancelled=None):
        builds.append(generation)
        raise RuntimeError("no memory left")

    monkeypatch.setattr(postings_module.Postings, "build", classmethod(failing))
    kb.warm_up()  # the first build fails: logged, and FTS5 answers
    assert builds == [kb.index.current().store.generation()]
    assert "not current: no memory left" in caplog.text
    for _ in range(3):
        assert kb.search("Wasserstoff").results
    time.sleep(0.2)
    assert len(builds) == 1  # the searches did not ask again
    kb.add_document("d", _doc("d.md", "Wasserstoff aus Wind."))
    kb.search("Wasserstoff")  # a new generation: one more try
    deadline = time.monotonic() + 10
    while len(builds) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.2)
    assert len(builds) == 2


def test_filtered_searches_give_the_same_answers_from_memory(settings):
    from search import retrieval
    from search.filters import Filters

    texts = [
        "Wasserstoff im Hafen und Strom aus Wind.",
        "Strom für das Netz, Wasserstoff für den Stahl.",
        "Der Hafen wächst, Wind weht.",
        "Wasserstoff, Wasserstoff und Netze.",
        "Strom und Wärme im Quartier.",
        "Wind und Wasserstoff im Norden.",
        "Netze und Speicher für Strom.",
    ]
    answers = {}
    for memory in (False, True):
        settings = settings.model_copy(
            update={"term_postings": memory, "index": settings.index.parent / f"i{memory}"}
        )
        kb = KnowledgeBase.open(settings)
        try:
            for i, text in enumerate(texts):
                kb.add_document(f"d{i}", _doc(f"d{i}.md", text, "Ein zweiter Abschnitt."))
                kb.update_metadata(f"d{i}", {"event": "Forum" if i == 1 else f"E{i % 2}"})
            kb.warm_up()
            with kb.index.reading() as view:
                assert (view.postings is not None) is memory
                # "Forum": 1 of 7 documents, few: passage ids; "E0": 4 of 7, broad: deeper
                assert retrieval.scope(view, Filters(event="Forum")).chunks is not None
                assert retrieval.scope(view, Filters(event="E0")).chunks is None
            got = []
            for event in ("Forum", "E0"):
                for ranking in ("hybrid", "lexical"):
                    found = kb.search(
                        "Wasserstoff Strom", ranking=ranking, filters=Filters(event=event)
                    )
                    got.append(([(h.id, h.score) for h in found.results], found.total))
            answers[memory] = got
        finally:
            kb.close()
    assert answers[True] == answers[False]
    assert [h for h, _ in answers[True][0][0]] == ["d1"]
