"""A snapshot's inverted file mapped from disk, shared by every process that reads it,
with this process's later changes on top.

Each worker of a server used to read the whole snapshot into its own memory (about
430 MB at 100,000 passages, the same bytes in every worker). Mapped read-only (FAISS
``IO_FLAG_MMAP``), the 8-bit codes stay in the operating system's page cache: one copy
for all processes, loaded in milliseconds. A mapped file cannot change, so:

* ``base``    the snapshot's IVF, its lists mapped, never changed;
* ``delta``   vectors added since, in memory, in an index of the configured kind;
* ``removed`` ids of the base removed since, left out of every base search.

A search merges the base's and the delta's best. ``materialize`` turns it into the plain
in-memory IVF that writers change and save (the base's codes without the removed ids,
the delta's vectors coded anew). Snapshots that are not an IVF yet (small spaces) are
read into memory as before (``open_snapshot``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..errors import KBError
from .base import NO_HITS, VectorIndex, allow_selector
from .flat import _faiss
from .ivf import NPROBE, IVFIndex, list_ids_and_cells, rare_filter, search_cells

#: (ids, float vectors) of those of the given ids it has: the store's exact vectors
VectorSource = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


def open_snapshot(path: Path, dim: int, kind: str) -> VectorIndex:
    """The snapshot at ``path``: mapped if it holds an IVF, else read by its backend."""
    from . import backend  # the package imports this module lazily

    faiss = _faiss()
    if Path(path).is_file():
        try:
            raw = faiss.read_index(str(path), faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)
        except Exception as exc:  # FAISS raises RuntimeError with C++ text on bad input
            raise KBError("vector index file is damaged") from exc
        if raw.d != dim:
            raise KBError(f"vector index holds {raw.d}-d vectors, expected {dim}-d")
        if isinstance(raw, faiss.IndexIVF):
            return MappedIndex(dim, raw, kind)
    return backend(kind).load(path, dim)


class MappedIndex(VectorIndex):
    """A mapped IVF snapshot plus the changes made after it."""

    kind = "mapped"

    def __init__(self, dim: int, base, delta_kind: str) -> None:
        from . import create

        self.dim = dim
        self._faiss = _faiss()
        if base.direct_map.type != self._faiss.DirectMap.Hashtable:
            base.set_direct_map_type(self._faiss.DirectMap.Hashtable)  # for reconstruct
        base.nprobe = min(NPROBE, base.nlist)
        # FAISS starts 32 threads per search to read the cells ahead from disk; with the
        # file in the page cache that only costs (1.6 vs 0.5 ms per search at 660k codes)
        self._faiss.downcast_InvertedLists(base.invlists).prefetch_nthread = 0
        self.base = base
        ids, cells = list_ids_and_cells(base)
        order = np.argsort(ids, kind="stable")
        self.base_ids = ids[order]
        self.base_cells = cells[order]  # the cell of each of base_ids: few-id filters
        self.delta = create(delta_kind, dim)
        self.delta_ids: set[int] = set()
        self.removed: set[int] = set()
        self._removed_array: np.ndarray | None = None

    @property
    def approximate(self) -> bool:
        """Always: the base is an IVF."""
        return True

    def __len__(self) -> int:
        return len(self.base_ids) - len(self.removed) + len(self.delta)

    def _in_base(self, ids: np.ndarray) -> np.ndarray:
        """Which of ``ids`` the base holds and were not removed since."""
        if len(self.base_ids) == 0:
            return np.zeros(len(ids), dtype=bool)
        pos = np.searchsorted(self.base_ids, ids)
        found = self.base_ids[np.minimum(pos, len(self.base_ids) - 1)] == ids
        return found & np.fromiter((int(i) not in self.removed for i in ids), bool, len(ids))

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids) == 0:
            return
        ids, vectors = self._check(ids, vectors)
        self.delta.add(ids, vectors)
        self.delta_ids.update(ids.tolist())

    def remove(self, ids: np.ndarray) -> int:
        ids = np.asarray(ids, dtype=np.int64)
        if len(ids) == 0:
            return 0
        in_delta = np.fromiter((int(i) in self.delta_ids for i in ids), bool, len(ids))
        count = self.delta.remove(ids[in_delta]) if in_delta.any() else 0
        self.delta_ids.difference_update(ids[in_delta].tolist())
        rest = ids[~in_delta]
        gone = rest[self._in_base(rest)] if len(rest) else rest
        self.removed.update(gone.tolist())
        if len(gone):
            self._removed_array = None
        return int(count) + len(set(gone.tolist()))

    def _selector(self, allow: np.ndarray | None):
        """The base's selector: the allowed ids, minus those removed since the snapshot.
        Returns the selector and the objects it points to (kept alive by the caller)."""
        faiss = self._faiss
        keep: list = []
        sel = None
        if self.removed:
            if self._removed_array is None:
                self._removed_array = np.fromiter(self.removed, np.int64, len(self.removed))
            batch = faiss.IDSelectorBatch(self._removed_array)
            sel = faiss.IDSelectorNot(batch)
            keep += [batch, sel]
        if allow is not None:
            allowed = allow_selector(faiss, allow)
            keep.append(allowed)
            sel = allowed if sel is None else faiss.IDSelectorAnd(allowed, sel)
            keep.append(sel)
        return sel, keep

    def search(
        self, query: np.ndarray, n: int, allow: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        total = len(self)
        n = min(n, total if allow is None else min(total, len(allow)))
        if n <= 0:
            return NO_HITS
        sel, _alive = self._selector(allow)
        every_cell = rare_filter(allow, total)
        cells = self._cells_of(allow) if every_cell else None
        ids, scores = search_cells(self.base, query, n, sel, every_cell, cells)
        if len(self.delta):
            more_ids, more_scores = self.delta.search(query, n, allow)
            ids = np.concatenate([ids, more_ids])
            scores = np.concatenate([scores, more_scores])
            best = np.argsort(-scores, kind="stable")[:n]
            ids, scores = ids[best], scores[best]
        return ids, scores

    def _cells_of(self, allow: np.ndarray) -> np.ndarray | None:
        """The base's cells that hold ``allow``'s ids, for a filter of so few ids that
        they fill at most half the cells; None otherwise (every cell is scanned, with
        more allowed ids finding their cells costs more than it saves)."""
        if len(allow) > self.base.nlist // 2 or len(self.base_ids) == 0:
            return None
        allow = np.asarray(allow, dtype=np.int64)
        pos = np.minimum(np.searchsorted(self.base_ids, allow), len(self.base_ids) - 1)
        return np.unique(self.base_cells[pos[self.base_ids[pos] == allow]])

    def reconstruct(self, ids: np.ndarray) -> np.ndarray:
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        if len(ids) and not self.delta_ids:  # nothing on top (a set test per id: 0.1 ms)
            return self.base.reconstruct_batch(ids)
        out = np.zeros((len(ids), self.dim), dtype=np.float32)
        if len(ids) == 0:
            return out
        in_delta = np.fromiter((int(i) in self.delta_ids for i in ids), bool, len(ids))
        if in_delta.any():
            out[in_delta] = self.delta.reconstruct(ids[in_delta])
        if not in_delta.all():
            out[~in_delta] = self.base.reconstruct_batch(np.ascontiguousarray(ids[~in_delta]))
        return out

    def materialize(self, source: VectorSource | None = None) -> IVFIndex:
        """A plain in-memory IVF with the same vectors: the base's codes minus the removed
        ids (copied, not coded again), then the delta's vectors, taken from ``source``
        (exact floats) where it has them, else from the delta."""
        faiss = self._faiss
        base = self.base
        lists = faiss.ArrayInvertedLists(base.nlist, base.code_size)
        removed = self._removed_array
        if self.removed and removed is None:
            removed = np.fromiter(self.removed, np.int64, len(self.removed))
        total = 0
        for cell in range(base.nlist):
            size = base.invlists.list_size(cell)
            if not size:
                continue
            ids = faiss.rev_swig_ptr(base.invlists.get_ids(cell), size)
            codes = faiss.rev_swig_ptr(base.invlists.get_codes(cell), size * base.code_size)
            codes = codes.reshape(size, base.code_size)
            if removed is not None:
                keep = ~np.isin(ids, removed)
                ids, codes = ids[keep], codes[keep]
            ids, codes = np.ascontiguousarray(ids), np.ascontiguousarray(codes)
            if len(ids):
                lists.add_entries(cell, len(ids), faiss.swig_ptr(ids), faiss.swig_ptr(codes))
                total += len(ids)
        index = faiss.IndexIVFScalarQuantizer(
            faiss.clone_index(base.quantizer), self.dim, base.nlist, base.sq.qtype, base.metric_type
        )
        index.by_residual = base.by_residual
        faiss.copy_array_to_vector(faiss.vector_to_array(base.sq.trained), index.sq.trained)
        index.is_trained = True
        lists.this.disown()  # the index owns and frees them, not the Python object
        index.replace_invlists(lists, True)
        index.ntotal = total
        index.set_direct_map_type(faiss.DirectMap.Hashtable)
        index.nprobe = base.nprobe
        plain = IVFIndex(self.dim, index, trained_at=total)
        rest = np.array(sorted(self.delta_ids), dtype=np.int64)
        if len(rest) and source is not None:
            found, vectors = source(rest)
            plain.add(found, vectors)
            rest = np.setdiff1d(rest, found)
        if len(rest):
            plain.add(rest, self.delta.reconstruct(rest))
        return plain

    def write_file(self, path: Path) -> None:
        self.materialize().write_file(path)

    @classmethod
    def read_file(cls, path: Path, dim: int) -> VectorIndex:
        return open_snapshot(path, dim, "ivf")
