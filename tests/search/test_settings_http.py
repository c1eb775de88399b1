"""The HTTP settings in the one settings object (``KB_CORS_ORIGINS``)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from search.settings import Settings


def test_no_origins_by_default(monkeypatch):
    monkeypatch.delenv("KB_CORS_ORIGINS", raising=False)
    assert Settings().cors_origins == []


@pytest.mark.parametrize(
    ("value", "origins"),
    [
        ("", []),
        ("https://a.example", ["https://a.example"]),
        (
            " https://a.example/ , http://b.example:8080,",
            ["https://a.example", "http://b.example:8080"],
        ),
    ],
)
def test_origins_are_comma_separated(monkeypatch, value: str, origins: list[str]):
    monkeypatch.setenv("KB_CORS_ORIGINS", value)
    assert Settings().cors_origins == origins


def test_a_value_that_is_no_origin_is_refused(monkeypatch):
    monkeypatch.setenv("KB_CORS_ORIGINS", "portal.example.org")
    with pytest.raises(ValidationError, match="is no origin"):
        Settings()
