"""Checking what a caller asks for: the query text and the page wanted."""

from __future__ import annotations

import unicodedata

from .errors import InvalidQuery
from .settings import Settings


def clean_query(query: str | None, settings: Settings) -> str:
    """The query with runs of white space folded and invisible characters removed.

    Control and format characters (NUL, zero-width spaces, direction marks) carry no
    words, so a query made only of them is empty. InvalidQuery names what is wrong.
    """
    if query is None:
        raise InvalidQuery("query is missing", code="query_missing")
    visible = "".join(" " if unicodedata.category(c) in ("Cc", "Cf") else c for c in query)
    query = " ".join(visible.split())
    if not query:
        raise InvalidQuery("query is empty", code="query_empty")
    if len(query) > settings.max_query_chars:
        raise InvalidQuery(
            f"query is too long ({len(query)} characters, at most {settings.max_query_chars})",
            code="query_too_long",
        )
    return query


def paging(k: int | None, offset: int | None, settings: Settings) -> tuple[int, int]:
    """(k, offset) with the default k applied; InvalidQuery when out of range."""
    k = settings.default_k if k is None else k
    offset = 0 if offset is None else offset
    if not 1 <= k <= settings.max_k:
        raise InvalidQuery(f"k must be between 1 and {settings.max_k}", code="k_out_of_range")
    if not 0 <= offset <= settings.max_offset:
        raise InvalidQuery(
            f"offset must be between 0 and {settings.max_offset}", code="offset_out_of_range"
        )
    return k, offset
