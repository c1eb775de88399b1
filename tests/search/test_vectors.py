"""The FAISS vector index: removable ids, exact search, atomic save and load."""

from __future__ import annotations

import numpy as np
import pytest

from search.errors import KBError
from search.vectors import VectorIndex, make_vector_index


def _unit(rows: list[list[float]]) -> np.ndarray:
    x = np.asarray(rows, dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_search_add_remove_with_our_ids():
    index = make_vector_index("flat", 3)
    index.add(np.array([10, 20, 30]), _unit([[1, 0, 0], [0, 1, 0], [1, 1, 0]]))
    ids, scores = index.search(_unit([[1, 0.1, 0]])[0], 2)
    assert list(ids) == [10, 30]
    assert scores[0] > scores[1]
    assert index.remove(np.array([10, 99])) == 1
    ids, _ = index.search(_unit([[1, 0, 0]])[0], 5)
    assert sorted(ids) == [20, 30] and len(index) == 2


def test_search_on_empty_or_small_index():
    index = make_vector_index("flat", 2)
    ids, scores = index.search(np.array([1, 0], dtype=np.float32), 10)
    assert len(ids) == len(scores) == 0
    index.add(np.array([1]), _unit([[1, 0]]))
    assert list(index.search(np.array([0, 1], dtype=np.float32), 10)[0]) == [1]


def test_save_and_load_round_trip_with_generation(tmp_path):
    index = make_vector_index("flat", 3)
    index.add(np.array([5, 6]), _unit([[1, 0, 0], [0, 0, 1]]))
    path = tmp_path / "vectors.faiss"
    index.save(path, generation=7)
    assert not list(tmp_path.glob("*.tmp"))
    loaded, generation = VectorIndex.load(path, 3)
    assert generation == 7 and len(loaded) == 2
    assert list(loaded.search(_unit([[0, 0, 1]])[0], 1)[0]) == [6]


def test_damaged_or_foreign_files_are_not_loaded(tmp_path):
    path = tmp_path / "vectors.faiss"
    assert VectorIndex.load(path, 3) is None
    index = make_vector_index("flat", 3)
    index.save(path, generation=1)
    assert VectorIndex.load(path, 4) is None  # another dimension
    path.write_bytes(b"not faiss")
    assert VectorIndex.load(path, 3) is None


def test_wrong_dimension_and_unknown_kind_are_errors():
    index = make_vector_index("flat", 3)
    with pytest.raises(KBError, match="dimension"):
        index.add(np.array([1]), np.ones((1, 4), dtype=np.float32))
    with pytest.raises(KBError, match="flat"):
        make_vector_index("hnsw", 3)
