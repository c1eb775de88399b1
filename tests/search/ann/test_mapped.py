"""A mapped IVF snapshot with changes on top answers like the same IVF held in memory."""

from __future__ import annotations

import numpy as np
import pytest

from search import ann
from search.ann import ivf
from search.ann.mapped import MappedIndex, open_snapshot
from search.errors import KBError

from .test_ivf import _clustered


@pytest.fixture
def small(monkeypatch):
    monkeypatch.setattr(ivf, "TRAIN_AT", 2_000)


@pytest.fixture
def snapshot(small, tmp_path):
    """An IVF of 3,000 vectors saved to a file, and the vectors."""
    x = _clustered(3_000)
    index = ann.create("ivf", 32)
    index.add(np.arange(3_000), x)
    path = tmp_path / "passages.000000000001.faiss"
    index.save(path)
    return path, x


def _same_answers(a, b, queries, allow=None) -> None:
    for q in queries:
        ids_a, scores_a = a.search(q, 10, allow)
        ids_b, scores_b = b.search(q, 10, allow)
        assert ids_a.tolist() == ids_b.tolist()
        np.testing.assert_allclose(scores_a, scores_b, rtol=1e-5, atol=1e-6)


def test_a_mapped_snapshot_is_shared_not_copied(snapshot):
    path, x = snapshot
    mapped = open_snapshot(path, 32, "ivf")
    assert isinstance(mapped, MappedIndex) and len(mapped) == 3_000
    lists = mapped._faiss.downcast_InvertedLists(mapped.base.invlists)
    assert type(lists).__name__ == "OnDiskInvertedLists"  # read from the page cache
    assert lists.prefetch_nthread == 0  # no reading-ahead threads per search
    plain = ann.backend("ivf").load(path, 32)
    _same_answers(mapped, plain, _clustered(20, seed=5))
    np.testing.assert_array_equal(mapped.reconstruct(np.array([3, 7])), plain.reconstruct([3, 7]))


def _overlap(a, b, queries) -> float:
    return float(
        np.mean([len(set(a.search(q, 10)[0]) & set(b.search(q, 10)[0])) / 10 for q in queries])
    )


def test_changes_on_top_answer_like_the_same_changes_in_memory(snapshot, tmp_path):
    path, x = snapshot
    mapped, plain = open_snapshot(path, 32, "ivf"), ann.backend("ivf").load(path, 32)
    more = _clustered(500, seed=3)
    for index in (mapped, plain):
        index.add(np.arange(3_000, 3_499), more[:499])
        assert index.remove(np.array([7, 8, 3_001, 99_999])) == 3
        # a removed id of the snapshot comes back with another vector
        index.add(np.array([8]), more[499:])
    assert len(mapped) == len(plain) == 3_497
    queries = np.vstack([x[[7, 8, 9]], more[[0, 2, 499]], _clustered(30, seed=6)])
    # the delta is exact, the in-memory IVF codes it: nearly the same answers
    assert _overlap(mapped, plain, queries) >= 0.9
    assert mapped.search(more[499], 1)[0][0] == 8 and mapped.search(more[2], 1)[0][0] == 3_002
    assert 7 not in mapped.search(x[7], 10)[0] and 3_001 not in mapped.search(more[1], 10)[0]
    allow = np.array([5, 8, 1_234, 3_002, 3_498])  # a rare filter, over both layers
    assert sorted(mapped.search(x[5], 10, allow)[0].tolist()) == [5, 8, 1_234, 3_002, 3_498]
    np.testing.assert_array_equal(mapped.reconstruct(np.array([9])), plain.reconstruct([9]))
    np.testing.assert_allclose(mapped.reconstruct(np.array([8, 3_002])), more[[499, 2]])

    # materialised (what a writer changes and saves): the in-memory IVF's very codes
    exact = {**{3_000 + i: more[i] for i in range(499)}, 8: more[499]}

    # the source has all but one: that one comes from the delta
    def source(ids):
        ids = ids[ids != 3_010]
        return ids, np.vstack([exact[int(i)] for i in ids])

    whole = mapped.materialize(source)
    assert isinstance(whole, ivf.IVFIndex) and len(whole) == 3_497
    _same_answers(whole, plain, queries)
    whole.add(np.array([5_000]), _clustered(1, seed=9))  # and it takes changes as usual
    assert whole.search(_clustered(1, seed=9)[0], 1)[0][0] == 5_000
    saved = tmp_path / "passages.000000000002.faiss"
    mapped.save(saved)  # written whole: base without the removed ids, plus the delta
    reread = open_snapshot(saved, 32, "ivf")
    assert len(reread) == 3_497 and _overlap(reread, plain, queries) >= 0.9
    assert 7 not in reread.search(x[7], 10)[0]


