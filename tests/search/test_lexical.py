"""The lexical retriever: query syntax, BM25 candidates, term statistics and coverage."""

from __future__ import annotations

import sqlite3

import pytest

from search import lexical
from search.analyze import Analyzer
from search.kb import KnowledgeBase
from search.lexical import fts_query
from search.models import Chunk, NewDocument

from .test_analyze import _fts_table


def _doc(source: str, *texts: str) -> NewDocument:
    chunks = [Chunk(text=t, position=i) for i, t in enumerate(texts)]
    return NewDocument(source=source, sha256="x", text="\n\n".join(texts), chunks=chunks, title="")


def test_lexical_statistics_follow_adds_and_removals(kb: KnowledgeBase):
    kb.add_document("a", _doc("a.md", "Wasserstoff im Hafen.", "Wasserstoff und Strom."))
    kb.add_document("b", _doc("b.md", "Strom aus Wind."))
    store = kb.index.current().store
    members, df = lexical.term_chunks(store.conn, ["wasserstoff", "strom", "fehlt"], [1, 2, 3])
    assert store.chunk_count() == 3
    assert df == {"wasserstoff": 2, "strom": 2, "fehlt": 0}
    assert members["wasserstoff"] == {1, 2} and members["strom"] == {2, 3}
    kb.remove_document("a")
    members, df = lexical.term_chunks(store.conn, ["wasserstoff", "strom"], [3])
    assert (store.chunk_count(), df) == (1, {"wasserstoff": 0, "strom": 1})
    assert members == {"wasserstoff": set(), "strom": {3}}


def test_bm25_candidates_and_coverage(kb: KnowledgeBase):
    kb.add_document("a", _doc("a.md", "Wasserstoff im Hafen.", "Strom und Netze."))
    kb.add_document("b", _doc("b.md", "Wasserstoff und Strom aus Wind."))
    conn = kb.index.current().store.conn
    hits = lexical.search(conn, ["wasserstoff", "strom"], 10)
    assert hits[0][0] == 3  # the chunk with both terms
    assert {c for c, _ in hits} == {1, 2, 3}
    cover = lexical.coverage(conn, ["wasserstoff", "strom", "fehlt"], {1, 2, 3}, 3)
    assert cover[3] > cover[1] > 0 and cover[3] < 1  # "fehlt" keeps its weight
    assert lexical.search(conn, [], 10) == [] and lexical.coverage(conn, [], {1}, 3) == {}


# -- fts_query ---------------------------------------------------------------------------------


@pytest.fixture()
def fts():
    rows = {
        1: "alpha near beta",
        2: "alphabet soup",
        3: "not delta",
        4: "and or",
        5: "terms foo",
        6: "gamma",
    }
    db = _fts_table({rowid: (text, "") for rowid, text in rows.items()})
    yield db
    db.close()


def match(db, expr):
    return sorted(r[0] for r in db.execute("SELECT rowid FROM t WHERE t MATCH ?", (expr,)))


def test_fts_query_or_of_quoted_terms(fts):
    expr = fts_query(["alpha", "gamma", "alpha"])
    assert expr == '"alpha" OR "gamma"'
    assert match(fts, expr) == [1, 6]


@pytest.mark.parametrize(
    ("terms", "expected"),
    [
        (["NOT"], [3]),  # a keyword stays a word
        (["AND", "OR"], [4]),
        (["NEAR"], [1]),
        (["NEAR(alpha beta)"], []),  # the phrase "near alpha beta", not a NEAR group
        (["alpha*"], [1]),  # no prefix query: alphabet does not match
        (["terms:gamma"], []),  # no column filter: the phrase "terms gamma" matches nothing
        (["terms:foo"], [5]),
        (['gamma" OR "alpha'], []),  # quotes cannot close the string
        (["(gamma", "delta)"], [3, 6]),
        (["^gamma", "-delta", "+beta"], [1, 3, 6]),
    ],
)
def test_fts_query_hostile_terms_are_literal(fts, terms, expected):
    assert match(fts, fts_query(terms)) == expected


def test_fts_query_empty(fts):
    assert fts_query([]) == ""
    assert fts_query(["", '"', "***", "()"]) == ""


