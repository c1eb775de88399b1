"""Tests for ingest.frontmatter: YAML front matter errors are one clear line each."""

from __future__ import annotations

import pytest

from ingest.frontmatter import split_front_matter
from tests.ingest.formats.samples import extraction_error, sample


def test_markdown_broken_yaml() -> None:
    source = "---\ntitle: [nicht geschlossen\ndate: 2021-11-30\n---\nText.\n"
    err = extraction_error(sample("kaputt.md", source.encode()))

    assert str(err).startswith("invalid YAML front matter: ")
    assert "line" in str(err)


def test_markdown_front_matter_not_a_mapping() -> None:
    source = "---\n- eins\n- zwei\n---\nText.\n"
    err = extraction_error(sample("liste.md", source.encode()))

    assert "not a 'key: value' mapping" in str(err)


def test_markdown_front_matter_not_closed() -> None:
    source = "---\ntitle: Ohne Ende\ndate: 2021-11-30\n\nText.\n"
    err = extraction_error(sample("offen.md", source.encode()))

    assert "not closed" in str(err)


def test_markdown_front_matter_field_with_wrong_type() -> None:
    source = "---\ntitle:\n  de: Titel\n---\nText.\n"
    err = extraction_error(sample("typ.md", source.encode()))

    assert str(err) == "front matter field 'title' must be text, not a mapping"


def test_markdown_front_matter_nested_too_deeply() -> None:
    source = "---\ntitle: " + "[" * 5000 + "\n---\nText.\n"
    err = extraction_error(sample("tief.md", source.encode()))

    assert str(err).startswith("invalid YAML front matter")


def test_impossible_date_is_one_line_with_its_line_number() -> None:
    source = "---\ntitle: Bericht\ndate: 2021-02-30\n---\nText.\n"
    err = extraction_error(sample("datum.md", source.encode()))

    assert err.code == "invalid_front_matter"
    assert str(err) == "invalid YAML front matter: '2021-02-30' is not a valid date (line 3)"
    assert err.german == "ungültiger YAML-Vorspann: '2021-02-30' is not a valid date (Zeile 3)"


@pytest.mark.parametrize("value", ["2021-13-01", "2021-02-30 10:00:00", "2021-04-31T08:00:00Z"])
def test_other_impossible_timestamps(value: str) -> None:
    err = extraction_error(sample("datum.md", f"---\ndate: {value}\n---\nText.\n".encode()))

    assert str(err).startswith(f"invalid YAML front matter: '{value}' is not a valid date")


@pytest.mark.parametrize("number", ["9" * 5000, "0x" + "f" * 4000])
def test_number_beyond_the_int_string_limit(number: str) -> None:
    source = f"---\ntitle: Bericht\nid: {number}\n---\nText.\n"
    err = extraction_error(sample("zahl.md", source.encode()))

    assert str(err) == "invalid YAML front matter: number too long (more than 4300 digits) (line 3)"


def test_valid_dates_and_numbers_still_load() -> None:
    metadata, body = split_front_matter("---\ndate: 2024-02-29\nid: 12345\n---\nText.")

    assert metadata == {"date": "2024-02-29", "id": "12345"}
    assert body == "Text."