def test_small_snapshots_are_read_into_memory_and_damaged_ones_refused(small, tmp_path):
    index = ann.create("ivf", 32)
    index.add(np.arange(100), _clustered(100))  # below the size that trains an IVF
    index.save(tmp_path / "small.faiss")
    assert not isinstance(open_snapshot(tmp_path / "small.faiss", 32, "ivf"), MappedIndex)
    (tmp_path / "bad.faiss").write_bytes(b"not an index")
    with pytest.raises(KBError, match="damaged"):
        open_snapshot(tmp_path / "bad.faiss", 32, "ivf")
    with pytest.raises(KBError, match="missing"):
        open_snapshot(tmp_path / "none.faiss", 32, "ivf")


def test_a_filter_of_few_ids_scans_only_their_cells_with_the_same_answer(
    snapshot, tmp_path, monkeypatch
):
    path, x = snapshot
    twins = np.vstack([x[:200], x[:200]])  # equal vectors: ties within a cell
    index = ann.create("ivf", 32)
    index.add(np.arange(3_000), x)
    index.add(np.arange(3_000, 3_400), twins)
    path = tmp_path / "twins.faiss"
    index.save(path)
    mapped = open_snapshot(path, 32, "ivf")
    mapped.remove(np.array([11, 3_011]))
    mapped.add(np.array([5_000]), x[[12]])  # in the delta, beside the base's answers
    scanned = []
    real = ivf._search_some_cells
    monkeypatch.setattr(
        ivf,
        "_search_some_cells",
        lambda index, q, n, sel, cells: scanned.append(len(cells)) or real(index, q, n, sel, cells),
    )
    rng = np.random.default_rng(7)
    nlist = mapped.base.nlist
    for size in (1, 3, 20, nlist // 2):
        allow = np.sort(rng.choice(3_400, size, replace=False))
        allow = np.union1d(allow, [11, 12, 3_011, 3_012, 5_000, 9_999])  # removed, twins, delta
        sel, _alive = mapped._selector(allow)
        for q in np.vstack([x[[12, 40]], _clustered(5, seed=9)]):
            n = min(10, len(allow))
            every = ivf.search_cells(mapped.base, q, n, sel, True)  # every cell
            some = ivf.search_cells(mapped.base, q, n, sel, True, mapped._cells_of(allow))
            assert some[0].tolist() == every[0].tolist()  # same ids, same order
            assert some[1].tobytes() == every[1].tobytes()  # same scores to the bit
            ids, _ = mapped.search(q, n, allow)
            assert 11 not in ids and 3_011 not in ids and set(ids) <= set(allow)
        assert 0 < scanned[-1] < nlist  # only the cells of the allowed ids were scanned
    assert mapped.search(x[12], 1, np.array([5_000, 12]))[0][0] in (12, 5_000)
    # more allowed ids than half the cells: every cell, as before
    assert mapped._cells_of(np.arange(nlist // 2 + 1)) is None
    assert ivf.search_cells(mapped.base, x[0], 5, None, True, np.array([], np.int32))[0].size == 0