def test_hostile_user_query_through_analyzer():
    an = Analyzer()
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5(terms, parts, title)")
    terms, parts = an.chunk_fields("Die Wasserstoffstrategie des Landes")
    db.execute("INSERT INTO t(rowid, terms, parts, title) VALUES (1, ?, ?, '')", (terms, parts))
    for query in [
        'Wasserstoff" OR NEAR(* AND',
        "Wasserstoff NOT Kohle",
        "wasserstoff* ^strategie",
        'title:wasserstoff "',
    ]:
        expr = fts_query(an.query_terms(query))
        rows = db.execute("SELECT rowid FROM t WHERE t MATCH ?", (expr,)).fetchall()
        assert rows == [(1,)]
    assert fts_query(an.query_terms('" * ( ) : ^')) == ""


def test_fts_query_strips_nul_and_quotes(fts):
    assert match(fts, fts_query(['gamma\x00" OR "alpha'])) == []
    assert match(fts, fts_query(["gamma\x00"])) == [6]
    assert fts_query(["\x00"]) == ""


def test_query_words_group_each_words_parts_and_flatten_to_the_query_terms():
    analyzer = Analyzer()
    query = "Wasserstoffstrategie und Fachkräfte"
    words = analyzer.query_words(query)
    assert [w for w, _ in words] == ["wasserstoffstrategi", "fachkraft"]
    assert "wasserstoff" in words[0][1] and "kraft" in words[1][1]
    assert [t for w, parts in words for t in (w, *parts)] == analyzer.query_terms(query)


def test_bm25_candidates_use_the_parts_of_a_word_only_where_the_index_lacks_it(
    kb: KnowledgeBase,
):
    """A known compound finds its passages itself; its common parts ("werk") would make
    FTS5 score every passage holding them. An unknown compound falls back to its parts."""
    from search import retrieval

    def doc(source: str, text: str) -> NewDocument:
        return NewDocument(
            source=source,
            sha256=source,
            text=text,
            chunks=[Chunk(text=text, position=0)],
            title="Bericht",
        )

    kb.add_document("netz", doc("netz.md", "Das Netzwerk der Betriebe trifft sich."))
    kb.add_document("werk", doc("werk.md", "Das Werk in Kassel stellt Achsen her."))
    analyzer = kb.analyzer

    def candidates(view, query: str) -> list[str]:
        df = lexical.document_frequencies(view.store.conn, analyzer.query_terms(query))
        return retrieval.candidate_terms(analyzer.query_words(query), df)

    with kb.index.reading() as view:
        known = candidates(view, "Netzwerk")
        unknown = candidates(view, "Netzwerkpflege")
        hits = retrieval.lexical(view, known, 10)
        every = retrieval.lexical(view, analyzer.query_terms("Netzwerk"), 10)
    assert known == ["netzwerk"]
    assert unknown[0] == "netzwerkpfleg" and {"netzwerk", "werk"} <= set(unknown)
    chunk_docs = kb.index.current().store.chunk_docs
    assert set(chunk_docs([c for c, _ in hits]).values()) == {"netz"}
    assert set(chunk_docs([c for c, _ in every]).values()) == {"netz", "werk"}
    # the hybrid search still counts the parts in the coverage of its candidates
    assert kb.search("Netzwerk", ranking="hybrid").results[0].id == "netz"


# -- common terms ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("terms", "df", "expected"),
    [
        (["wasserstoff", "industri"], {"wasserstoff": 3, "industri": 40}, ["wasserstoff"]),
        # every term common: no BM25 candidates at all
        (["industri", "netzwerk"], {"industri": 40, "netzwerk": 30}, []),
        (["industri"], {"industri": 40}, []),
        (["industri", "industri"], {"industri": 40}, []),
        # exactly at the share is not common
        (["industri", "hafen"], {"industri": 5, "hafen": 4}, None),
        # nothing common: all terms, as before
        (["wasserstoff", "hafen"], {"wasserstoff": 3, "hafen": 4}, None),
        (["wasserstoff"], {"wasserstoff": 3}, None),
        # a term the corpus does not hold neither narrows nor counts as distinctive
        (["fehlt", "wasserstoff"], {"wasserstoff": 3}, None),
        (["fehlt", "industri"], {"industri": 40}, []),
        (["fehlt"], {}, None),
    ],
)
def test_distinctive_terms(terms, df, expected, monkeypatch):
    monkeypatch.setattr(lexical, "COMMON_MIN", 0)  # 5% of 100 passages: more than 5
    assert lexical.distinctive(terms, df, 100) == expected


