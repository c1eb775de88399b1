"""Approximate search for large spaces: exact below a size, FAISS IVF with 8-bit codes above.

Below ``TRAIN_AT`` vectors this backend is the exact ``flat`` one. Once a space reaches
that size, an inverted file is trained on its vectors (``nlist`` ≈ 4·√N cells, at least
39 training vectors per cell) and every vector moves into it, stored as 8-bit scalar
codes (a quarter of the memory of float32). A query scans the ``NPROBE`` nearest cells.
When the space has grown ``RETRAIN_GROWTH`` times past the size it was trained at, the
next add trains it anew, so cells stay small: amortised, linear cost.

Removal is native (IVF keeps a hash map from id to code). A search restricted to a few
allowed ids (a rare filter) scans every cell, so it still finds their n best.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .base import NO_HITS, VectorIndex, allow_selector
from .flat import FlatIndex, _faiss, read_faiss

#: below this many vectors the search is exact
TRAIN_AT = 20_000
#: cells scanned per query (measured: recall@10 vs exact in docs/performance.md)
NPROBE = 32
#: train anew when the space has grown this many times past its training size
RETRAIN_GROWTH = 4
#: a filter allowing fewer than this share of the vectors scans every cell
RARE_FILTER = 0.2
#: vectors sampled for training
TRAIN_SAMPLE = 100_000
#: most cells: more cost assignment time and need more training vectors than sampled
MAX_CELLS = 2_048
#: vectors moved at a time when training anew
MOVE_BATCH = 50_000


class IVFIndex(VectorIndex):
    """Exact while small, an IVF with 8-bit codes once large; removable ids."""

    kind = "ivf"

    def __init__(self, dim: int, index=None, trained_at: int = 0) -> None:
        self.dim = dim
        self._faiss = _faiss()
        self.flat = FlatIndex(dim) if index is None else None
        self.index = index  # the IVF once trained
        self.trained_at = trained_at

    @property
    def approximate(self) -> bool:
        """Whether the space is past the size where search is exact."""
        return self.index is not None

    def __len__(self) -> int:
        return int(self.index.ntotal) if self.index is not None else len(self.flat)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids) == 0:
            return
        ids, vectors = self._check(ids, vectors)
        if self.index is None:
            self.flat.add(ids, vectors)
            if len(self.flat) >= TRAIN_AT:
                self._train(*_contents(self.flat))
            return
        if len(self) + len(ids) >= RETRAIN_GROWTH * self.trained_at:
            self._retrain(ids, vectors)
            return
        self.index.add_with_ids(vectors, ids)

    def _new_index(self, n: int, sample: np.ndarray):
        """An empty IVF with cells for ``n`` vectors, trained on ``sample``."""
        faiss = self._faiss
        # at least 39 training vectors per cell; more than MAX_CELLS only costs time
        nlist = max(1, min(int(4 * math.sqrt(n)), len(sample) // 39, MAX_CELLS))
        quantizer = faiss.IndexFlatIP(self.dim)
        index = faiss.IndexIVFScalarQuantizer(
            quantizer, self.dim, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
        )
        index.train(np.ascontiguousarray(sample))
        index.set_direct_map_type(faiss.DirectMap.Hashtable)
        index.nprobe = min(NPROBE, nlist)
        return index

    def _train(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Train an IVF on (a sample of) the vectors and put them all into it."""
        n = len(ids)
        sample = vectors
        if n > TRAIN_SAMPLE:  # a fixed seed keeps builds reproducible
            sample = vectors[_sample_rows(n)]
        index = self._new_index(n, sample)
        index.add_with_ids(np.ascontiguousarray(vectors), np.ascontiguousarray(ids))
        self.index, self.flat, self.trained_at = index, None, n

    def _retrain(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Train anew for the grown space and move every vector over in batches, so that
        memory holds two coded indexes and one batch, never all vectors as float32."""
        old = self.index
        old_ids = list_ids(self.index)
        n = len(old_ids) + len(ids)
        rows = _sample_rows(n) if n > TRAIN_SAMPLE else np.arange(n)
        from_old = rows[rows < len(old_ids)]
        sample = np.vstack(
            [
                old.reconstruct_batch(old_ids[from_old]),
                vectors[rows[rows >= len(old_ids)] - len(old_ids)],
            ]
        )
        index = self._new_index(n, sample)
        for start in range(0, len(old_ids), MOVE_BATCH):
            batch = old_ids[start : start + MOVE_BATCH]
            index.add_with_ids(old.reconstruct_batch(batch), batch)
        index.add_with_ids(np.ascontiguousarray(vectors), np.ascontiguousarray(ids))
        self.index, self.trained_at = index, n

    def remove(self, ids: np.ndarray) -> int:
        if len(ids) == 0:
            return 0
        if self.index is None:
            return self.flat.remove(ids)
        return int(self.index.remove_ids(np.ascontiguousarray(ids, dtype=np.int64)))

    def search(
        self, query: np.ndarray, n: int, allow: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        if self.index is None:
            return self.flat.search(query, n, allow)
        total = len(self)
        n = min(n, total if allow is None else min(total, len(allow)))
        if n <= 0:
            return NO_HITS
        sel = None
        if allow is not None:
            sel = allow_selector(self._faiss, allow)
        return search_cells(self.index, query, n, sel, rare_filter(allow, total))

    def reconstruct(self, ids: np.ndarray) -> np.ndarray:
        if self.index is None:
            return self.flat.reconstruct(ids)
        if len(ids) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self.index.reconstruct_batch(np.ascontiguousarray(ids, dtype=np.int64))

    def write_file(self, path: Path) -> None:
        if self.index is None:
            self.flat.write_file(path)
        else:
            self._faiss.write_index(self.index, str(path))

    @classmethod
    def read_file(cls, path: Path, dim: int) -> IVFIndex:
        faiss = _faiss()
        raw = read_faiss(path, dim)
        if isinstance(raw, faiss.IndexIVF):  # read_index gives the concrete type already
            raw.set_direct_map_type(faiss.DirectMap.Hashtable)
            raw.nprobe = min(NPROBE, raw.nlist)
            return cls(dim, raw, trained_at=raw.ntotal)
        obj = cls(dim)
        obj.flat = FlatIndex(dim, raw)
        return obj


def list_ids(index) -> np.ndarray:
    """Every id in a FAISS IVF's lists (in memory or mapped), cell by cell."""
    return list_ids_and_cells(index)[0]


def list_ids_and_cells(index) -> tuple[np.ndarray, np.ndarray]:
    """Every id in a FAISS IVF's lists, cell by cell, and the cell of each (int32)."""
    faiss = _faiss()
    invlists = index.invlists
    ids, cells = [], []
    for c in range(index.nlist):
        size = invlists.list_size(c)
        if size:
            ids.append(np.array(faiss.rev_swig_ptr(invlists.get_ids(c), size)))
            cells.append(np.full(size, c, dtype=np.int32))
    if not ids:
        return np.zeros(0, np.int64), np.zeros(0, np.int32)
    return np.concatenate(ids).astype(np.int64), np.concatenate(cells)


def rare_filter(allow: np.ndarray | None, total: int) -> bool:
    """Whether ``allow`` admits so few of ``total`` vectors that every cell is scanned."""
    return allow is not None and len(allow) < RARE_FILTER * total


def search_cells(index, query: np.ndarray, n: int, sel, every_cell: bool, cells=None):
    """Top-n (ids, scores) of one query in a FAISS IVF: its ``nprobe`` nearest cells, or
    every cell (a rare filter: few candidates, find all of them); ``sel`` (a FAISS
    selector or None) restricts the ids, and must live until this returns.

    ``cells`` (with ``every_cell``): the cells that hold all the ids ``sel`` admits. Only
    they are scanned, in the order and with the coarse scores a scan of every cell
    gives them. The cells left out hold no admitted id, so the answer is the same to the
    last bit and in the same order, ties included; for a filter of one event at 100,000
    passages 1 ms instead of 4 ms per space.
    """
    faiss = _faiss()
    faiss.omp_set_num_threads(1)  # per thread, see FlatIndex.search
    query = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
    if every_cell and cells is not None:
        return _search_some_cells(index, query, n, sel, cells)
    params = faiss.SearchParametersIVF(nprobe=index.nlist if every_cell else index.nprobe)
    if sel is not None:
        params.sel = sel
    scores, ids = index.search(query, n, params=params)
    keep = ids[0] >= 0
    return ids[0][keep], scores[0][keep]


def _search_some_cells(index, query: np.ndarray, n: int, sel, cells: np.ndarray):
    """``search_cells`` of every cell, but scanning only ``cells``: FAISS's own search of
    every cell asks the quantizer for all cells in order, then scans them; this asks the
    same, keeps the order and scores of ``cells`` and scans those (``search_preassigned``)."""
    faiss = _faiss()
    if len(cells) == 0:
        return NO_HITS
    coarse_scores, coarse_ids = index.quantizer.search(query, index.nlist)
    keep = np.isin(coarse_ids[0], cells)
    assign = np.ascontiguousarray(coarse_ids[:, keep], dtype=np.int64)
    assign_scores = np.ascontiguousarray(coarse_scores[:, keep], dtype=np.float32)
    params = faiss.SearchParametersIVF(nprobe=assign.shape[1])
    if sel is not None:
        params.sel = sel
    scores = np.empty((1, n), dtype=np.float32)
    ids = np.empty((1, n), dtype=np.int64)
    # the wrapper's search_preassigned takes no parameters (the selector): the C++ call
    index.search_preassigned_c(
        1,
        faiss.swig_ptr(query),
        n,
        faiss.swig_ptr(assign),
        faiss.swig_ptr(assign_scores),
        faiss.swig_ptr(scores),
        faiss.swig_ptr(ids),
        False,
        params,
    )
    found = ids[0] >= 0
    return ids[0][found], scores[0][found]


def _contents(flat: FlatIndex) -> tuple[np.ndarray, np.ndarray]:
    """All (ids, vectors) of an exact index."""
    faiss = flat._faiss
    n = len(flat)
    ids = faiss.vector_to_array(flat.index.id_map).astype(np.int64)
    inner = faiss.downcast_index(flat.index.index)
    vectors = faiss.rev_swig_ptr(inner.get_xb(), n * flat.dim).reshape(n, flat.dim).copy()
    return ids, vectors


def _sample_rows(n: int) -> np.ndarray:
    """Sorted rows of a training sample of ``n`` vectors (fixed seed: reproducible)."""
    return np.sort(np.random.default_rng(0).choice(n, min(n, TRAIN_SAMPLE), replace=False))
