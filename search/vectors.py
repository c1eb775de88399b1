"""Vector index backends (FAISS), chosen by a config string.

The SQLite store keeps every chunk vector; the FAISS file is a derived copy that is
rebuilt from the store when it is missing or belongs to another generation. That makes
a crash between the SQLite commit and the FAISS save harmless.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from .errors import KBError


class VectorIndex:
    """Exact inner-product search over L2-normalised vectors with removable ids.

    FAISS ``IndexIDMap2(IndexFlatIP)`` supports ``remove_ids`` (HNSW does not), and
    exact search keeps the ranking reproducible.
    """

    kind = "flat"

    def __init__(self, dim: int) -> None:
        import faiss

        # Queries come one at a time: OpenMP threads cost more than they save, and
        # they fight the embedder's BLAS threads for the same cores (measured at 100k
        # vectors under load: 42 ms with 2 threads, 12 ms with 1).
        faiss.omp_set_num_threads(1)
        self.dim = dim
        self._faiss = faiss
        self.index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add vectors under the given int64 ids."""
        if len(ids) == 0:
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.shape[1] != self.dim:
            raise KBError(f"vector dimension {vectors.shape[1]} does not match index {self.dim}")
        self.index.add_with_ids(vectors, np.asarray(ids, dtype=np.int64))

    def remove(self, ids: np.ndarray) -> int:
        """Remove ids; returns how many were present."""
        if len(ids) == 0:
            return 0
        return int(self.index.remove_ids(np.asarray(ids, dtype=np.int64)))

    def search(self, query: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-n (ids, scores) for one query vector; fewer when the index is smaller."""
        n = min(n, len(self))
        if n <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        scores, ids = self.index.search(np.asarray(query, dtype=np.float32).reshape(1, -1), n)
        keep = ids[0] >= 0
        return ids[0][keep], scores[0][keep]

    def reconstruct(self, ids: np.ndarray) -> np.ndarray:
        """The stored vectors of ``ids`` (all must be present), shape (len(ids), dim)."""
        return self.index.reconstruct_batch(np.asarray(ids, dtype=np.int64))

    def save(self, path: Path, generation: int) -> None:
        """Write atomically: temp file, fsync, rename; generation goes in a sidecar."""
        tmp = path.with_suffix(path.suffix + ".tmp")
        self._faiss.write_index(self.index, str(tmp))
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        _write_json_atomic(path.with_suffix(".json"), {"generation": generation, "kind": self.kind})

    @classmethod
    def load(cls, path: Path, dim: int) -> tuple[VectorIndex, int] | None:
        """Load a saved index and its generation; None if absent or unreadable."""
        meta_path = path.with_suffix(".json")
        if not path.exists() or not meta_path.exists():
            return None
        try:
            meta = json.loads(meta_path.read_text())
            import faiss

            raw = faiss.read_index(str(path))
        except Exception:
            return None  # a damaged cache is rebuilt from the store
        if raw.d != dim:
            return None
        obj = cls.__new__(cls)
        obj.dim = dim
        obj._faiss = faiss
        obj.index = raw
        return obj, int(meta.get("generation", -1))


def _write_json_atomic(path: Path, data: dict) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2))
    os.replace(tmp, path)


def make_vector_index(kind: str, dim: int) -> VectorIndex:
    """Build an empty vector index of the configured kind."""
    if kind == "flat":
        return VectorIndex(dim)
    raise KBError(f"unknown vector index {kind!r}; available: 'flat'")
