"""An index folder: its manifest, its writers' lock and its store folders.

Layout::

    index/
      manifest.json      active store, embedder, analyzer (replaced atomically)
      write.lock         one writer at a time, across processes
      store-0001/        the active store: kb.sqlite and vectors/ snapshots
      store-0002.building  only while (or after an interrupted) ``kb reindex``

``IndexFolder`` gives each call a consistent state to read (``reading``) or the write
lock with a current mirror (``writing``). Every call first compares the manifest's stamp
(one ``stat``): when a reindex switched the active store, the folder opens the new store
and keeps the old one open until the next switch, for calls still reading it.
"""

from __future__ import annotations

import contextlib
import logging
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from . import manifest as manifests
from .errors import IndexBusy, IndexNotFound
from .locking import WriteLock
from .manifest import Manifest
from .mirror import VectorMirror
from .postings import TermFollower
from .retrieval import View
from .settings import Settings
from .store import SCHEMA_VERSION, Store

log = logging.getLogger(__name__)

DB_FILE = "kb.sqlite"
FIRST_STORE = "store-0001"
#: suffix of a store folder being built by a reindex
BUILDING = ".building"
#: files of an index of the first format, whose store lay in the index folder itself
_FORMAT1_FILES = (
    DB_FILE,
    DB_FILE + "-wal",
    DB_FILE + "-shm",
    "vectors.faiss",
    "vectors.json",
    "fields.faiss",
    "fields.json",
)


@dataclass
class Handle:
    """An open store of the index, and the manifest stamp it was opened under."""

    manifest: Manifest
    stamp: manifests.Stamp | None
    store: Store
    mirror: VectorMirror
    terms: TermFollower


class IndexFolder:
    """The stores of one index folder, followed across processes."""

    def __init__(self, path: Path, manifest: Manifest, settings: Settings) -> None:
        self.path = Path(path)
        self.lock = WriteLock(self.path, settings.write_timeout)
        self.map_vectors = settings.map_vectors
        #: told once, in one line, when a write waits for another writer
        self.on_wait: Callable[[str], None] | None = None
        #: called with the new manifest when the active store changed (before using it)
        self.on_switch: Callable[[Manifest], None] | None = None
        self._switch = threading.Lock()
        self._follow_terms = False
        self._retired: list[Handle] = []
        self._handle = self._open(manifest, manifests.stamp(self.path))

    @staticmethod
    def create(path: Path, manifest: Manifest, timeout: float) -> Manifest:
        """Make an empty index with ``manifest`` (its store is ``FIRST_STORE``); returns the
        manifest in force, which is another's if a concurrent creator was first."""
        path.mkdir(parents=True, exist_ok=True)
        with WriteLock(path, timeout).hold():
            existing = manifests.read(path)
            if existing is not None:
                return existing
            (path / manifest.store).mkdir(exist_ok=True)
            store = Store(path / manifest.store / DB_FILE)
            store.create_or_migrate()
            store.close()
            manifests.write(path, manifest)
            return manifest

    def _open(self, manifest: Manifest, stamp: manifests.Stamp | None) -> Handle:
        store_dir = self.path / manifest.store
        store = Store(store_dir / DB_FILE)
        version = store.schema_version()
        if version is None or version < SCHEMA_VERSION:
            with self.lock.hold(self.on_wait):
                store.create_or_migrate()
        store.check_schema()
        mirror = VectorMirror(
            store, store_dir, manifest.vector_index, manifest.dim, mapped=self.map_vectors
        )
        terms = TermFollower(store)
        if self._follow_terms:
            terms.start()
        return Handle(manifest, stamp, store, mirror, terms)

    def follow_terms(self) -> None:
        """Keep the passages' terms in memory from now on, in this store (built now) and
        the ones a reindex switches to (built on their thread; ``search.postings``; for
        servers)."""
        self._follow_terms = True
        self._handle.terms.start(wait=True)

    def close(self) -> None:
        """Close the SQLite connections of the active store and retired ones."""
        for handle in [*self._retired, self._handle]:
            handle.terms.close()
            handle.store.close()
        self._retired.clear()

    # -- following other processes -------------------------------------------------------
    def current(self) -> Handle:
        """The active store; opens the new one when a reindex switched stores."""
        stamp = manifests.stamp(self.path)
        handle = self._handle
        if stamp == handle.stamp:
            return handle
        with self._switch:
            handle = self._handle
            if stamp == handle.stamp:
                return handle
            manifest = manifests.read(self.path)
            if manifest is None:
                raise IndexNotFound(f"the knowledge base in {self.path} was removed")
            if manifest.store == handle.manifest.store:
                handle.stamp = stamp
                return handle
            log.info("following the switch of %s to %s", self.path, manifest.store)
            if self.on_switch is not None:
                self.on_switch(manifest)
            new = self._open(manifest, stamp)
            # calls in flight may still read the old store: close it a switch later
            for old in self._retired:
                old.store.close()
            handle.terms.close()
            self._retired = [handle]
            self._handle = new
            return new

    @contextlib.contextmanager
    def reading(self) -> Iterator[View]:
        """A consistent state: one SQLite read transaction, the mirror at its generation."""
        handle = self.current()
        with handle.store.read(), handle.mirror.reading() as gen:
            yield View(handle.store, handle.mirror, gen, handle.terms.at(gen))

    @contextlib.contextmanager
    def writing(self, *, save: bool = False) -> Iterator[Handle]:
        """Hold the write lock with the mirror at the newest state. Afterwards a vector
        snapshot is saved if ``save`` or if enough changed since the last one."""
        with self.lock.hold(self.on_wait):
            handle = self.current()
            handle.mirror.catch_up_now()
            yield handle
            if save or handle.mirror.needs_save():
                handle.mirror.save()

    # -- store folders ------------------------------------------------------------------
    def new_store_name(self) -> str:
        """A store folder name above every existing one (finished or not)."""
        numbers = [0]
        for path in self.path.glob("store-*"):
            match = re.match(r"store-(\d+)", path.name)
            if match:
                numbers.append(int(match[1]))
        return f"store-{max(numbers) + 1:04d}"

    def switch(self, manifest: Manifest) -> None:
        """Make ``manifest`` (naming a finished store) the active one, then delete stores
        older than the one it replaces (caller holds the write lock)."""
        previous = self.current().manifest.store
        manifests.write(self.path, manifest)
        self.current()
        keep = {manifest.store, previous}
        for path in self.path.glob("store-*"):
            if path.is_dir() and path.name not in keep:
                shutil.rmtree(path, ignore_errors=True)
        if "." not in keep:  # the first format's store lay in the index folder itself
            for name in _FORMAT1_FILES:
                (self.path / name).unlink(missing_ok=True)
            shutil.rmtree(self.path / "vectors", ignore_errors=True)

    def remove_unfinished_stores(self) -> None:
        """Roll back a reindex interrupted before its switch: remove its folder (still
        ``.building``, or renamed but never made active: newer than the active store).

        Only when no writer holds the lock (a reindex in progress keeps it).
        """
        active = self.current().manifest.store
        leftovers = [
            path
            for path in self.path.glob("store-*")
            if path.name.endswith(BUILDING) or (active != "." and path.name > active)
        ]
        if not leftovers:
            return
        try:
            with WriteLock(self.path, timeout=0).hold():
                for path in leftovers:
                    shutil.rmtree(path, ignore_errors=True)
                    log.warning(
                        "removed %s: a reindex was interrupted before its switch, so the "
                        "index is as it was before (run 'kb reindex' again if needed)",
                        path.name,
                    )
        except IndexBusy:
            pass  # a writer is at work, perhaps that reindex
