"""The IVF backend past its exact size: training, recall against exact search, removal,
rare filters, retraining and files."""

from __future__ import annotations

import numpy as np
import pytest

from search import ann
from search.ann import ivf


@pytest.fixture
def small(monkeypatch):
    monkeypatch.setattr(ivf, "TRAIN_AT", 2_000)


def _clustered(n: int, dim: int = 32, seed: int = 0) -> np.ndarray:
    """Unit vectors around 40 centres, like topics in a corpus."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(40, dim))
    x = centres[rng.integers(0, 40, n)] + 0.6 * rng.normal(size=(n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def test_exact_below_the_size_then_approximate_with_high_recall(small):
    x = _clustered(6_000)
    index, exact = ann.create("ivf", 32), ann.create("flat", 32)
    index.add(np.arange(1_500), x[:1_500])
    assert not index.approximate
    index.add(np.arange(1_500, 6_000), x[1_500:])
    exact.add(np.arange(6_000), x)
    assert index.approximate and len(index) == 6_000
    queries = _clustered(100, seed=1)
    recall = np.mean(
        [len(set(index.search(q, 10)[0]) & set(exact.search(q, 10)[0])) / 10 for q in queries]
    )
    assert recall >= 0.9


def test_removal_rare_filters_files_and_retraining(small, tmp_path):
    x = _clustered(3_000)
    index = ann.create("ivf", 32)
    index.add(np.arange(3_000), x)
    assert index.remove(np.array([7, 8, 99_999])) == 2 and len(index) == 2_998
    assert 7 not in index.search(x[7], 10)[0]
    allow = np.array([5, 1_234, 2_999])  # ids far apart: a filter applied before ranking
    assert sorted(index.search(x[5], 10, allow=allow)[0]) == [5, 1_234, 2_999]
    path = tmp_path / "v.faiss"
    index.save(path)
    loaded = ann.backend("ivf").load(path, 32)
    assert loaded.approximate and len(loaded) == 2_998
    assert loaded.search(x[9], 1)[0][0] == 9
    trained = loaded.trained_at
    loaded.add(np.arange(3_000, 12_000), _clustered(9_000, seed=2))  # past 4x: trained anew
    assert loaded.trained_at == 11_998 and len(loaded) == 11_998
    assert loaded.trained_at > trained and loaded.search(x[9], 1)[0][0] == 9
