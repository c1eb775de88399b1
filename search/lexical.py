"""The lexical retriever: FTS5 tables, query syntax, BM25 candidates and term coverage.

Terms come from ``search.analyze.Analyzer`` (folded, stemmed, compound parts split), so
the FTS5 table keeps its default ``unicode61`` tokenizer and stores each chunk's terms
joined by spaces in three columns: whole-word stems, compound parts, document title.

Two kinds of evidence leave this module:

* ``search`` — the top-n chunks by BM25 (column weights ``FTS_WEIGHTS``), the lexical
  candidates of every ranking;
* ``coverage`` — the IDF-weighted share of the query terms each candidate chunk contains,
  in [0, 1] (see ``term_coverage``), which the hybrid ranking adds to the dense score.

Every function takes the caller's connection or cursor, so lexical writes share the
document's transaction and lexical reads share the request's snapshot.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Collection, Iterable, Mapping, Sequence

import numpy as np

SCHEMA = """
CREATE VIRTUAL TABLE IF NOT EXISTS chunk_fts USING fts5(terms, parts, title);
-- per-term row counts of chunk_fts (document frequency), kept current by FTS5 itself
CREATE VIRTUAL TABLE IF NOT EXISTS chunk_vocab USING fts5vocab(chunk_fts, 'row');
"""

#: bm25 column weights of chunk_fts: whole-word stems, compound parts, document title
FTS_WEIGHTS = (1.0, 0.75, 0.5)

#: ids bound per ``IN (...)`` query, well below SQLite's limit on variables
IN_BATCH = 500

#: a query term in more than this share of the passages, and in more than COMMON_MIN
#: of them, is common: passages that hold only common query terms are not BM25
#: candidates of the hybrid ranking (see ``distinctive``)
COMMON_SHARE = 0.05

#: below this many passages BM25 over a term costs under a millisecond: never common
COMMON_MIN = 1_000


def select_in(conn: sqlite3.Connection, sql: str, values: Sequence) -> Iterable[sqlite3.Row]:
    """Rows of ``sql`` whose ``{marks}`` placeholder takes ``values``, in batches that stay
    below SQLite's limit on bound variables."""
    values = list(values)
    for start in range(0, len(values), IN_BATCH):
        batch = values[start : start + IN_BATCH]
        yield from conn.execute(sql.format(marks=",".join("?" * len(batch))), batch)


# -- writes (inside the caller's transaction) -------------------------------------------


def index_chunk(
    cur: sqlite3.Cursor, chunk_id: int, terms: str, parts: str, title_terms: str
) -> None:
    """Add one chunk's terms (each column's terms joined by spaces)."""
    cur.execute(
        "INSERT INTO chunk_fts(rowid, terms, parts, title) VALUES (?,?,?,?)",
        (chunk_id, terms, parts, title_terms),
    )


def drop_chunks(cur: sqlite3.Cursor, chunk_ids: Sequence[int]) -> None:
    """Remove chunks' terms."""
    cur.executemany("DELETE FROM chunk_fts WHERE rowid = ?", [(int(i),) for i in chunk_ids])


def set_title(cur: sqlite3.Cursor, chunk_ids: Sequence[int], title_terms: str) -> None:
    """Replace the title terms of a document's chunks (a corrected title)."""
    cur.executemany(
        "UPDATE chunk_fts SET title = ? WHERE rowid = ?",
        [(title_terms, int(i)) for i in chunk_ids],
    )


# -- query syntax -----------------------------------------------------------------------


def fts_query(terms: Sequence[str]) -> str:
    """A safe FTS5 MATCH expression OR-ing ``terms``; "" if there are none.

    Characters other than letters and digits become spaces (the unicode61 tokenizer
    splits on them anyway), which removes quotes, ``*``, ``^``, ``:``, ``+``, ``-``,
    parentheses and NUL; each term is then a double-quoted string, so the keywords AND,
    OR, NOT and NEAR stay plain words. Terms with no letter or digit are dropped.
    """
    quoted = []
    for term in dict.fromkeys(terms):
        words = "".join(c if c.isalnum() else " " for c in term).split()
        if words:
            quoted.append('"' + " ".join(words) + '"')
    return " OR ".join(dict.fromkeys(quoted))


