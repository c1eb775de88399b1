"""Tests for ingest.metadata: title/date inference, date parsing and slugs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ingest.formats import Extracted, extract_bytes
from ingest.metadata import find_first_date, infer_metadata, parse_date, slugify

from .formats.samples import LIMITS

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def extracted(text: str, fmt: str = "txt", **metadata: object) -> Extracted:
    return Extracted(text=text, pages=None, metadata=dict(metadata), format=fmt)


# --------------------------------------------------------------------------- parse_date


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (dt.date(2021, 11, 30), "2021-11-30"),
        (dt.datetime(2021, 11, 30, 18, 30), "2021-11-30"),
        ("2021-11-30", "2021-11-30"),
        ("2021-11", "2021-11"),
        ("2021", "2021"),
        (2021, "2021"),
        ("2021-3-5", "2021-03-05"),
        ("30.11.2021", "2021-11-30"),
        ("1.3.2021", "2021-03-01"),
        ("30.11.21", "2021-11-30"),
        ("30. November 2021", "2021-11-30"),
        ("30. Nov. 2021", "2021-11-30"),
        ("3. März 2022", "2022-03-03"),
        ("November 2021", "2021-11"),
        ("2021-11-30T10:00:00", "2021-11-30"),
        ("Herbst 2021", "2021"),
        ("  30.11.2021 ", "2021-11-30"),
        ("2021-13-01", None),
        ("demnächst", None),
        ("", None),
        (None, None),
        (True, None),
        (["2021"], None),
    ],
)
def test_parse_date(value: object, expected: str | None) -> None:
    assert parse_date(value) == expected


# --------------------------------------------------------------------------- find_first_date


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Bericht vom Treffen am 30. November 2021 in Köln.", "2021-11-30"),
        ("Stand: 30.11.2021", "2021-11-30"),
        ("Die Tagung fand im November 2021 statt.", "2021-11"),
        ("Am 29.–30. November 2021 tagte das Forum.", "2021-11-29"),
        ("Am 29. und 30. Nov. 2021 tagte das Forum.", "2021-11-29"),
        ("Im Juni 2020 begann es, am 3.7.2020 endete es.", "2020-06"),
        ("Erst am 3.7.2020, dann im Juni 2021.", "2020-07-03"),
        ("Protokoll 2019-05-06", "2019-05-06"),
        ("Am 31.02.2021 (Tippfehler), eigentlich am 28.02.2021.", "2021-02-28"),
        ("Im 3. Quartal stiegen die Preise um z. B. 12 Prozent.", None),
        ("Rund 2.500 Haushalte und 1.200 Beschäftigte.", None),
        ("Ohne jedes Datum.", None),
    ],
)
def test_find_first_date(text: str, expected: str | None) -> None:
    assert find_first_date(text) == expected


# --------------------------------------------------------------------------- infer_metadata


def test_metadata_title_and_date_win() -> None:
    result = infer_metadata(
        extracted(
            "Anderer Titel\n\nAm 1. Mai 2020.",
            title="  Wasserstofftag   2021 ",
            date="30.11.2021",
            organiser="IHK",
        ),
        "bericht-2019.txt",
    )

    assert result == {"title": "Wasserstofftag 2021", "date": "2021-11-30", "organiser": "IHK"}


def test_date_object_in_metadata() -> None:
    result = infer_metadata(extracted("Text.", date=dt.date(2021, 11, 30)), "x.txt")

    assert result["date"] == "2021-11-30"


def test_unparseable_metadata_date_falls_back_to_text() -> None:
    result = infer_metadata(extracted("Treffen am 5. Juni 2019.", date="demnächst"), "x.txt")

    assert result["date"] == "2019-06-05"


def test_title_from_first_markdown_heading() -> None:
    source = "Einleitender Satz ohne Überschrift.\n\n## Netzwerktreffen OWL\n\nText.\n"
    data = extract_bytes(source.encode(), "treffen.md", LIMITS)

    assert infer_metadata(data, "treffen.md")["title"] == "Netzwerktreffen OWL"


def test_title_from_short_first_line() -> None:
    text = "Netzwerktreffen Fachkräfte 2019\nOstwestfalen-Lippe\n\nAm 5. Juni 2019 kamen viele."

    result = infer_metadata(extracted(text), "fachkraefte-2019.txt")

    assert result == {"title": "Netzwerktreffen Fachkräfte 2019", "date": "2019-06-05"}


def test_sentence_first_line_is_no_title() -> None:
    text = "Am Dienstag trafen sich viele Unternehmen.\n\nMehr Text."

    result = infer_metadata(extracted(text), "fachkraefte_netzwerk-owl-2019.txt")

    assert result["title"] == "Fachkraefte netzwerk owl 2019"
    assert result["date"] == "2019"


def test_long_first_line_is_no_title() -> None:
    text = "Wort " * 40

    result = infer_metadata(extracted(text.strip()), "uploads/jahresbericht.txt")

    assert result["title"] == "Jahresbericht"
    assert result["date"] is None


def test_date_from_filename_with_full_date() -> None:
    result = infer_metadata(extracted("Kein Datum im Text."), "protokoll-2021-11-30.md")

    assert result["date"] == "2021-11-30"


def test_infer_metadata_keeps_other_keys_and_does_not_mutate() -> None:
    source = extracted("Text.", topics=["Wasserstoff"], language="de")

    result = infer_metadata(source, "a.txt")

    assert result["topics"] == ["Wasserstoff"]
    assert result["language"] == "de"
    assert "title" not in source.metadata


def test_infer_metadata_for_fixture_pdf() -> None:
    result = infer_metadata(
        extract_bytes(
            (FIXTURES / "bericht-zwei-seiten.pdf").read_bytes(), "bericht-zwei-seiten.pdf", LIMITS
        ),
        "bericht-zwei-seiten.pdf",
    )

    assert result["title"] == "Wasserstofftag Musterstadt 2021"
    assert result["date"] == "2021-11-30"
    assert result["organiser"] == "IHK Musterstadt"


# --------------------------------------------------------------------------- slugify


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Wasserstoff-Tag in Köln: Größe & Maß", "wasserstoff-tag-in-koeln-groesse-mass"),
        ("ÄÖÜ äöü ß ẞ", "aeoeue-aeoeue-ss-ss"),
        ("Café Crème – Évènement", "cafe-creme-evenement"),
        ("  --Bericht__2021!!  ", "bericht-2021"),
        ("fachkraefte-netzwerktreffen-owl-2019.txt", "fachkraefte-netzwerktreffen-owl-2019-txt"),
        ("„“ – …", ""),
    ],
)
def test_slugify(text: str, expected: str) -> None:
    assert slugify(text) == expected


def test_slugify_limits_length_at_word_boundary() -> None:
    slug = slugify("Transformation der Automobilzulieferer " * 5)

    assert len(slug) <= 80
    assert slug.startswith("transformation-der-automobilzulieferer-transformation")
    assert not slug.endswith("-")
    assert slug.split("-")[-1] in {"transformation", "der", "automobilzulieferer"}


def test_slugify_cuts_a_single_long_word() -> None:
    assert slugify("a" * 100) == "a" * 80


def test_slugify_is_stable() -> None:
    assert slugify("Netzwerktreffen Süd") == slugify("Netzwerktreffen Su\u0308d")
