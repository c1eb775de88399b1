"""The passages' terms in memory: BM25 candidates, document frequencies and coverage
without walking FTS5's posting lists.

FTS5 computes BM25 for every row that holds a query term, one row at a time: 6-14 ms
for a query with a term in thousands of passages of 100,000, the largest part of the
slowest searches. Here every term's postings (passage ids and the column-weighted
frequency of the term in each) are numpy arrays, so the same scores take one vector
operation per term.

* ``Postings`` is the index at one generation of the store, immutable: built from
  FTS5's content table (``build``) or from an older one plus the passages that a
  later generation added and removed (``Postings.extended``). Its BM25 is FTS5's
  ``bm25()``: the same formula, column weights, N, average length and IDF.
* ``TermFollower`` keeps one per store current on a background thread. A search uses
  it only when it is at exactly the generation of the search's read transaction, and
  FTS5 otherwise (``search.lexical``): right after a write, and while the first
  build runs.

FTS5 stays the store of the terms; these arrays are derived and never written to disk.
"""

from __future__ import annotations

import contextlib
import logging
import math
import sqlite3
import threading
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .analyze import give_back_freed_memory
from .lexical import FTS_WEIGHTS, IN_BATCH, coverage_of
from .store import TERMS_CHANGED

log = logging.getLogger(__name__)

#: FTS5's bm25() constants
K1 = 1.2
B = 0.75
#: frequencies are kept in quarters (the column weights are multiples of 1/4), in one
#: byte: a term more than 63 times in one passage counts 63.75 times (BM25 saturates
#: long before: 63.75 scores 99.5% of an endless repetition)
_QUARTERS = tuple(int(w * 4) for w in FTS_WEIGHTS)
_TF_MAX = 255
#: rebuild instead of extending once the passages added or removed since the last build
#: are this share of it: removed passages' postings stay until then, masked
REBUILD_SHARE = 0.2
#: rows per batch while building (bounds the build's temporary lists)
_BUILD_ROWS = 1_024


def usable_term(term: str) -> bool:
    """Whether FTS5 reads ``term`` as one token, the same as ``split()`` does here
    (the analyzer's terms are folded ASCII letters and digits)."""
    return term.isascii() and term.isalnum()


