"""One writer per index, across threads and processes: an advisory lock on a file.

The lock file lives in the index folder (it survives store switches). Its holder writes
who it is (process id, command, since when) into it, so a waiting writer can say what it
waits for. Readers never take this lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from .errors import IndexBusy

LOCK_FILE = "write.lock"

#: how often a waiting writer retries
_POLL_SECONDS = 0.05


class WriteLock:
    """Re-entrant exclusive lock of one index folder (per thread, then per process)."""

    def __init__(self, folder: Path, timeout: float, what: str | None = None) -> None:
        self.path = Path(folder) / LOCK_FILE
        self.timeout = timeout
        self.what = what or " ".join(Path(a).name for a in sys.argv[:2]) or "python"
        self._thread_lock = threading.RLock()
        self._depth = 0
        self._fh = None

    @contextlib.contextmanager
    def hold(self, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
        """Hold the lock for the block; wait up to ``timeout`` seconds, then IndexBusy.

        ``on_wait`` is told once, in one line, whom we wait for.
        """
        if not self._thread_lock.acquire(timeout=self.timeout if self.timeout >= 0 else -1):
            raise IndexBusy(f"index {self.path.parent} is busy in this process; try again")
        try:
            if self._depth == 0:
                self._acquire_file(on_wait)
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self._release_file()
        finally:
            self._thread_lock.release()

    def _acquire_file(self, on_wait: Callable[[str], None] | None) -> None:
        fh = open(self.path, "a+")  # noqa: SIM115 - held until release
        deadline = time.monotonic() + self.timeout
        told = False
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = self.holder()
                if time.monotonic() >= deadline:
                    fh.close()
                    raise IndexBusy(
                        f"index {self.path.parent} is being written by {holder}; gave up "
                        f"after {self.timeout:g} s (KB_WRITE_TIMEOUT); try again later"
                    ) from None
                if on_wait is not None and not told:
                    on_wait(f"waiting for the write lock of {self.path.parent}: held by {holder}")
                    told = True
                time.sleep(_POLL_SECONDS)
        since = datetime.now(UTC).isoformat(timespec="seconds")
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()} ({self.what}) since {since}\n")
        fh.flush()
        self._fh = fh

    def _release_file(self) -> None:
        fh, self._fh = self._fh, None
        if fh is not None:
            fh.seek(0)
            fh.truncate()
            fh.flush()
            fcntl.flock(fh, fcntl.LOCK_UN)
            fh.close()

    def holder(self) -> str:
        """Who holds the lock, as its holder wrote it (best effort)."""
        try:
            text = self.path.read_text().strip()
        except OSError:
            text = ""
        return text or "another writer"


class ReadWriteLock:
    """Many readers or one writer, within a process; a waiting writer goes first.

    Searches share an in-memory vector index; bringing it to a newer generation
    excludes them for the few milliseconds the update takes.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._readers = 0
        self._writer = False
        self._waiting_writers = 0

    def acquire_read(self) -> None:
        """Enter as a reader."""
        with self._cond:
            while self._writer or self._waiting_writers:
                self._cond.wait()
            self._readers += 1

    def release_read(self) -> None:
        """Leave as a reader."""
        with self._cond:
            self._readers -= 1
            if self._readers == 0:
                self._cond.notify_all()

    @contextlib.contextmanager
    def write(self) -> Iterator[None]:
        """Hold the lock exclusively for the block."""
        with self._cond:
            self._waiting_writers += 1
            while self._writer or self._readers:
                self._cond.wait()
            self._waiting_writers -= 1
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()

    @contextlib.contextmanager
    def read(self) -> Iterator[None]:
        """Hold the lock as a reader for the block."""
        self.acquire_read()
        try:
            yield
        finally:
            self.release_read()