# -- reads ------------------------------------------------------------------------------


def distinctive(terms: Sequence[str], df: Mapping[str, int], n_chunks: int) -> list[str] | None:
    """The query terms a BM25 candidate must hold one of: those that are not common (see
    ``COMMON_SHARE`` and ``COMMON_MIN``); an empty list when every term is common (no
    BM25 candidates); None when no term is common (all terms, no restriction).

    FTS5 computes BM25 for every passage that holds any query term, and that cost grows
    with the most common one ("industri" is in a quarter of the passages of a news
    corpus: 16 ms at 100,000 passages). A passage holding only the common terms scores
    low (their IDF is low), so only passages holding a rarer term are scored, still
    with every query term. Where they are fewer than asked for, the list is shorter:
    a candidate with only common words would hardly rank. A query of common words only
    ("Wasserstoff" in a tenth of the passages) gets its candidates from the vectors: a
    passage holding its words gains as much coverage in the fusion as any BM25 pick
    would, and BM25 would only have chosen 100 of thousands of equal holders (10 ms at
    100,000 passages).
    """
    known = [t for t in dict.fromkeys(terms) if df.get(t, 0) > 0]
    if not known:
        return None
    limit = max(COMMON_SHARE * n_chunks, COMMON_MIN)
    rare = [t for t in known if df[t] <= limit]
    return None if len(rare) == len(known) else rare


def search(
    conn: sqlite3.Connection,
    terms: Sequence[str],
    n: int,
    where: tuple[str, Sequence] | None = None,
    within: Sequence[str] | None = None,
) -> list[tuple[int, float]]:
    """Top-n (chunk id, BM25 score over ``terms``; higher is better) for chunks with any
    of ``terms``; with ``where`` (a condition on ``documents d`` and its parameters) only
    chunks of the documents it admits; with ``within`` (terms, see ``distinctive``) only
    chunks that hold one of those, none if it is empty."""
    match = fts_query(terms)
    if not match or (within is not None and not within):  # empty within: all common
        return []
    w = FTS_WEIGHTS
    restrict, params = "", []
    if where is not None:
        # "+rowid": an expression, not a column, so FTS5 is not asked to look up each
        # admitted id (400 ms at 3,000 reports); the list is built once and only tested
        restrict = (
            " AND +rowid IN (SELECT c.id FROM chunks c JOIN documents d ON d.id = c.doc_id "
            f"WHERE {where[0]})"
        )
        params = list(where[1])
    narrow = fts_query(within) if within else ""
    if narrow:
        # tested per matching row like the filter; bm25() then runs only for rows that
        # pass, and still over every phrase of the full expression
        restrict += " AND +rowid IN (SELECT rowid FROM chunk_fts WHERE chunk_fts MATCH ?)"
        params.append(narrow)
    rows = conn.execute(
        f"SELECT rowid, -bm25(chunk_fts, {w[0]}, {w[1]}, {w[2]}) AS s FROM chunk_fts "
        f"WHERE chunk_fts MATCH ?{restrict} ORDER BY s DESC LIMIT ?",
        (match, *params, n),
    ).fetchall()
    return [(int(r[0]), float(r[1])) for r in rows]


def document_frequencies(conn: sqlite3.Connection, terms: Sequence[str]) -> dict[str, int]:
    """How many passages hold each of ``terms`` (absent terms are left out)."""
    return {
        term: int(count)
        for term, count in select_in(
            conn, "SELECT term, doc FROM chunk_vocab WHERE term IN ({marks})", list(terms)
        )
    }


