"""The protocol every vector index backend follows.

A backend keeps L2-normalised float32 vectors under int64 ids chosen by the caller (the
SQLite row ids), answers inner-product top-n queries, removes ids, and saves itself to
one file atomically. Which backend serves an index is a config string (see
``search.ann.create``); the SQLite store stays the source of truth, so a backend's file
is a cache that can always be rebuilt.
"""

from __future__ import annotations

import os
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..errors import KBError

#: an empty search answer
NO_HITS = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))


def allow_selector(faiss, allow: np.ndarray):
    """A FAISS selector admitting exactly the (non-negative) ids in ``allow``.

    A bitmap over the ids up to the largest: one bit test per vector a search scans,
    where ``IDSelectorBatch`` builds a hash set and probes it (a scan of every cell of
    662,000 field vectors with 9% admitted: 18 against 27 ms). Row ids are dense, so
    the bitmap takes an eighth of a byte per id of the store.
    """
    ids = np.asarray(allow, dtype=np.int64)
    admitted = np.zeros(int(ids.max()) + 1 if len(ids) else 1, dtype=bool)
    admitted[ids] = True
    # the wrapper keeps the packed array alive as long as the selector
    return faiss.IDSelectorBitmap(np.packbits(admitted, bitorder="little"))


class VectorIndex(ABC):
    """Inner-product search over normalised vectors with caller-chosen, removable ids."""

    #: config name of the backend
    kind: str
    dim: int

    @abstractmethod
    def __len__(self) -> int:
        """Number of vectors held."""

    @abstractmethod
    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add vectors under the given int64 ids (ids must not be present yet)."""

    @abstractmethod
    def remove(self, ids: np.ndarray) -> int:
        """Remove ids; returns how many were present."""

    @abstractmethod
    def search(
        self, query: np.ndarray, n: int, allow: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-n (ids, scores) for one query vector, best first.

        ``allow`` restricts the answer to these ids (a filter applied before ranking, so a
        rare filter still gets its n best). Fewer than n hits when fewer vectors qualify.
        """

    @abstractmethod
    def reconstruct(self, ids: np.ndarray) -> np.ndarray:
        """The stored vectors of ``ids`` (all present), shape (len(ids), dim); approximate
        for a backend that stores codes."""

    @abstractmethod
    def write_file(self, path: Path) -> None:
        """Serialise the index into ``path`` (a fresh temp file; ``save`` makes it atomic)."""

    @classmethod
    @abstractmethod
    def read_file(cls, path: Path, dim: int) -> VectorIndex:
        """Read a file written by ``write_file``; KBError if damaged or of another dimension."""

    def save(self, path: Path) -> None:
        """Write atomically: a unique temp file in the same folder, fsync, rename.

        Unique temp names let two processes save without touching each other's files.
        """
        write_atomic(path, self.write_file)

    @classmethod
    def load(cls, path: Path, dim: int) -> VectorIndex:
        """Read a saved index; KBError if it is missing, damaged or of another dimension."""
        if not Path(path).is_file():
            raise KBError(f"vector index file {path} is missing")
        return cls.read_file(Path(path), dim)

    def _check(self, ids: np.ndarray, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise KBError(f"vector dimension {vectors.shape[-1]} does not match index {self.dim}")
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        if len(ids) != len(vectors):
            raise KBError(f"{len(ids)} ids for {len(vectors)} vectors")
        return ids, vectors


def write_atomic(path: Path, write: bytes | Callable[[Path], None]) -> None:
    """Replace ``path`` so that readers see the old or the new file, never half of one.

    ``write`` is the new content, or a function that writes it into the temp path given.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            if isinstance(write, bytes):
                fh.write(write)
        if callable(write):
            write(Path(tmp))
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def _umask() -> int:
    """The process's umask, read without changing it (os.umask would race threads)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    return 0o022


def fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (best effort where the OS does not allow it)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
