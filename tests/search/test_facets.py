"""Facet counts from the code table give exactly the answer of counting the metadata."""

from __future__ import annotations

import random
import threading

import pytest

from search.facets import FacetTable
from search.results import FACETS, count_facets, facets_of


def _metas(n: int, seed: int) -> dict[str, dict]:
    """Reports with few distinct values (many ties), empty and missing values, a topic
    listed twice, and more topics than the table's first width."""
    rng = random.Random(seed)
    out = {}
    for i in range(n):
        topics = rng.sample(["Wasserstoff", "Fachkräfte", "KI", "Ökologie", "Energie", ""], 3)
        if i % 7 == 0:
            topics += [topics[0], "Logistik", "Bau", "Export"]  # a repeat; six topics
        out[f"r{i:05d}"] = {
            "id": f"r{i:05d}",
            "date": rng.choice(["2019-03-01", "2021-11-30", "2021", "", None, "2024-02-02"]),
            "organiser": rng.choice(["IHK Ost", "Netzwerk Süd", "", None, "Äußere Kammer"]),
            "event": f"Forum {rng.randrange(n // 2)}" if i % 5 else None,
            "format": rng.choice(["md", "pdf", "docx", "txt"]),
            "topics": topics if i % 11 else [],
        }
    return out


def _reader(metas: dict[str, dict], asked: list | None = None):
    """What the store's ``documents_meta`` answers, noting the ids asked for."""

    def read(doc_ids: list[str]) -> dict[str, dict]:
        if asked is not None:
            asked.append(list(doc_ids))
        return {d: metas[d] for d in doc_ids}

    return read


@pytest.mark.parametrize("limit", [None, 1, 3, 20, 0])
def test_the_table_counts_like_the_metadata(limit):
    metas = _metas(3_000, seed=1)
    table = FacetTable(generation=1)
    rng = random.Random(2)
    ids = list(metas)
    for size in (1, 5, 400, 2_500, 3_000):  # the table grows past its first rows
        found = rng.sample(ids, size)
        expected = count_facets([metas[d] for d in found], limit)
        assert facets_of(found, _reader(metas), table, limit) == expected
    assert set(expected) == set(FACETS)
    if limit != 0:
        assert all(expected[name] for name in FACETS)  # nothing compared empty
        assert len(table) == 3_000  # every report got its row


def test_only_reports_new_to_the_table_are_read():
    metas = _metas(600, seed=5)
    table = FacetTable(generation=1)
    asked: list[list[str]] = []
    ids = list(metas)
    facets_of(ids[:400], _reader(metas, asked), table, 20)
    facets_of(ids[200:], _reader(metas, asked), table, 20)
    facets_of(ids[100:500], _reader(metas, asked), table, 20)
    assert asked == [ids[:400], ids[400:]]  # each report read once, none for the third


def test_ties_are_broken_by_value_at_the_limit():
    metas = {f"d{i}": {**_metas(1, 0)["r00000"], "event": f"E{9 - i}"} for i in range(10)}
    table = FacetTable(generation=1)
    events = facets_of(list(metas), _reader(metas), table, 3)["events"]
    assert [(f.value, f.count) for f in events] == [("E0", 1), ("E1", 1), ("E2", 1)]


def test_a_full_table_leaves_the_count_to_the_metadata():
    metas = _metas(500, seed=3)
    table = FacetTable(generation=1, capacity=100)
    found = list(metas)
    assert table.count(found, _reader(metas), 20) is None  # would not fit
    assert facets_of(found, _reader(metas), table, 20) == count_facets(list(metas.values()), 20)
    assert table.count(found[:50], _reader(metas), 20) is not None and len(table) == 50


def test_concurrent_searches_see_complete_rows():
    metas = _metas(4_000, seed=4)
    table = FacetTable(generation=1)
    ids = list(metas)
    problems = []

    def search(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(40):
            found = rng.sample(ids, 300)
            if facets_of(found, _reader(metas), table, 10) != count_facets(
                [metas[d] for d in found], 10
            ):
                problems.append(seed)

    threads = [threading.Thread(target=search, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert problems == []


def test_the_store_keeps_one_table_per_generation(tmp_path):
    from search.store import Store

    store = Store(tmp_path / "kb.sqlite")
    first = store.facet_table(3)
    assert store.facet_table(3) is first
    assert store.facet_table(4) is not first and store.facet_table(4).generation == 4
