"""Tests of the German-aware lexical analyzer."""

import inspect
import math
import re
import sqlite3
import subprocess
import sys

import pytest

from search.analyze import (
    MAX_COMPOUND_CHARS,
    Analyzer,
    _best_split,
    _lexicon,
    split_compound,
)
from search.lexical import fts_query

TERM = re.compile(r"[a-z0-9]+")


@pytest.fixture(scope="module")
def an() -> Analyzer:
    return Analyzer()


def marked(text: str, spans: list[tuple[int, int]]) -> list[str]:
    return [text[a:b] for a, b in spans]


# -- decompounding -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("compound", "part"),
    [
        ("Wasserstoffstrategie", "Wasserstoff"),
        ("Wasserstoffstrategie", "Strategie"),
        ("Fachkräftemangel", "Fachkräfte"),
        ("Fachkräftemangel", "Mangel"),
        ("Industrieinitiativen", "Industrie"),
        ("Industrieinitiativen", "Initiativen"),
        ("Beratungsstelle", "Beratung"),
        ("Beratungsstelle", "Stelle"),
    ],
)
def test_compound_contains_query_terms_of_its_parts(an, compound, part):
    terms = an.index_terms(compound)
    assert set(an.query_terms(part)) <= set(terms)


def test_compound_keeps_its_whole_stem_first(an):
    terms = an.index_terms("Wasserstoffstrategie")
    assert terms[0] == an.query_terms("Wasserstoffstrategie")[0]
    # the parts are extra terms, not a replacement
    assert len(terms) > 1
    assert terms[0] not in an.index_terms("Wasserstoff")


def _fts_table(rows: dict[int, tuple[str, str]]) -> sqlite3.Connection:
    """An in-memory FTS5 table ``t`` laid out like the store's, from (terms, parts) rows."""
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5(terms, parts, title)")
    db.executemany(
        "INSERT INTO t(rowid, terms, parts, title) VALUES (?, ?, ?, '')",
        [(rowid, terms, parts) for rowid, (terms, parts) in rows.items()],
    )
    return db


def test_part_query_finds_compound_and_exact_compound_scores_higher(an):
    docs = {
        1: "Die Wasserstoffstrategie des Landes wurde vorgestellt.",
        2: "Eine Strategie für Wasserstoff und Windenergie.",
        3: "Der Fachkräftemangel trifft die Industrie.",
    }
    db = _fts_table({rowid: an.chunk_fields(text) for rowid, text in docs.items()})

    def search(query):
        sql = "SELECT rowid FROM t WHERE t MATCH ? ORDER BY bm25(t, 1.0, 0.75, 0.5)"
        return [r[0] for r in db.execute(sql, (fts_query(an.query_terms(query)),))]

    assert search("Wasserstoff")[:2] in ([1, 2], [2, 1])
    assert search("Wasserstoffstrategie")[0] == 1
    assert search("Fachkräfte") == [3]


@pytest.mark.parametrize("word", ["Verantwortung", "Unternehmen", "Veranstaltung", "Verbrauch"])
def test_non_compounds_are_not_split(an, word):
    assert len(an.index_terms(word)) == 1


def test_no_short_meaningless_parts(an):
    for word in ["Wasserstoffstrategie", "Fachkräftemangel", "Industrieinitiativen"]:
        for t in an.terms(word):
            assert t.end - t.start >= 4


def test_chunk_fields_separate_whole_words_and_parts(an):
    whole, parts = an.chunk_fields("Die Wasserstoffstrategie")
    assert whole.split() == an.query_terms("Wasserstoffstrategie")[:1]
    assert set(an.query_terms("Wasserstoff Strategie")) <= set(parts.split())


def test_the_lexicon_answers_like_the_word_list():
    from spellchecker import SpellChecker

    lex = _lexicon()
    assert lex is _lexicon()  # built once per process
    counts = SpellChecker(language="de", distance=1).word_frequency.dictionary
    # "wasserstoff" is a form of the list; its folded key keeps the log of its count
    assert math.isclose(lex["wasserstoff"], math.log(max(int(counts["wasserstoff"]), 1)))
    assert "wasserstoff" in lex and lex.get("wasserstoff") == lex["wasserstoff"]
    assert "fachkrafte" in lex  # folded: "Fachkräfte"
    assert "fachkräfte" not in lex and "qqxyzzy" not in lex
    assert lex.get("qqxyzzy") is None and lex.get("qqxyzzy", -1.0) == -1.0
    with pytest.raises(KeyError):
        lex["qqxyzzy"]
    assert len(lex) > 300_000