def test_a_term_in_few_passages_is_never_common():
    # 5% of 10,000 passages would be 500; BM25 over 800 costs under a millisecond
    df = {"industri": 800, "wasserstoff": 3}
    assert lexical.distinctive(["industri", "wasserstoff"], df, 10_000) is None
    df = {"industri": 1_200, "wasserstoff": 3}
    assert lexical.distinctive(["industri", "wasserstoff"], df, 10_000) == ["wasserstoff"]
    assert lexical.distinctive(["industri"], {"industri": 1_200}, 10_000) == []
    assert lexical.distinctive(["industri"], {"industri": 6_000}, 100_000) == []
    assert lexical.distinctive(["industri"], {"industri": 4_000}, 100_000) is None


def test_bm25_within_distinctive_terms_keeps_the_full_scores(kb: KnowledgeBase, monkeypatch):
    _common_above_a_tenth(monkeypatch)  # a corpus of 20 passages
    texts = [f"Die Industrie im Bericht {i}." for i in range(18)]
    texts += ["Wasserstoff für die Industrie.", "Wasserstoff im Hafen."]
    for i, text in enumerate(texts):
        kb.add_document(f"d{i}", _doc(f"d{i}.md", text))
    conn = kb.index.current().store.conn
    terms = ["wasserstoff", "industri"]
    df = lexical.document_frequencies(conn, terms)
    assert df == {"wasserstoff": 2, "industri": 19}
    rare = lexical.distinctive(terms, df, kb.index.current().store.chunk_count())
    assert rare == ["wasserstoff"]
    full = dict(lexical.search(conn, terms, 50))
    narrow = lexical.search(conn, terms, 50, within=rare)
    # only the passages that hold "wasserstoff", scored with both terms
    assert [c for c, _ in narrow] == [19, 20]
    assert all(score == pytest.approx(full[c]) for c, score in narrow)
    assert len(full) == 20


def _record_bm25(monkeypatch) -> list[list[int]]:
    """The chunk ids of every BM25 search from now on, one list per search."""
    seen: list[list[int]] = []
    search = lexical.search

    def recorded(*args, **kwargs):
        hits = search(*args, **kwargs)
        seen.append([c for c, _ in hits])
        return hits

    monkeypatch.setattr(lexical, "search", recorded)
    return seen


def _common_above_a_tenth(monkeypatch) -> None:
    """A few passages: at 5% one passage would already be common."""
    monkeypatch.setattr(lexical, "COMMON_MIN", 0)
    monkeypatch.setattr(lexical, "COMMON_SHARE", 0.1)


def test_hybrid_candidates_leave_out_common_only_passages(kb: KnowledgeBase, monkeypatch):
    _common_above_a_tenth(monkeypatch)  # a corpus of 19 passages
    for i in range(18):
        kb.add_document(f"d{i}", _doc(f"d{i}.md", f"Die Industrie im Bericht {i}."))
    kb.add_document("h2", _doc("h2.md", "Wasserstoff für die Industrie."))
    seen = _record_bm25(monkeypatch)
    kb.search("Wasserstoff Industrie", ranking="hybrid")
    kb.search("Wasserstoff Industrie", ranking="lexical")
    hybrid, exact = seen
    assert hybrid == [19]  # the one passage with the rarer word
    assert len(exact) == 19 and exact[0] == 19  # the lexical ranking stays whole


def test_a_query_of_common_words_takes_its_candidates_from_the_vectors(
    kb: KnowledgeBase, monkeypatch
):
    for i in range(19):
        kb.add_document(f"d{i}", _doc(f"d{i}.md", f"Die Industrie im Bericht {i}."))
    kb.add_document("h", _doc("h.md", "Wasserstoff im Hafen."))
    seen = _record_bm25(monkeypatch)
    _common_above_a_tenth(monkeypatch)  # a corpus of 20 passages
    hybrid = kb.search("Industrie", ranking="hybrid", k=30)
    exact = kb.search("Industrie", ranking="lexical", k=30)
    assert seen[0] == []  # "industri" is in 19 of 20 passages: no BM25 candidates
    assert len(seen[1]) == 19  # the lexical ranking stays whole
    # the vectors still bring the reports, and those with the word lead
    assert {h.id for h in hybrid.results[:19]} == {f"d{i}" for i in range(19)}
    assert {h.id for h in exact.results} == {f"d{i}" for i in range(19)}
