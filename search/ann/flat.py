"""Exact search: FAISS ``IndexIDMap2`` over ``IndexFlatIP``.

Exact and reproducible; linear in the number of vectors, which is fine up to some
hundred thousand vectors on one core.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import KBError
from .base import NO_HITS, VectorIndex, allow_selector


def _faiss():
    import faiss

    # Queries come one at a time: OpenMP threads cost more than they save, and they
    # fight the embedder's BLAS threads for the same cores (measured at 100k vectors
    # under load: 42 ms with 2 threads, 12 ms with 1).
    faiss.omp_set_num_threads(1)
    return faiss


class FlatIndex(VectorIndex):
    """Exact inner-product search with removable ids."""

    kind = "flat"

    def __init__(self, dim: int, index=None) -> None:
        self.dim = dim
        self._faiss = _faiss()
        self.index = (
            index if index is not None else self._faiss.IndexIDMap2(self._faiss.IndexFlatIP(dim))
        )

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids) == 0:
            return
        ids, vectors = self._check(ids, vectors)
        self.index.add_with_ids(vectors, ids)

    def remove(self, ids: np.ndarray) -> int:
        if len(ids) == 0:
            return 0
        return int(self.index.remove_ids(np.ascontiguousarray(ids, dtype=np.int64)))

    def search(
        self, query: np.ndarray, n: int, allow: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        n = min(n, len(self) if allow is None else min(len(self), len(allow)))
        if n <= 0:
            return NO_HITS
        query = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
        # OpenMP's thread count is per thread: a server's worker threads start with all cores
        self._faiss.omp_set_num_threads(1)
        params = None
        if allow is not None:
            selector = allow_selector(self._faiss, allow)
            params = self._faiss.SearchParameters(sel=selector)
        scores, ids = self.index.search(query, n, params=params)
        keep = ids[0] >= 0
        return ids[0][keep], scores[0][keep]

    def reconstruct(self, ids: np.ndarray) -> np.ndarray:
        if len(ids) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self.index.reconstruct_batch(np.ascontiguousarray(ids, dtype=np.int64))

    def write_file(self, path: Path) -> None:
        self._faiss.write_index(self.index, str(path))

    @classmethod
    def read_file(cls, path: Path, dim: int) -> FlatIndex:
        return cls(dim, read_faiss(path, dim))


def read_faiss(path: Path, dim: int):
    """A FAISS index from a file; KBError if it is damaged or of another dimension."""
    faiss = _faiss()
    try:
        raw = faiss.read_index(str(path))
    except Exception as exc:  # FAISS raises RuntimeError with C++ text on bad input
        raise KBError("vector index file is damaged") from exc
    if raw.d != dim:
        raise KBError(f"vector index holds {raw.d}-d vectors, expected {dim}-d")
    return raw
