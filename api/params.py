"""Types of query parameters whose parsing must match what the OpenAPI schema says."""

from __future__ import annotations

import re

from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

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