def term_chunks(
    conn: sqlite3.Connection,
    terms: Sequence[str],
    chunk_ids: Collection[int],
    known_df: Mapping[str, int] | None = None,
) -> tuple[dict[str, set[int]], dict[str, int]]:
    """Which of ``chunk_ids`` contain each term (in any column), and each term's document
    frequency over all chunks.

    Frequencies come from the FTS5 vocabulary and membership from the candidates' stored
    terms, so the cost does not grow with how common a term is.
    """
    wanted = list(dict.fromkeys(terms))
    df = dict.fromkeys(wanted, 0)
    df.update(document_frequencies(conn, wanted) if known_df is None else known_df)
    members: dict[str, set[int]] = {t: set() for t in wanted}
    needles = [(t, f" {t} ") for t in wanted]
    # FTS5 keeps the columns in its content table (id, c0, c1, c2); read there, the
    # rows skip the virtual table's cursor: 35% less time for the same rows
    for rowid, whole, parts, title in select_in(
        conn,
        "SELECT id, c0, c1, c2 FROM chunk_fts_content WHERE id IN ({marks})",
        [int(c) for c in chunk_ids],
    ):
        # substring search on space-padded terms: much cheaper than splitting
        present = f" {whole} {parts} {title} "
        for term, padded in needles:
            if padded in present:
                members[term].add(rowid)
    return members, df


def coverage(
    conn: sqlite3.Connection,
    terms: Sequence[str],
    chunk_ids: Collection[int],
    n_chunks: int,
    df: Mapping[str, int] | None = None,
) -> dict[int, float]:
    """IDF-weighted share of the query ``terms`` each of ``chunk_ids`` contains.

    ``n_chunks`` is the number of all chunks (the IDF's N); ``df``, the terms' document
    frequencies if the caller looked them up already (``document_frequencies``).
    """
    if not terms or not chunk_ids:
        return {}
    members, df = term_chunks(conn, terms, chunk_ids, df)
    return term_coverage(members, chunk_ids, n_chunks, df)


def idf(df: int, n: int) -> float:
    """Inverse document frequency of a term in ``df`` of ``n`` passages (always > 0)."""
    return math.log((n + 1) / (df + 0.5))


def term_coverage(
    postings: Mapping[str, Collection[int]],
    chunks: Iterable[int],
    n_chunks: int,
    df: Mapping[str, int] | None = None,
) -> dict[int, float]:
    """IDF-weighted share of the query terms each of ``chunks`` contains, in [0, 1].

    ``postings`` maps every query term to the ids of the chunks that contain it: all of
    them, or only those among ``chunks`` when ``df`` gives each term's document
    frequency over the whole corpus. A term absent from the corpus keeps its full IDF
    in the denominator: a query whose words the corpus does not know gets a low
    coverage everywhere.
    """
    if df is None:
        df = {t: len(ids) for t, ids in postings.items()}
    chunks = list(chunks)
    holds = {
        t: np.fromiter((c in ids for c in chunks), dtype=bool, count=len(chunks))
        for t, ids in postings.items()
    }
    return coverage_of(holds, np.asarray(chunks, dtype=np.int64), n_chunks, df)


def coverage_of(
    holds: Mapping[str, np.ndarray], chunks: np.ndarray, n_chunks: int, df: Mapping[str, int]
) -> dict[int, float]:
    """``term_coverage`` given, per query term, which of ``chunks`` hold it (a boolean
    array along ``chunks``); chunks that hold none are left out. The in-memory postings
    and FTS5 both end here, so their coverages are the same floats."""
    weights = {t: idf(df.get(t, 0), n_chunks) for t in holds}
    total = sum(weights.values())
    if total <= 0 or not len(chunks):
        return {}
    # each chunk adds up the weights of the terms it holds, in the terms' order
    mass = np.zeros(len(chunks))
    for t, w in weights.items():
        mass[holds[t]] += w
    share = mass / total
    kept = share > 0
    return dict(zip(chunks[kept].tolist(), share[kept].tolist(), strict=True))
