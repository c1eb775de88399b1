"""The contract every vector index backend keeps, run on each registered backend.

A new backend joins ``BACKENDS`` and passes this class unchanged (approximate backends
get a corpus small enough for exact answers).
"""

from __future__ import annotations

import numpy as np
import pytest

from search import ann
from search.errors import KBError


def _unit(rows) -> np.ndarray:
    x = np.asarray(rows, dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture(params=sorted(ann.BACKENDS))
def kind(request) -> str:
    return request.param


class TestVectorIndexContract:
    def test_search_add_remove_with_our_ids(self, kind):
        index = ann.create(kind, 3)
        index.add(np.array([10, 20, 30]), _unit([[1, 0, 0], [0, 1, 0], [1, 1, 0]]))
        ids, scores = index.search(_unit([[1, 0.1, 0]])[0], 2)
        assert list(ids) == [10, 30]
        assert scores[0] > scores[1]
        assert index.remove(np.array([10, 99])) == 1
        ids, _ = index.search(_unit([[1, 0, 0]])[0], 5)
        assert sorted(ids) == [20, 30] and len(index) == 2

    def test_search_on_empty_or_small_index(self, kind):
        index = ann.create(kind, 2)
        ids, scores = index.search(np.array([1, 0], dtype=np.float32), 10)
        assert len(ids) == len(scores) == 0
        index.add(np.array([1]), _unit([[1, 0]]))
        assert list(index.search(np.array([0, 1], dtype=np.float32), 10)[0]) == [1]

    def test_allowed_ids_restrict_the_answer_before_ranking(self, kind):
        rng = np.random.default_rng(7)
        index = ann.create(kind, 8)
        vectors = _unit(rng.normal(size=(200, 8)))
        index.add(np.arange(200), vectors)
        allow = np.array([3, 50, 199])
        ids, scores = index.search(vectors[0], 10, allow=allow)
        assert sorted(ids) == [3, 50, 199]  # the best of the allowed, not a filtered top 10
        assert list(scores) == sorted(scores, reverse=True)
        assert len(index.search(vectors[0], 10, allow=np.array([], dtype=np.int64))[0]) == 0

    def test_allowed_ids_at_byte_edges_and_far_apart_give_the_best_of_them(self, kind):
        # the allowed ids become a bitmap: ids at the edges of its bytes, and far apart
        rng = np.random.default_rng(11)
        ids = np.array([0, 7, 8, 15, 16, 63, 64, 1_000, 99_999, 100_000, 1 << 20])
        vectors = _unit(rng.normal(size=(len(ids), 8)))
        index = ann.create(kind, 8)
        index.add(ids, vectors)
        query = _unit(rng.normal(size=(1, 8)))[0]
        for allow in ([7, 8, 1 << 20], [0, 15, 16, 63, 64], [100_000], [5, 9, 99_999]):
            found, scores = index.search(query, 3, allow=np.array(allow))
            admitted = [i for i in range(len(ids)) if ids[i] in allow]
            best = sorted(admitted, key=lambda i: -float(vectors[i] @ query))[:3]
            assert found.tolist() == [int(ids[i]) for i in best]
            assert np.allclose(scores, [vectors[i] @ query for i in best], atol=1e-6)

    def test_save_and_load_round_trip(self, kind, tmp_path):
        index = ann.create(kind, 3)
        index.add(np.array([5, 6]), _unit([[1, 0, 0], [0, 0, 1]]))
        path = tmp_path / "v.faiss"
        index.save(path)
        assert [p.name for p in tmp_path.iterdir()] == ["v.faiss"]  # no temp file left
        loaded = ann.backend(kind).load(path, 3)
        assert len(loaded) == 2
        assert list(loaded.search(_unit([[0, 0, 1]])[0], 1)[0]) == [6]

    def test_missing_damaged_or_foreign_files_are_errors(self, kind, tmp_path):
        path = tmp_path / "v.faiss"
        cls = ann.backend(kind)
        with pytest.raises(KBError, match="missing"):
            cls.load(path, 3)
        ann.create(kind, 3).save(path)
        with pytest.raises(KBError, match="expected 4-d"):
            cls.load(path, 4)
        path.write_bytes(b"not faiss")
        with pytest.raises(KBError, match="damaged"):
            cls.load(path, 3)

    def test_stored_vectors_come_back(self, kind):
        index = ann.create(kind, 3)
        vectors = _unit([[1, 0, 0], [0, 1, 1], [1, 1, 1]])
        index.add(np.array([7, 8, 9]), vectors)
        assert np.allclose(index.reconstruct(np.array([9, 7])), vectors[[2, 0]], atol=1e-2)
        assert index.reconstruct(np.array([], dtype=np.int64)).shape == (0, 3)

    def test_wrong_dimension_is_an_error(self, kind):
        index = ann.create(kind, 3)
        with pytest.raises(KBError, match="dimension"):
            index.add(np.array([1]), np.ones((1, 4), dtype=np.float32))


def test_unknown_backend_names_the_available_ones():
    with pytest.raises(KBError, match="flat"):
        ann.create("magic", 3)
