"""Types of query parameters whose parsing must match what the OpenAPI schema says."""

from __future__ import annotations

import re
from collections.abc import Iterator
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
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


def _repeatable(annotation: object) -> bool:
    """Whether a parameter's type takes several values (``list[str]``, ``list[str] | None``)."""
    origin = get_origin(annotation)
    if origin in (list, tuple, set, frozenset):
        return True
    if origin in (Union, UnionType):
        return any(_repeatable(arg) for arg in get_args(annotation))
    if origin is Annotated:
        return _repeatable(get_args(annotation)[0])
    return False


def _query_fields(dependant: Any) -> Iterator[Any]:
    yield from dependant.query_params
    for sub in dependant.dependencies:
        yield from _query_fields(sub)


async def one_value_each(request: Request) -> None:
    """Refuse a single-valued query parameter given more than once (``event=a&event=b``).

    Left alone, the last value would win silently: a portal's bug would go unseen, and
    the request would not be the one the OpenAPI schema describes.
    """
    params = request.query_params
    if len(params) == len(params.multi_items()):
        return  # no name given twice: nearly every request, checked in microseconds
    dependant = getattr(request.scope.get("route"), "dependant", None)
    if dependant is None:
        return
    errors = [
        {
            "type": "multiple_values",
            "loc": ("query", field.alias),
            "msg": "Input should be one value",
            "input": request.query_params.getlist(field.alias),
        }
        for field in _query_fields(dependant)
        if not _repeatable(field.field_info.annotation)
        and len(request.query_params.getlist(field.alias)) > 1
    ]
    if errors:
        raise RequestValidationError(errors)


#: for every router under /api: ``APIRouter(..., dependencies=[ONE_VALUE_EACH])``
ONE_VALUE_EACH = Depends(one_value_each)