@dataclass(frozen=True)
class _Base:
    """Postings in one block: term t's entries are ``start[t]:start[t + 1]``.

    Passage ids are stored as gaps to the previous id of the same term in 16 bits (half
    the memory of the ids: 15 MB less per worker at 100,000 passages), from the term's
    ``first`` id; the few terms with a larger gap keep their ids in ``wide``.
    """

    vocab: dict[str, int]
    start: np.ndarray  # int64, len(vocab) + 1
    first: np.ndarray  # int32 first passage id per term
    gaps: np.ndarray  # uint16 gaps between a term's ascending passage ids (0 first)
    wide: dict[int, np.ndarray]  # term -> int32 passage ids, where a gap does not fit
    tf: np.ndarray  # uint8, column-weighted frequency in quarters

    def entries(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        """(passage ids, frequencies in quarters) of term number ``t``."""
        lo, hi = self.start[t], self.start[t + 1]
        ids = self.wide.get(t)
        if ids is None:
            ids = np.cumsum(self.gaps[lo:hi], dtype=np.int64)
            ids += self.first[t]
        return ids, self.tf[lo:hi]

    @property
    def nbytes(self) -> int:
        """Bytes held by the arrays."""
        wide = sum(a.nbytes for a in self.wide.values())
        return self.start.nbytes + self.first.nbytes + self.gaps.nbytes + wide + self.tf.nbytes


class Postings:
    """Every passage's terms at one generation of the store (see the module's doc)."""

    def __init__(
        self,
        generation: int,
        base: _Base,
        tail: dict[str, tuple[np.ndarray, np.ndarray]],
        length: np.ndarray,
        alive: np.ndarray,
        tokens: int,
        changed: int,
    ) -> None:
        self.generation = generation
        self._base = base
        #: entries of passages added since the base was built (ids above the base's)
        self._tail = tail
        #: tokens per passage id, in all columns (FTS5's document length)
        self.length = length
        #: passage ids present at this generation
        self.alive = alive
        self.n = int(alive.sum())
        self.tokens = tokens
        #: passages added or removed since the base was built
        self.changed = changed

    # -- building ---------------------------------------------------------------------
    @classmethod
    def build(
        cls,
        conn: sqlite3.Connection,
        generation: int,
        cancelled: Callable[[], bool] | None = None,
    ) -> Postings:
        """All passages' postings as the caller's read transaction sees them; raises
        ``Cancelled`` as soon as ``cancelled()`` says so."""
        vocab: dict[str, int] = {}
        rows = conn.execute("SELECT id, c0, c1, c2 FROM chunk_fts_content")
        parts = _collect(rows, vocab, cancelled)
        base = _block(vocab, parts.term_ids, parts.chunk_ids, parts.weights)
        size = int(parts.row_ids.max()) + 1 if len(parts.row_ids) else 0
        length = np.zeros(size, dtype=np.int32)
        length[parts.row_ids] = parts.lengths
        alive = np.zeros(size, dtype=bool)
        alive[parts.row_ids] = True
        return cls(generation, base, {}, length, alive, int(parts.lengths.sum()), 0)

    def extended(
        self,
        conn: sqlite3.Connection,
        generation: int,
        added: Collection[int],
        removed: Collection[int],
    ) -> Postings:
        """These postings with ``removed`` passages masked and ``added`` ones read from
        the caller's read transaction, at ``generation``. Added ids must be above every
        id seen so far (chunk ids grow and are never reused)."""
        size = len(self.alive)
        new_ids = sorted(set(added) - set(removed))
        if new_ids and new_ids[0] < size:
            raise ValueError("added passages must have new ids")
        vocab: dict[str, int] = {}
        rows = _select_in(
            conn, "SELECT id, c0, c1, c2 FROM chunk_fts_content WHERE id IN ", new_ids
        )
        parts = _collect(rows, vocab)
        top = max(size, int(parts.row_ids.max()) + 1 if len(parts.row_ids) else 0)
        length = np.zeros(top, dtype=np.int32)
        length[:size] = self.length
        length[parts.row_ids] = parts.lengths
        alive = np.zeros(top, dtype=bool)
        alive[:size] = self.alive
        gone = np.asarray([i for i in removed if i < size], dtype=np.int64)
        tokens = self.tokens - int(length[gone][alive[gone]].sum()) + int(parts.lengths.sum())
        alive[gone] = False
        alive[parts.row_ids] = True
        tail = dict(self._tail)
        block = _block(vocab, parts.term_ids, parts.chunk_ids, parts.weights)
        for term, t in block.vocab.items():
            ids, tf = block.entries(t)
            if term in tail:
                old_ids, old_tf = tail[term]
                ids, tf = np.concatenate([old_ids, ids]), np.concatenate([old_tf, tf])
            tail[term] = (ids, tf)
        changed = self.changed + len(new_ids) + len(removed)
        return Postings(generation, self._base, tail, length, alive, tokens, changed)

    @property
    def stale(self) -> bool:
        """Whether so much changed since the base was built that a new build pays."""
        return self.changed > REBUILD_SHARE * max(self.n, 1)

    # -- reading ----------------------------------------------------------------------
    def entries(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        """(passage ids ascending, column-weighted frequencies) of ``term`` at this
        generation; empty arrays if no passage holds it."""
        base = self._base
        t = base.vocab.get(term)
        if t is None:
            ids, tf = np.empty(0, dtype=np.int64), np.empty(0, dtype=np.uint8)
        else:
            ids, tf = base.entries(t)
        extra = self._tail.get(term)
        if extra is not None:
            ids, tf = np.concatenate([ids, extra[0]]), np.concatenate([tf, extra[1]])
        keep = self.alive[ids]
        if not keep.all():
            ids, tf = ids[keep], tf[keep]
        return ids, tf.astype(np.float64) / 4.0

    def document_frequencies(self, terms: Iterable[str]) -> dict[str, int]:
        """How many passages hold each of ``terms`` (absent terms are left out)."""
        base, out = self._base, {}
        for term in dict.fromkeys(terms):
            t = base.vocab.get(term)
            if self.changed == 0:  # as built: nothing masked, no tail, no need to decode
                df = 0 if t is None else int(base.start[t + 1] - base.start[t])
            else:
                df = len(self.entries(term)[0])
            if df:
                out[term] = df
        return out

    def search(
        self,
        terms: Sequence[str],
        n: int,
        within: Sequence[str] | None = None,
        allowed: np.ndarray | None = None,
    ) -> list[tuple[int, float]]:
        """Top-n (passage id, BM25 over ``terms``), higher first, ties by id: the passages
        that hold one of ``terms``, or with ``within`` one of those (none if it is
        empty); with ``allowed`` (passage ids), only those. The scores are those of
        ``search.lexical.search``."""
        if within is not None and not within:
            return []
        found = {t: self.entries(t) for t in dict.fromkeys(terms)}
        found = {t: e for t, e in found.items() if len(e[0])}
        if not found or self.n == 0:
            return []
        avgdl = self.tokens / self.n
        score = np.zeros(len(self.alive), dtype=np.float64)
        for ids, f in found.values():
            df = len(ids)
            idf = math.log((self.n - df + 0.5) / (df + 0.5))
            if idf <= 0:  # as FTS5: a term in more than half the rows still counts a little
                idf = 1e-6
            norm = K1 * (1 - B + B * self.length[ids] / avgdl)
            score[ids] += idf * (f * (K1 + 1)) / (f + norm)
        holders = np.zeros(len(self.alive), dtype=bool)
        for t in within if within is not None else found:
            if t in found:
                holders[found[t][0]] = True
        if allowed is not None:  # a filter: the passages of the documents it admits
            admitted = np.zeros(len(holders), dtype=bool)
            ids = np.asarray(allowed, dtype=np.int64)
            admitted[ids[ids < len(holders)]] = True
            holders &= admitted
        candidates = np.flatnonzero(holders)
        if not len(candidates):
            return []
        scores = score[candidates]
        if len(candidates) > n:
            # the n best; of equal scores at the cut the lowest ids, as FTS5 keeps them
            cut = np.partition(scores, len(scores) - n)[len(scores) - n]
            keep = scores > cut
            tied = np.flatnonzero(scores == cut)  # candidates ascend: lowest ids first
            keep[tied[: n - int(keep.sum())]] = True
            candidates, scores = candidates[keep], scores[keep]
        order = np.lexsort((candidates, -scores))
        return [(int(candidates[i]), float(scores[i])) for i in order]

    def coverage(
        self, terms: Sequence[str], chunk_ids: Collection[int], df: Mapping[str, int]
    ) -> dict[int, float]:
        """``search.lexical.coverage`` from the postings (``df``: the terms' document
        frequencies)."""
        if not terms or not chunk_ids:
            return {}
        wanted = np.fromiter(chunk_ids, dtype=np.int64, count=len(chunk_ids))
        holds: dict[str, np.ndarray] = {}
        for term in dict.fromkeys(terms):
            ids = self.entries(term)[0]
            if not len(ids):
                holds[term] = np.zeros(len(wanted), dtype=bool)
                continue
            at = np.searchsorted(ids, wanted).clip(max=len(ids) - 1)
            holds[term] = ids[at] == wanted
        return coverage_of(holds, wanted, self.n, df)

    def nbytes(self) -> int:
        """Bytes held by the arrays."""
        tail = sum(a.nbytes + b.nbytes for a, b in self._tail.values())
        return self._base.nbytes + tail + self.length.nbytes + self.alive.nbytes


@dataclass
class _Collected:
    term_ids: np.ndarray
    chunk_ids: np.ndarray
    weights: np.ndarray
    row_ids: np.ndarray
    lengths: np.ndarray


class _Vocab(dict):
    """Term -> number, numbering new terms as they come."""

    def __missing__(self, term: str) -> int:
        number = self[term] = len(self)
        return number


class Cancelled(Exception):
    """A build stopped because its follower closes."""


def _collect(
    rows: Iterable, vocab: dict[str, int], cancelled: Callable[[], bool] | None = None
) -> _Collected:
    """One (term number, passage id, weight in quarters) per token of ``rows`` of
    (id, terms, parts, title), in row order; ``vocab`` is filled with the terms."""
    numbers = _Vocab(vocab)
    term_parts, chunk_parts, weight_parts = [], [], []
    row_ids, lengths = [], []
    terms: list[int] = []
    chunks: list[int] = []
    weights: list[int] = []

    def flush() -> None:
        term_parts.append(np.asarray(terms, dtype=np.int32))
        chunk_parts.append(np.asarray(chunks, dtype=np.int32))
        weight_parts.append(np.asarray(weights, dtype=np.uint8))
        terms.clear(), chunks.clear(), weights.clear()

    for count, (rowid, *columns) in enumerate(rows, 1):
        total = 0
        for quarters, text in zip(_QUARTERS, columns, strict=True):
            tokens = text.split() if text else []
            if not tokens:
                continue
            if not all(map(usable_term, tokens)):
                raise ValueError(f"passage {rowid} holds a term FTS5 splits differently")
            terms.extend(map(numbers.__getitem__, tokens))
            chunks.extend([rowid] * len(tokens))
            weights.extend([quarters] * len(tokens))
            total += len(tokens)
        row_ids.append(rowid)
        lengths.append(total)
        if count % _BUILD_ROWS == 0:
            flush()
            if cancelled is not None and cancelled():
                raise Cancelled
    flush()
    vocab.clear()
    vocab.update(numbers)
    return _Collected(
        np.concatenate(term_parts),
        np.concatenate(chunk_parts),
        np.concatenate(weight_parts),
        np.asarray(row_ids, dtype=np.int64),
        np.asarray(lengths, dtype=np.int32),
    )


def _block(
    vocab: dict[str, int], term_ids: np.ndarray, chunk_ids: np.ndarray, weights: np.ndarray
) -> _Base:
    """Postings of tokens given in ascending passage order: one entry per (term,
    passage), frequencies summed."""
    order = np.argsort(term_ids, kind="stable")  # keeps each term's passages ascending
    terms, chunks, weights = term_ids[order], chunk_ids[order], weights[order].astype(np.int32)
    if len(terms):
        first = np.ones(len(terms), dtype=bool)
        first[1:] = (terms[1:] != terms[:-1]) | (chunks[1:] != chunks[:-1])
        at = np.flatnonzero(first)
        tf = np.minimum(np.add.reduceat(weights, at), _TF_MAX).astype(np.uint8)
        terms, chunks = terms[at], chunks[at]
    else:
        tf = np.empty(0, dtype=np.uint8)
    start = np.searchsorted(terms, np.arange(len(vocab) + 1)).astype(np.int64)
    heads = start[:-1][start[:-1] < start[1:]]
    first = np.zeros(len(vocab), dtype=np.int32)
    first[terms[heads]] = chunks[heads]
    gaps = np.diff(chunks.astype(np.int64), prepend=0)
    gaps[heads] = 0
    wide = {}
    for t in np.unique(terms[gaps > np.iinfo(np.uint16).max]).tolist():
        # a copy: a view would keep the whole array of ids alive
        wide[t] = chunks[start[t] : start[t + 1]].astype(np.int32, copy=True)
        gaps[start[t] : start[t + 1]] = 0
    return _Base(vocab, start, first, gaps.astype(np.uint16), wide, tf)


def _select_in(conn: sqlite3.Connection, sql: str, ids: Sequence[int]) -> Iterable:
    for at in range(0, len(ids), IN_BATCH):
        batch = ids[at : at + IN_BATCH]
        yield from conn.execute(sql + "(" + ",".join("?" * len(batch)) + ") ORDER BY id", batch)


class TermFollower:
    """The postings of one store, kept at its newest generation by a background thread.

    ``at`` never waits: it gives the postings when they are at the asked generation
    and otherwise wakes the thread, which extends them by the logged changes (or
    builds them anew: first, after a title changed the terms of stored passages, when
    the log no longer reaches back, and when much changed) while FTS5 answers.
    """

    def __init__(self, store) -> None:
        self.store = store
        self.current: Postings | None = None
        self._wake = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None
        #: the newest generation a refresh failed at: searches do not ask again for it
        #: (a failing build would otherwise run at every search)
        self._failed_at = -1
        self._trying = -1

    def start(self, wait: bool = False) -> None:
        """Start following (once). With ``wait``, the first build runs here and now (a
        server's warm-up: its first searches find the postings current); otherwise on
        the thread, while FTS5 answers."""
        if self._thread is not None or self._closed:
            return
        if wait:
            self._refresh_or_log()
        self._thread = threading.Thread(target=self._run, name="kb-postings", daemon=True)
        self._thread.start()
        if not wait:
            self._wake.set()

    def close(self) -> None:
        """Stop the thread and wait for it, so that the store's connections can close (a
        build in progress stops at its next batch of rows)."""
        self._closed = True
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def at(self, generation: int) -> Postings | None:
        """The postings at ``generation``, or None (then the refresh is under way)."""
        current = self.current
        if current is not None and current.generation == generation:
            return current
        behind = current is None or current.generation < generation
        if self._thread is not None and behind and generation > self._failed_at:
            self._wake.set()
        return None

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            if self._closed:
                return
            try:
                self._refresh_or_log()
            except Cancelled:
                return

    def _refresh_or_log(self) -> None:
        """Refresh; on failure log it and let FTS5 answer until the next write."""
        try:
            self.refresh()
        except Cancelled:
            raise
        except Exception as exc:
            self._failed_at = self._trying
            log.warning("the in-memory postings of %s are not current: %s", self.store.path, exc)

    def refresh(self) -> None:
        """Bring the postings to the store's newest generation."""
        with self.store.read() as conn:
            gen = self._trying = self.store.generation()
            current = self.current
            if current is not None and current.generation == gen:
                return
            fresh = None
            if current is not None and current.generation >= self.store.log_floor():
                logged = self.store.log_between(current.generation, gen)
                added, removed = logged.get("passages", (set(), set()))
                if not any(logged.get(TERMS_CHANGED, ((), ()))):
                    with contextlib.suppress(ValueError):  # an id seen before: build anew
                        fresh = current.extended(conn, gen, added, removed)
                    if fresh is not None and fresh.stale:
                        fresh = None
            rebuilt = fresh is None
            if rebuilt:
                fresh = Postings.build(conn, gen, lambda: self._closed)
        self.current = fresh
        if rebuilt:
            give_back_freed_memory()  # the build's temporary lists
