"""Embedding large batches on several cores, for bulk writes (``kb ingest``, reindex).

The default embedder runs one BLAS thread (a second one only spins, see
``docs/performance.md``) and its tokenizer and glue hold the GIL, so more cores need
more processes. :class:`EmbeddingPool` is an :class:`Embedder` that splits a large
call into shares of about equal text length: the calling process embeds the first
share itself while helper processes embed the others. :meth:`EmbeddingPool.submit`
gives all shares to helpers and returns at once, so that a bulk write analyses and
commits one batch while the next is embedded. Small calls (a short upload, a query)
never leave the calling process.

Helpers are started with ``spawn`` (safe in a process with threads, such as the
server) and build the same embedder from its config string. If a helper cannot
start or dies, the pool embeds in the calling process from then on, with a warning:
a bulk write never fails for want of helpers.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor

import numpy as np

from .embedders import Embedder, get_embedder

log = logging.getLogger(__name__)

#: a call with less text (characters) stays in the calling process: it embeds in about
#: 30 ms, and shipping texts and vectors between processes costs about 1 ms
MIN_CHARS = 5_000
#: processes when the setting is 0 (auto): one per core, up to this many
MAX_AUTO_PROCESSES = 4

_worker_embedder: Embedder | None = None


def auto_processes(setting: int) -> int:
    """Processes to embed with: the setting, or for 0 the cores (at most 4)."""
    if setting > 0:
        return setting
    return max(1, min(os.cpu_count() or 1, MAX_AUTO_PROCESSES))


def _start_helper(spec: str, dim: int) -> None:
    global _worker_embedder
    parent = multiprocessing.parent_process()
    if parent is not None:  # a killed writer (kill -9) must not leave helpers behind
        threading.Thread(target=_exit_with, args=(parent.sentinel,), daemon=True).start()
    _worker_embedder = get_embedder(spec)
    if _worker_embedder.dim != dim:
        raise RuntimeError(f"embedder {spec!r} gives {_worker_embedder.dim}-d vectors, not {dim}")


def _exit_with(sentinel: int) -> None:
    """End this helper when the writing process ends, however it ended: the helpers wait
    on a queue whose pipe they hold both ends of, so they would not notice otherwise."""
    multiprocessing.connection.wait([sentinel])
    os._exit(0)


def _embed_in_helper(texts: list[str]) -> np.ndarray:
    assert _worker_embedder is not None, "helper started without an embedder"
    return _worker_embedder.embed_passages(texts)


def split_evenly(texts: Sequence[str], shares: int) -> list[tuple[int, int]]:
    """Cut ``texts`` into at most ``shares`` consecutive ranges of about equal total
    length (the embedder's work follows the tokens); no range is empty."""
    total = sum(len(t) + 1 for t in texts)
    bounds, start, acc = [], 0, 0
    for i, text in enumerate(texts):
        acc += len(text) + 1
        if len(bounds) < shares - 1 and acc * shares >= total * (len(bounds) + 1):
            bounds.append((start, i + 1))
            start = i + 1
    if start < len(texts):
        bounds.append((start, len(texts)))
    return bounds


class EmbeddingPool(Embedder):
    """``embedder`` spread over ``processes`` processes (this one and helpers) for large
    calls; use as a context manager or call :meth:`close`."""

    def __init__(self, embedder: Embedder, processes: int, min_chars: int = MIN_CHARS) -> None:
        self.inner = embedder
        self.name = embedder.name
        self.dim = embedder.dim
        self.processes = max(1, processes)
        self.min_chars = min_chars
        self._executor: ProcessPoolExecutor | None = None
        self._broken = self.processes == 1

    def __enter__(self) -> EmbeddingPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.embed_queries(texts)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors of ``texts``, the same as the wrapped embedder's: this process embeds
        the first share while the helpers embed the others."""
        ranges = self._shares(texts)
        if ranges is None:
            return self.inner.embed_passages(texts)
        (a, b), others = ranges[0], ranges[1:]
        sent = self._send(texts, others)
        return self._join(texts, [self.inner.embed_passages(texts[a:b])], sent)

    def submit(self, texts: Sequence[str]) -> Callable[[], np.ndarray]:
        """Start embedding ``texts`` in the helpers and return at once; calling the
        result waits for the vectors. The calling process is free meanwhile (a bulk
        write analyses and commits the batch before). Small calls, or all calls once a
        helper failed, are embedded when the result is called, in this process."""
        texts = list(texts)
        ranges = self._shares(texts)
        if ranges is None:
            return lambda: self.inner.embed_passages(texts)
        sent = self._send(texts, ranges)
        return lambda: self._join(texts, [], sent)

    def _shares(self, texts: Sequence[str]) -> list[tuple[int, int]] | None:
        """The shares of a call worth spreading over the helpers, else None."""
        if self._broken or sum(map(len, texts)) < self.min_chars:
            return None
        ranges = split_evenly(texts, self.processes)
        if len(ranges) < 2 or self._pool() is None:
            return None
        return ranges

    def _send(
        self, texts: Sequence[str], ranges: list[tuple[int, int]]
    ) -> list[Future] | Exception:
        """Give the helpers these shares; the exception if the pool takes no work."""
        try:
            return [self._executor.submit(_embed_in_helper, list(texts[a:b])) for a, b in ranges]
        except Exception as exc:  # noqa: BLE001 - e.g. a pool broken meanwhile
            return exc

    def _join(
        self, texts: Sequence[str], done: list[np.ndarray], sent: list[Future] | Exception
    ) -> np.ndarray:
        """The vectors of ``texts``: the shares ``done`` here, then the helpers'. A failed
        helper costs time, not vectors: then all of ``texts`` is embedded here."""
        try:
            if isinstance(sent, Exception):
                raise sent
            parts = [*done, *(future.result() for future in sent)]
        except Exception as exc:  # noqa: BLE001 - a helper died or could not start
            return self._give_up(exc, texts)
        return np.concatenate(parts).astype(np.float32, copy=False)

    def _pool(self) -> ProcessPoolExecutor | None:
        if self._executor is None and not self._broken:
            try:
                self._executor = ProcessPoolExecutor(
                    self.processes,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_start_helper,
                    initargs=(self.name, self.dim),
                )
            except Exception as exc:  # noqa: BLE001 - e.g. no more processes allowed
                self._give_up(exc, ())
        return self._executor

    def _give_up(self, exc: BaseException, texts: Sequence[str]) -> np.ndarray:
        log.warning(
            "embedding in one process from now on: a helper process failed (%s: %s)",
            type(exc).__name__,
            exc,
        )
        self._broken = True
        self.close()
        return self.inner.embed_passages(texts)

    def close(self) -> None:
        """Stop the helper processes."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
