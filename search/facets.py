"""Facet counts of a search's matching reports, from small integer codes.

A search counts the facet values of all its matching reports (some 400 at 100,000
passages). Read from the reports' metadata dicts, that took 0.8 ms a search: most of it
waiting on memory, five values each from some 400 dicts spread over the heap. A
``FacetTable`` keeps each report's values as codes in numpy rows instead, filled the
first time a report matches in one generation of the store, and counts with
``bincount``. Its answer is the one ``search.results.count_facets`` gives, value for
value and in the same order (tests compare the two).
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Callable, Mapping, Sequence
from itertools import repeat

import numpy as np

#: the facets with one value per report, in the order of the table's columns
SINGLE = ("years", "organisers", "events", "formats")
#: reports a table holds at most (the store's metadata cache holds as many)
CAPACITY = 50_000


def _single_values(meta: Mapping) -> tuple:
    date = meta["date"]
    return (date[:4] if date else None, meta["organiser"], meta["event"], meta["format"])


class FacetTable:
    """The facet values of the reports seen in one generation of the store, as codes.

    Rows are only ever added, and a row never changes: a generation's reports do not.
    Adding takes a lock; counting reads rows that were complete before it started.
    """

    def __init__(self, generation: int, capacity: int = CAPACITY) -> None:
        self.generation = generation
        self.capacity = capacity
        self._lock = threading.Lock()
        self._row: dict[str, int] = {}
        self._codes: dict[str, dict[object, int]] = {name: {} for name in (*SINGLE, "topics")}
        self._labels: dict[str, list] = {name: [] for name in (*SINGLE, "topics")}
        self._single = np.full((1024, len(SINGLE)), -1, dtype=np.int32)
        self._topics = np.full((1024, 4), -1, dtype=np.int32)

    def __len__(self) -> int:
        return len(self._row)

    def _code(self, name: str, value: object) -> int:
        """The code of a facet value; -1 for none (an empty or missing value)."""
        if value is None or value == "":
            return -1
        codes = self._codes[name]
        code = codes.get(value)
        if code is None:
            code = codes[value] = len(codes)
            self._labels[name].append(value)
        return code

    def _add(self, doc_id: str, meta: Mapping) -> None:
        row = len(self._row)
        if row >= len(self._single):
            self._single = _grown(self._single, 2 * row, len(SINGLE))
            self._topics = _grown(self._topics, 2 * row, self._topics.shape[1])
        self._single[row] = [
            self._code(n, v) for n, v in zip(SINGLE, _single_values(meta), strict=True)
        ]
        # a topic listed twice in one report counts once
        topics = [self._code("topics", t) for t in dict.fromkeys(meta["topics"] or ())]
        topics = [c for c in topics if c >= 0]
        if len(topics) > self._topics.shape[1]:
            self._topics = _grown(self._topics, len(self._topics), len(topics))
        self._topics[row, : len(topics)] = topics
        self._row[doc_id] = row

    def count(
        self,
        doc_ids: Sequence[str],
        read_metas: Callable[[list[str]], Mapping[str, Mapping]],
        limit: int | None,
    ) -> dict[str, list[tuple[object, int]]] | None:
        """Per facet, (value, number of ``doc_ids`` with it), most frequent first, ties by
        value; with ``limit`` only that many. ``read_metas`` reads the metadata of reports
        not in the table yet. None when they would not fit (the caller counts otherwise)."""
        row_of = self._row
        rows = np.fromiter(map(row_of.get, doc_ids, repeat(-1)), np.int64, len(doc_ids))
        if len(rows) and rows.min() < 0:  # reports not seen in this generation yet
            with self._lock:
                missing = [d for d in dict.fromkeys(doc_ids) if d not in row_of]
                if len(row_of) + len(missing) > self.capacity:
                    return None
                metas = read_metas(missing) if missing else {}
                for doc_id in missing:
                    self._add(doc_id, metas[doc_id])
            rows = np.fromiter(map(row_of.__getitem__, doc_ids), np.int64, len(doc_ids))
        # rows of doc_ids are complete now; growth replaces the arrays, never these rows
        single, topics, labels = self._single, self._topics, self._labels
        out = {}
        picked = topics[rows].ravel()
        out["topics"] = _ranked(picked[picked >= 0], labels["topics"], self._codes["topics"], limit)
        for i, name in enumerate(SINGLE):
            picked = single[rows, i]
            out[name] = _ranked(picked[picked >= 0], labels[name], self._codes[name], limit)
        return out


def _grown(array: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """``array`` copied into a larger one (new cells -1)."""
    out = np.full((max(rows, len(array)), max(cols, array.shape[1])), -1, dtype=array.dtype)
    out[: array.shape[0], : array.shape[1]] = array
    return out


def _ranked(
    found: np.ndarray, labels: list, codes: dict, limit: int | None
) -> list[tuple[object, int]]:
    """(label, count) of the ``found`` codes, most frequent first, ties by label; only
    ``limit`` many. ``codes``: the code of each label."""
    if limit == 0 or len(found) == 0:
        return []
    counts = np.bincount(found, minlength=len(labels))
    present = np.flatnonzero(counts)
    chosen = present
    if limit is not None and len(present) > limit:
        n = counts[present]
        # the limit-th highest count: all above it are in, the ties at it by label
        floor = np.partition(n, len(n) - limit)[len(n) - limit]
        above = present[n > floor]
        tied = present[n == floor].tolist()
        # the smallest labels without sorting them all (events: hundreds tied at 1)
        first = [
            codes[v] for v in heapq.nsmallest(limit - len(above), map(labels.__getitem__, tied))
        ]
        chosen = np.concatenate([above, np.asarray(first, dtype=present.dtype)])
    chosen = chosen.tolist()
    chosen.sort(key=labels.__getitem__)
    chosen.sort(key=counts.__getitem__, reverse=True)  # stable: ties stay by label
    return [(labels[c], int(counts[c])) for c in chosen]
