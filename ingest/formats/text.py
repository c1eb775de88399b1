"""Plain text (.txt): decoding and cleanup.

Decoding order: UTF-16 (with a BOM, or without one when the zero bytes say so),
UTF-8, cp1252, latin-1. Bytes that are not text (zero bytes, many control
characters) are rejected before decoding, since latin-1 accepts any byte.
"""

from __future__ import annotations

import codecs
import re

from ..errors import ExtractionError
from .base import Extracted, Limits, normalise_text

_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 12, 13)) + b"\x7f"
_CONTROL_CHARS_RE = re.compile("[" + re.escape(_CONTROL_BYTES.decode("ascii")) + "]")
#: more control characters than this share of the text means binary data
_MAX_CONTROL_SHARE = 0.02
#: UTF-16 without BOM: share of code units with a zero high byte (German or English
#: text: nearly all) and the most allowed with a zero low byte (almost none)
_UTF16_ZERO_HIGH_SHARE = 0.4
_UTF16_ZERO_LOW_SHARE = 0.05


def _binary() -> ExtractionError:
    return ExtractionError(
        "binary", "looks like binary data, not text", "sieht nach Binärdaten aus, nicht nach Text"
    )


def utf16_byte_order(data: bytes) -> str | None:
    """``"utf-16-le"``/``"utf-16-be"`` if ``data`` looks like UTF-16 without BOM, else None.

    Latin script in UTF-16 has a zero byte in nearly every code unit, always on the
    same side: the high byte. So: at least 40 % of the code units have a zero high
    byte and at most 5 % a zero low byte.
    """
    units = len(data) // 2
    if units < 2:
        return None
    even_zeros = data[0 : 2 * units : 2].count(0)
    odd_zeros = data[1 : 2 * units : 2].count(0)
    for order, high, low in (
        ("utf-16-le", odd_zeros, even_zeros),
        ("utf-16-be", even_zeros, odd_zeros),
    ):
        if high >= _UTF16_ZERO_HIGH_SHARE * units and low <= _UTF16_ZERO_LOW_SHARE * units:
            return order
    return None


def decode_text(data: bytes) -> str:
    """Decode the bytes of a text file; raises ExtractionError for binary content."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _decode_utf16(data, "utf-16")
    # Check before decoding: latin-1 accepts any byte, so junk would "decode" fine.
    if b"\x00" in data:
        order = utf16_byte_order(data)
        if order is None:
            raise _binary()
        text = _decode_utf16(data, order)
        # The zero bytes fit UTF-16; the code units must also be characters, not controls.
        if len(_CONTROL_CHARS_RE.findall(text)) > len(text) * _MAX_CONTROL_SHARE:
            raise _binary()
        return text
    controls = len(data) - len(data.translate(None, _CONTROL_BYTES))
    if controls > len(data) * _MAX_CONTROL_SHARE:
        raise _binary()
    for encoding in ("utf-8", "cp1252"):
        try:
            return data.decode(encoding).removeprefix("\ufeff")
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _decode_utf16(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ExtractionError(
            "bad_encoding",
            "not valid text (broken UTF-16 encoding)",
            "kein gültiger Text (fehlerhafte UTF-16-Kodierung)",
        ) from exc


def extract_text(data: bytes, limits: Limits) -> Extracted:
    """Plain text: decoded and normalised, no metadata (the registry checks emptiness)."""
    return Extracted(text=normalise_text(decode_text(data)), pages=None, metadata={}, format="txt")