def test_building_the_lexicon_adds_nothing_to_the_fold_cache():
    # folding its 336k forms through the cached fold() kept the last 131k of them alive
    # (26 MB in every process); a fresh interpreter shows what the build leaves behind
    code = (
        "import search.analyze as a; n = a.fold.cache_info().currsize; a._lexicon(); "
        "print(n, a.fold.cache_info().currsize)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    before, after = out.stdout.split()
    assert after == before


def test_compound_splitting_needs_no_deep_stack():
    # The tails of a word are solved shortest first, so the stack stays flat: this
    # 444-letter word once needed a recursion level per letter.
    _lexicon()
    word = "wasserstoff" * 40 + "netz"
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack()) + 60)
    try:
        seg = _best_split(word)
    finally:
        sys.setrecursionlimit(limit)
    assert seg is not None
    assert [form for form, _, _ in seg[1]] == ["wasserstoff"] * 40 + ["netz"]


def test_very_long_words_are_indexed_whole(an):
    word = "Wasserstoff" * 110  # 1,210 letters: once a RecursionError that stopped ingest
    assert split_compound(word.lower()) == ()  # longer than MAX_COMPOUND_CHARS
    assert len(word) > MAX_COMPOUND_CHARS
    terms = an.terms(f"Bericht {word} Ende")
    long_terms = [t for t in terms if t.start == len("Bericht ")]
    assert [(t.end, t.part) for t in long_terms] == [(len("Bericht ") + len(word), False)]


def test_hyphenated_compound_gives_pieces_and_joined_form(an):
    terms = an.index_terms("CO2-Bilanz")
    assert terms[:2] == ["co2", "bilanz"]
    assert "co2bilanz" in terms
    emob = an.index_terms("E-Mobilität")
    assert an.query_terms("Mobilität")[0] in emob
    assert an.query_terms("Emobilität")[0] in emob


# -- folding -------------------------------------------------------------------------------


def test_umlaut_spellings_meet(an):
    forms = ["Fachkräfte", "Fachkraefte", "FACHKRÄFTE", "fachkrafte", "Fachkra\u0308fte"]
    assert len({tuple(an.query_terms(f)) for f in forms}) == 1
    assert an.index_terms("Fachkräftemangel") == an.index_terms("Fachkraeftemangel")


def test_sharp_s_meets_ss(an):
    assert an.query_terms("Straße") == an.query_terms("Strasse") == an.query_terms("STRASSE")


def test_terms_are_plain_ascii(an):
    text = "CO₂-Bilanz 6½ Ωmega café «Zürich» naïve Łódź 東京 😀 x² Kuechly's _x_ a\u0308"
    terms = an.index_terms(text)
    assert terms
    assert all(TERM.fullmatch(t) for t in terms)
    assert {"co2", "zurich", "lodz"} <= set(terms)


@pytest.mark.parametrize(
    "text",
    [
        "Wasserstoff-Netzwerk E\u2011Mobilität Nord\u2010Süd CO₂-Bilanz 6½ x² -Anfang Ende-",
        "Die Fachkra\u0308fte und Ka\u0308lte\u2011Technik, 2021-03-04, Zürich «naïve» 東京",
        "Mehr--Wert - Netz- und Stoffwechsel, Kuechly's 1.000 Euro",
    ],
)
def test_an_underscore_splits_words_and_texts_without_one_split_alike(an, text):
    # texts without "_" take a faster pattern: the same groups, so the same terms
    from search import analyze

    plain = [m.span() for m in analyze._GROUP_PLAIN.finditer(text)]
    assert plain == [m.span() for m in analyze._GROUP.finditer(text)]
    with_underscore = text.replace(" ", "_", 1)
    first, rest = text.split(" ", 1)
    assert an.index_terms(with_underscore) == an.index_terms(first + " " + rest)
    assert an.index_terms("source_url") == an.index_terms("source url")


# -- stop words and stemming -----------------------------------------------------------------


def test_german_and_english_stop_words_are_dropped(an):
    terms = an.index_terms("Die Zahl der Fachkräfte und the number of the workers is what")
    assert not {"die", "der", "und", "the", "of", "is", "what"} & set(terms)
    assert an.query_terms("Fachkräfte")[0] in terms
    assert an.query_terms("und die der the of") == []


