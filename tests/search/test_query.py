"""Checking queries and pages before any search runs."""

from __future__ import annotations

import pytest

from search.errors import InvalidQuery
from search.query import clean_query, paging
from search.settings import Settings

SETTINGS = Settings(index="unused", embedder="fake")


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("", "query_empty"),
        (" \t\n", "query_empty"),
        ("\x00\x00", "query_empty"),
        ("\u200b\u200d\ufeff", "query_empty"),  # zero-width characters only
        ("x" * 501, "query_too_long"),
        (None, "query_missing"),
    ],
)
def test_unusable_queries_are_rejected_with_a_code(query, code):
    with pytest.raises(InvalidQuery) as err:
        clean_query(query, SETTINGS)
    assert err.value.code == code


def test_queries_lose_invisible_characters_and_extra_space():
    assert clean_query("  Wasser\u200bstoff \x00 Emsland ", SETTINGS) == "Wasser stoff Emsland"


@pytest.mark.parametrize(
    ("k", "offset", "expected"),
    [(None, None, (10, 0)), (5, 20, (5, 20)), (100, 10_000, (100, 10_000))],
)
def test_paging_applies_the_default_k(k, offset, expected):
    assert paging(k, offset, SETTINGS) == expected


@pytest.mark.parametrize(
    ("k", "offset", "code"),
    [
        (0, 0, "k_out_of_range"),
        (101, 0, "k_out_of_range"),
        (10, -1, "offset_out_of_range"),
        (10, 2**63, "offset_out_of_range"),
    ],
)
def test_paging_out_of_range_is_rejected(k, offset, code):
    with pytest.raises(InvalidQuery) as err:
        paging(k, offset, SETTINGS)
    assert err.value.code == code
