"""Types of query parameters whose parsing must match what the OpenAPI schema says."""

from __future__ import annotations

import re

from pydantic import AfterValidator, BeforeValidator
from pydantic_core import PydanticCustomError

from search.filters import parse_date

_DIGITS = re.compile(r"-?[0-9]+")


def _whole_number(value: object) -> object:
    """Only digits (with an optional minus) are an integer in a URL.

    pydantic alone also reads "1.0", "1_000", "+1" and " 1 " as integers, which the
    schema's ``type: integer`` does not promise; a client sending them has a bug to see.
    """
    if isinstance(value, str) and not _DIGITS.fullmatch(value):
        raise PydanticCustomError("int_parsing", "Input should be a valid integer")
    return value


#: for integer query parameters, after their ``Query``: ``Annotated[int, Query(...), DIGITS]``
#: (placed before ``Query``, or in a nested ``Annotated``, FastAPI's schema loses the bounds)
DIGITS = BeforeValidator(_whole_number)


def _a_date(value: str | None) -> str | None:
    """A date the pattern admits that is no date of the calendar (2021-02-30, 0000)."""
    if value is not None and parse_date(value) is None:
        raise PydanticCustomError(
            "date_parsing", "Input should be a date: YYYY, YYYY-MM or YYYY-MM-DD"
        )
    return value


#: for date query parameters, after their ``Query``
DATE = AfterValidator(_a_date)