def test_stemming(an):
    assert an.query_terms("Ausbildungsbetriebe")[0] == an.query_terms("Ausbildungsbetrieb")[0]
    assert an.query_terms("Betriebe") == an.query_terms("Betrieb")


def test_query_terms_unique_in_order_and_index_terms_keep_repeats(an):
    q = an.query_terms("Wasserstoff Emsland Wasserstoff")
    assert len(q) == len(set(q))
    assert q[0] == an.query_terms("Wasserstoff")[0]
    i = an.index_terms("Emsland Emsland Emsland")
    assert i == ["emsland"] * 3


def test_unknown_language_is_rejected():
    with pytest.raises(ValueError):
        Analyzer("xx")
    assert Analyzer("en").query_terms("the running workers") == ["run", "worker"]


# -- match spans -----------------------------------------------------------------------------


def test_spans_mark_part_of_compound(an):
    text = "Die Wasserstoffstrategie des Landes"
    assert marked(text, an.match_spans(text, "Wasserstoff")) == ["Wasserstoff"]
    text = "Der Fachkräftemangel wächst."
    assert marked(text, an.match_spans(text, "Fachkräfte")) == ["Fachkräfte"]
    text = "Neue Beratungsstelle eröffnet"
    assert marked(text, an.match_spans(text, "Beratung")) == ["Beratung"]


def test_spans_mark_whole_plain_words(an):
    text = "Grüner Wasserstoff aus dem Emsland: Forum lotet Chancen aus"
    spans = an.match_spans(text, "wasserstoff EMSLAND chance")
    assert marked(text, spans) == ["Wasserstoff", "Emsland", "Chancen"]


def test_spans_index_original_text_with_umlauts_and_folding(an):
    text = "Größere Straße für Fachkraefte, Grüße an die Bürger"
    spans = an.match_spans(text, "Strasse Fachkräfte buerger")
    assert marked(text, spans) == ["Straße", "Fachkraefte", "Bürger"]
    decomposed = "Die Fachkra\u0308fte"
    assert marked(decomposed, an.match_spans(decomposed, "Fachkräfte")) == ["Fachkra\u0308fte"]


def test_spans_sorted_and_not_overlapping(an):
    text = "Wasserstoffstrategie und Strategie"
    spans = an.match_spans(text, "Strategie Wasserstoff Wasserstoffstrategie")
    assert spans == sorted(spans)
    assert all(a[1] < b[0] for a, b in zip(spans, spans[1:], strict=False))
    assert marked(text, spans) == ["Wasserstoffstrategie", "Strategie"]


def test_spans_on_hyphenated_words(an):
    text = "Die E-Mobilität wächst"
    assert marked(text, an.match_spans(text, "Mobilität")) == ["Mobilität"]
    assert marked(text, an.match_spans(text, "Emobilität")) == ["E-Mobilität"]


def test_spans_without_matches(an):
    assert an.match_spans("Die Wasserstoffstrategie", "Kohle") == []
    assert an.match_spans("Die Wasserstoffstrategie", "") == []
    assert an.match_spans("Die Wasserstoffstrategie", "die der und") == []
    assert an.match_spans("", "Wasserstoff") == []


MARKED_TEXTS = [
    "Die Wasserstoffstrategie und das Wasserstoff-Netzwerk der E-Mobilität wachsen.",
    "Fachkräfte gesucht: Fachkräftemangel, Fachkräftesicherung; Kreislauf_wirtschaft.",
    "Skilled workers and hydrogen hubs - the KI-gestützte Fertigung in Sachsen-Anhalt.",
    "Straße, Strasse, Grüße: über Ökologie und Öko-Bilanz im Überblick",
    "",
]


@pytest.mark.parametrize("language", ["de", "en"])
@pytest.mark.parametrize(
    "query",
    ["Wasserstoff", "Mobilität Emobilität", "Fachkräfte Sicherung", "workers hydrogen", "Öko"],
)
def test_marked_is_the_spans_and_present_terms_of_the_full_analysis(language, query):
    an = Analyzer(language)
    wanted = set(an.query_terms(query))
    asked = wanted | set(an.query_terms("Bilanz Straße anhalt"))  # more terms than marked
    for text in MARKED_TEXTS:
        terms = an.terms(text)
        spans, present = an.marked(text, wanted, asked)
        assert spans == an.match_spans(text, query)
        assert present == {t.term for t in terms} & asked
    # the texts do have what is asked: the comparison is not between empty answers
    assert any(an.marked(text, wanted, asked)[0] for text in MARKED_TEXTS)
