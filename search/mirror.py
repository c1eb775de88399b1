"""In-memory vector indexes that follow the store: loaded from a snapshot, kept current
by replaying the store's vector log, saved in batches by writers only.

Every vector lives in SQLite; a mirror is a derived copy per vector space ("passages",
"fields") in a FAISS-backed ``VectorIndex``. The files ``<space>.<generation>.faiss``
in the store's ``vectors/`` folder are snapshots at one generation. A process opening
the store loads the newest usable snapshot and replays the log from there (or rebuilds
from SQLite when there is none); afterwards it replays only what other writers
committed. So:

* readers never write files: they catch up in memory;
* a writer saves snapshots once per batch (``KnowledgeBase.bulk``) or when enough changes
  have piled up, not after every document, so ingest cost grows linearly;
* a crash anywhere leaves a consistent state: a snapshot is written under a unique temp
  name and renamed, and whatever it lacks is in the log;
* a search sees the mirror at exactly the generation of its SQLite read transaction.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from . import ann
from .ann import VectorIndex
from .ann.mapped import MappedIndex, open_snapshot
from .errors import KBError
from .locking import ReadWriteLock
from .store import SPACES, Store, VectorChanges

log = logging.getLogger(__name__)

VECTORS_DIR = "vectors"
_SNAPSHOT = re.compile(r"^(?P<space>[a-z]+)\.(?P<gen>\d+)\.faiss$")

#: a writer saves a snapshot once this many vector ids changed since the last one ...
MIN_UNSAVED = 5_000
#: ... and they are at least this share of all vectors (amortised linear cost)
UNSAVED_SHARE = 0.25


#: field kinds as small integers in the owner arrays (-1: none, a passage)
_KINDS = ("sentence", "document", "metadata")


class Owners:
    """Who owns each vector id of a space: its document, chunk and field kind.

    Numpy arrays indexed by id (ids are SQLite row ids: dense and growing), so a search
    resolves its hits to documents without reading the store, and a filter finds the
    ids of its documents (``ids_of``) without reading them either.
    """

    def __init__(self) -> None:
        self.doc = np.empty(0, dtype=object)
        self.chunk = np.empty(0, dtype=np.int64)
        self.kind = np.empty(0, dtype=np.int8)
        # a small integer per document id, and each vector's (-1: none)
        self._codes: dict[str, int] = {}
        self.code = np.empty(0, dtype=np.int32)

    def _fit(self, top: int) -> None:
        if top < len(self.doc):
            return
        size = max(top + 1, 2 * len(self.doc), 1024)
        doc = np.empty(size, dtype=object)
        doc[: len(self.doc)] = self.doc
        chunk = np.full(size, -1, dtype=np.int64)
        chunk[: len(self.chunk)] = self.chunk
        kind = np.full(size, -1, dtype=np.int8)
        kind[: len(self.kind)] = self.kind
        code = np.full(size, -1, dtype=np.int32)
        code[: len(self.code)] = self.code
        self.doc, self.chunk, self.kind, self.code = doc, chunk, kind, code

    def put(self, rows: list[tuple[int, str, int | None, str | None]]) -> None:
        """Record (id, document id, chunk id, kind) rows."""
        if not rows:
            return
        self._fit(max(r[0] for r in rows))
        intern = sys.intern  # one string per document, not one per vector (a document
        # has about 25 field vectors: 45 MB less per process at 100,000 passages)
        for vid, doc, chunk, kind in rows:
            self.doc[vid] = intern(doc)
            self.chunk[vid] = -1 if chunk is None else chunk
            self.kind[vid] = -1 if kind is None else _KINDS.index(kind)
        # codes for the documents new here, made in one go after the loop: made in it,
        # each code's int object landed among the rows' objects and kept their memory
        # from being freed (about 150 MB per process at 100,000 passages)
        vids = [r[0] for r in rows]
        docs = self.doc[vids].tolist()
        codes = self._codes
        new = [d for d in dict.fromkeys(docs) if d not in codes]
        codes.update(zip(new, range(len(codes), len(codes) + len(new)), strict=True))
        self.code[vids] = [codes[d] for d in docs]

    def drop(self, ids) -> None:
        """Forget removed ids."""
        ids = [i for i in ids if i < len(self.doc)]
        self.doc[ids] = None
        self.code[ids] = -1

    def ids_of(self, doc_ids: Iterable[str]) -> np.ndarray:
        """The known ids these documents own, ascending (a filter's allowed ids: about
        1 ms over 660,000 field vectors, where SQLite took 30 ms for one year's 60,000)."""
        wanted = [c for d in doc_ids if (c := self._codes.get(d)) is not None]
        # one flag per code, and a last one, always False, that the -1 of no owner reads
        admitted = np.zeros(len(self._codes) + 1, dtype=bool)
        admitted[wanted] = True
        return np.flatnonzero(admitted[self.code])

    def docs(self, ids: list[int]) -> dict[int, str]:
        """Document id of each known id."""
        return {i: d for i in ids if i < len(self.doc) and (d := self.doc[i]) is not None}

    def fields(self, ids: list[int]) -> dict[int, tuple[str, int | None, str]]:
        """(kind, chunk id or None, document id) of each known field id."""
        known = np.asarray(ids, dtype=np.int64)
        known = known[known < len(self.doc)]
        # whole arrays at once, then plain Python values: a search resolves 400 field ids
        docs = self.doc[known].tolist()
        chunks = self.chunk[known].tolist()
        kinds = self.kind[known].tolist()
        return {
            i: (_KINDS[k], None if c < 0 else c, d)
            for i, d, c, k in zip(known.tolist(), docs, chunks, kinds, strict=True)
            if d is not None
        }


class VectorMirror:
    """The vector spaces of one store, in memory, at one generation of the store.

    With ``mapped``, a snapshot's inverted files are mapped from disk, shared with every
    other process that reads them (``search.ann.mapped``), and changes since are kept
    on top; the mirror moves to a newer snapshot when a writer saved one. The first
    write of this process turns them into plain in-memory indexes, which it changes and
    saves as before.
    """

    def __init__(
        self, store: Store, folder: Path, kind: str, dim: int, mapped: bool = False
    ) -> None:
        self.store = store
        self.mapped = mapped
        self._snapshot = -1  # generation of the mapped snapshot in use
        self._writes = False  # this process wrote: its indexes stay in memory
        self.folder = Path(folder) / VECTORS_DIR
        self.kind = kind
        self.dim = dim
        self.generation = -1
        self.indexes: dict[str, VectorIndex] = {s: ann.create(kind, dim) for s in SPACES}
        self.owners: dict[str, Owners] = {s: Owners() for s in SPACES}
        self._rw = ReadWriteLock()
        self._local = threading.local()
        self._unsaved = 0  # vector ids changed since the newest snapshot on disk

    # -- reading ------------------------------------------------------------------------
    @contextlib.contextmanager
    def reading(self) -> Iterator[int]:
        """Hold the mirror at the generation of the caller's store read transaction.

        Call inside ``store.read()``. If the mirror is behind, it catches up first; if
        another thread already moved it further, the read transaction restarts, so the
        request sees the newer state throughout. Yields the generation.
        """
        if getattr(self._local, "depth", 0):
            self._local.depth += 1
            try:
                yield self.generation
            finally:
                self._local.depth -= 1
            return
        while True:
            gen = self.store.generation()
            self._rw.acquire_read()
            if self.generation == gen:
                self._local.depth = 1
                try:
                    yield gen
                finally:
                    self._local.depth = 0
                    self._rw.release_read()
                return
            ahead = self.generation > gen
            self._rw.release_read()
            if ahead:
                # the snapshot of this transaction is older than the mirror: start anew
                conn = self.store.conn
                conn.execute("COMMIT")
                conn.execute("BEGIN")
                continue
            with self._rw.write():
                if self.generation < gen:
                    self._catch_up(gen)

    def search(
        self, space: str, query: np.ndarray, n: int, allow: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-n (ids, scores) of a space (call inside ``reading``)."""
        return self.indexes[space].search(query, n, allow)

    def vectors(self, space: str, ids: list[int]) -> np.ndarray:
        """The vectors of ``ids`` of a space (call inside ``reading``; all must be present)."""
        return self.indexes[space].reconstruct(np.asarray(ids, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.indexes["passages"])

    def sizes(self) -> dict[str, int]:
        """Number of vectors per space."""
        return {space: len(index) for space, index in self.indexes.items()}

    # -- catching up --------------------------------------------------------------------
    def _catch_up(self, gen: int) -> None:
        """Bring the mirror to ``gen`` (under the write side of the lock, inside the read
        transaction that saw ``gen``)."""
        floor = self.store.log_floor()
        if self.generation >= floor:
            self._replay(self.generation, gen)
            if self.mapped and not self._writes:
                self._follow_snapshot(gen, floor)
        else:
            self._load(gen, floor)
        self.generation = gen

    def _follow_snapshot(self, gen: int, floor: int) -> None:
        """Move to the newest snapshot up to ``gen`` if a writer saved one since the one
        mapped, so that the changes held on top stay few (owners are current already)."""
        newer = [s for s in self._snapshots() if self._snapshot < s <= gen and s >= floor]
        if not newer:
            return
        snap = max(newer)
        try:
            indexes = self._open_snapshot(snap)
        except KBError as exc:  # deleted meanwhile: stay on the one mapped
            log.info("snapshot %s of %s not usable: %s", snap, self.folder, exc)
            return
        saved, self.indexes = self.indexes, indexes
        unsaved, self._unsaved = self._unsaved, 0
        try:
            self._replay(snap, gen, owners=False)
        except BaseException:
            self.indexes, self._unsaved = saved, unsaved
            raise
        self._snapshot = snap

    def _open_snapshot(self, snap: int) -> dict[str, VectorIndex]:
        """Every space's index from the snapshot at ``snap``: mapped or read."""
        if self.mapped and not self._writes:
            return {
                space: open_snapshot(self._path(space, snap), self.dim, self.kind)
                for space in SPACES
            }
        return {
            space: ann.backend(self.kind).load(self._path(space, snap), self.dim)
            for space in SPACES
        }

    def _own(self) -> None:
        """Turn mapped indexes into plain in-memory ones before this process writes: the
        base's codes copied, the changes on top from the store's exact vectors."""
        self._writes = True
        for space, index in self.indexes.items():
            if isinstance(index, MappedIndex):

                def exact(ids: np.ndarray, space: str = space) -> tuple[np.ndarray, np.ndarray]:
                    return self.store.vectors(space, ids.tolist(), self.dim)

                self.indexes[space] = index.materialize(exact)

    def _replay(self, after: int, upto: int, owners: bool = True) -> None:
        for space, (added, removed) in self.store.log_between(after, upto).items():
            if space not in self.indexes:  # not a vector space (terms changed in place)
                continue
            index = self.indexes[space]
            if removed:
                index.remove(np.fromiter(removed, dtype=np.int64, count=len(removed)))
                if owners:
                    self.owners[space].drop(sorted(removed))
            new = sorted(added - removed)
            if new:
                ids, vectors = self.store.vectors(space, new, self.dim)
                index.add(ids, vectors)
                if owners:
                    self.owners[space].put(self.store.owners(space, ids.tolist()))
            self._unsaved += len(added) + len(removed)

    def _load_owners(self) -> None:
        """Every owner of the store as it is in the caller's read transaction."""
        owners = {space: Owners() for space in SPACES}
        for space, table in owners.items():
            table.put(self.store.owners(space))
        self.owners = owners

    def _load(self, gen: int, floor: int) -> None:
        """Load the newest snapshot the log can bridge to ``gen``, else rebuild."""
        for snap in sorted(self._snapshots(), reverse=True):
            if not floor <= snap <= gen:
                continue
            try:
                indexes = self._open_snapshot(snap)
            except KBError as exc:  # deleted meanwhile, or damaged: try the next one
                log.info("snapshot %s of %s not usable: %s", snap, self.folder, exc)
                continue
            self.indexes = indexes
            self._snapshot = snap
            self._unsaved = 0
            self._replay(snap, gen, owners=False)
            self._load_owners()
            return
        log.info("rebuilding the vector mirror of %s from the store", self.folder.parent)
        indexes = {space: ann.create(self.kind, self.dim) for space in SPACES}
        for space, index in indexes.items():
            for ids, vectors in self.store.iter_vectors(space, self.dim):
                index.add(ids, vectors)
        self.indexes = indexes
        self._load_owners()
        self._unsaved = sum(len(index) for index in indexes.values()) or 0

    # -- writers ------------------------------------------------------------------------
    def catch_up_now(self) -> None:
        """Bring the mirror to the store's newest generation (writers, before writing)."""
        with self.store.read(), self.reading():
            pass

    def apply(self, changes: VectorChanges) -> None:
        """Apply a write this process just committed (the caller holds the write lock).

        If the mirror was not at the generation before, the next reader replays the log.
        """
        with self._rw.write():
            if self.generation != changes.generation - 1:
                return
            self._own()
            for space, ids in changes.removed.items():
                if ids:
                    self.indexes[space].remove(np.asarray(ids, dtype=np.int64))
                    self.owners[space].drop(ids)
                self._unsaved += len(ids)
            for space, (ids, vectors) in changes.added.items():
                self.indexes[space].add(ids, vectors)
                owners = changes.owners.get(space, [])
                self.owners[space].put(
                    [(int(i), *o) for i, o in zip(ids.tolist(), owners, strict=True)]
                )
                self._unsaved += len(ids)
            self.generation = changes.generation

    def needs_save(self) -> bool:
        """Whether enough changed since the last snapshot to write a new one."""
        total = sum(len(index) for index in self.indexes.values())
        return self._unsaved >= max(MIN_UNSAVED, UNSAVED_SHARE * total)

    def save(self) -> None:
        """Write a snapshot of every space at the mirror's generation, then forget the log
        before the previous snapshot and delete older snapshots (caller holds the write
        lock; readers of other processes keep working: they replay or reload)."""
        if self._unsaved == 0 and self.generation in self._snapshots():
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        if any(isinstance(index, MappedIndex) for index in self.indexes.values()):
            with self._rw.write():
                self._own()
        with self._rw.read():
            gen = self.generation
            for space, index in self.indexes.items():
                index.save(self._path(space, gen))
            self._unsaved = 0
        older = sorted(s for s in self._snapshots() if s < gen)
        keep_from = older[-1] if older else gen
        self.store.prune_log(keep_from)
        for snap in older[:-1]:
            for space in SPACES:
                self._path(space, snap).unlink(missing_ok=True)

    def _path(self, space: str, gen: int) -> Path:
        return self.folder / f"{space}.{gen:012d}.faiss"

    def _snapshots(self) -> set[int]:
        """Generations with a complete snapshot (a file for every space)."""
        found: dict[int, set[str]] = {}
        try:
            names = [p.name for p in self.folder.iterdir()]
        except FileNotFoundError:
            return set()
        for name in names:
            m = _SNAPSHOT.match(name)
            if m:
                found.setdefault(int(m["gen"]), set()).add(m["space"])
        return {gen for gen, spaces in found.items() if spaces >= set(SPACES)}
