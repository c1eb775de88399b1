"""Tests for ingest.formats.text: decoding (UTF-8, cp1252, latin-1, UTF-16), binary data."""

from __future__ import annotations

import random

from ingest.formats.text import utf16_byte_order

from .samples import extract_sample, extraction_error, sample


def test_bom_only_text_file_is_empty() -> None:
    file = sample("bom.txt", b"\xef\xbb\xbf\n  \n")

    assert "empty" in str(extraction_error(file))


def test_binary_junk_named_txt() -> None:
    file = sample("daten.txt", random.Random(1).randbytes(2048))

    assert "binary" in str(extraction_error(file))


def test_binary_without_nul_bytes_named_txt() -> None:
    control_heavy = bytes(range(1, 9)) * 50 + b"etwas Text " * 20
    file = sample("steuerzeichen.txt", control_heavy)

    assert "binary" in str(extraction_error(file))


def test_latin1_text_with_umlauts() -> None:
    text = "Größere Übergänge für Öko-Straßen\n\nÄrger über Maßnahmen."
    file = sample("latin1.txt", text.encode("latin-1"))

    result = extract_sample(file)

    assert result.text == text
    assert result.format == "txt"
    assert result.pages is None
    assert result.metadata == {}


def test_cp1252_text_with_quotes_and_euro() -> None:
    text = "„Wasserstoff kostet 5 € je Kilogramm“ – so der Referent."
    file = sample("cp1252.txt", text.encode("cp1252"))

    assert extract_sample(file).text == text


def test_utf8_bom_is_stripped() -> None:
    file = sample("bom.txt", "\ufeffÜberschrift\n\nText.".encode())

    assert extract_sample(file).text == "Überschrift\n\nText."


def test_utf16_with_bom() -> None:
    file = sample("utf16.txt", "Größe und Maß".encode("utf-16"))

    assert extract_sample(file).text == "Größe und Maß"


def test_text_is_normalised() -> None:
    raw = "  Titel  \r\n\r\n\r\n\r\nZeile eins   \r\nZeile zwei\t\n\n\n\nU\u0308bung\u00a0macht\n\n"
    file = sample("roh.txt", raw.encode())

    text = extract_sample(file).text

    assert text == "Titel\n\nZeile eins\nZeile zwei\n\nÜbung macht"


GERMAN = "Größere Übergänge für Öko-Straßen: Maß halten."


def test_utf16_without_bom_little_endian() -> None:
    result = extract_sample(sample("utf16le.txt", GERMAN.encode("utf-16-le")))

    assert result.text == GERMAN


def test_utf16_without_bom_big_endian() -> None:
    assert extract_sample(sample("utf16be.txt", GERMAN.encode("utf-16-be"))).text == GERMAN


def test_utf16_byte_order_needs_zero_bytes_on_one_side_only() -> None:
    assert utf16_byte_order("Text".encode("utf-16-le")) == "utf-16-le"
    assert utf16_byte_order("Text".encode("utf-16-be")) == "utf-16-be"
    assert utf16_byte_order(b"\x00\x00\x00\x05" * 50) is None  # 32-bit integers
    assert utf16_byte_order(b"Text") is None


def test_zero_bytes_that_fit_utf16_but_decode_to_controls_are_binary() -> None:
    # Big-endian code units 0x0001, 0x0203: the zero bytes line up, the text does not.
    err = extraction_error(sample("steuer16.txt", b"\x00\x01\x02\x03" * 200))

    assert err.code == "binary"


def test_truncated_utf16_is_a_broken_encoding() -> None:
    err = extraction_error(sample("halb.txt", GERMAN.encode("utf-16-le") + b"x"))

    assert err.code == "bad_encoding"
    assert str(err) == "not valid text (broken UTF-16 encoding)"
