"""Filters that narrow a search before ranking: topics, event, organiser, location, dates,
format and language.

A filter becomes one SQL condition on ``documents`` (alias ``d``). Retrieval then draws
its candidates only from the documents that pass: the vector searches get the allowed
ids (FAISS checks them while searching, so a rare filter still finds its n best) and the
lexical search gets the condition in its SQL. Text values match case-insensitively and
exactly, as facet values are shown. An unknown value matches nothing: an empty result,
not an error.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from .errors import InvalidQuery

_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")

#: most values of one repeatable filter (topics)
MAX_VALUES = 20


#: the report fields whose values a filter compares for equality, in lower case (the
#: store keeps them in its table ``document_values``)
FILTER_FIELDS = ("topics", "event", "organiser", "location", "format", "language")


@dataclass(frozen=True)
class Filters:
    """What a search is narrowed to; empty fields do not filter."""

    topics: tuple[str, ...] = ()  # any of them
    event: str | None = None
    organiser: str | None = None
    location: str | None = None
    date_from: str | None = None  # ISO date, month or year: the report is on or after it
    date_to: str | None = None  # ... on or before it (a year covers the whole year)
    format: str | None = None
    language: str | None = None

    def __post_init__(self) -> None:
        if len(self.topics) > MAX_VALUES:
            raise InvalidQuery(
                f"at most {MAX_VALUES} topics can be combined", code="too_many_values"
            )
        for name in ("date_from", "date_to"):
            value = getattr(self, name)
            if value is not None and parse_date(value) is None:
                raise InvalidQuery(
                    f"{name} must be a date: YYYY, YYYY-MM or YYYY-MM-DD (got {value!r})",
                    code="invalid_date",
                )

    def __bool__(self) -> bool:
        return any(
            (self.topics, self.event, self.organiser, self.location, self.date_from,
             self.date_to, self.format, self.language)
        )  # fmt: skip

    def sql(self) -> tuple[str, list]:
        """(condition on ``documents d``, parameters); "1" when nothing filters."""
        clauses: list[str] = []
        params: list = []
        # equal values are looked up in the store's table of them, by their lower case
        for field in FILTER_FIELDS:
            value = getattr(self, field)
            values = value if field == "topics" else (value,) if value else ()
            if values:
                marks = ",".join("?" * len(values))
                clauses.append(
                    "d.id IN (SELECT doc_id FROM document_values "
                    f"WHERE field = '{field}' AND folded IN ({marks}))"
                )
                params.extend(v.lower() for v in values)
        if self.date_from:
            clauses.append("d.date >= ?")
            params.append(self.date_from)
        if self.date_to:
            clauses.append("d.date < ?")
            params.append(_after(self.date_to))
        return (" AND ".join(clauses) or "1"), params


def parse_date(value: str) -> tuple[int, int | None, int | None] | None:
    """(year, month, day) of an ISO date, month or year; None if it is no such date."""
    match = _DATE.match(value.strip())
    if not match:
        return None
    year, month, day = (int(g) if g else None for g in match.groups())
    try:
        # month 00 or day 00 is no date; `month or 1` would read it as January
        dt.date(year, 1 if month is None else month, 1 if day is None else day)
    except ValueError:
        return None
    return year, month, day


def _after(value: str) -> str:
    """The first date string after the period ``value`` names (dates compare as text)."""
    year, month, day = parse_date(value)
    if day is not None:
        return (dt.date(year, month, day) + dt.timedelta(days=1)).isoformat()
    if month is not None:
        return f"{year + month // 12:04d}-{month % 12 + 1:02d}"
    return f"{year + 1:04d}"
