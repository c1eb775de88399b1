"""Settings come from KB_* variables, are validated, and are cached for the app."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from search.settings import Settings, get_settings


def test_environment_overrides_defaults(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("KB_INDEX", str(tmp_path / "x"))
    monkeypatch.setenv("KB_MAX_K", "20")
    get_settings.cache_clear()
    settings = get_settings()
    assert settings.index == tmp_path / "x"
    assert settings.max_k == 20
    assert get_settings() is settings  # cached


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("KB_MAX_K", "0"),
        ("KB_RANKING", "magic"),
        ("KB_LEXICAL_WEIGHT", "-1"),
        ("KB_FEEDBACK_DOCS", "-1"),
        ("KB_FEEDBACK_DOCS", "101"),
        ("KB_FEEDBACK_WEIGHT", "-0.5"),
        ("KB_TOPIC_DOCUMENT_WEIGHT", "11"),
        ("KB_QUERY_KINDS", "maybe"),
    ],
)
def test_invalid_values_are_rejected_at_start(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=name.removeprefix("KB_").lower()):
        Settings()


def test_topic_settings_reach_the_fusion_weights(monkeypatch, settings):
    from search.ranking import FusionWeights

    monkeypatch.setenv("KB_FEEDBACK_DOCS", "3")
    monkeypatch.setenv("KB_TOPIC_LEXICAL_WEIGHT", "0.1")
    w = FusionWeights.from_settings(Settings(index=settings.index))
    assert (w.feedback_docs, w.topic_lexical, w.topic_document, w.feedback_weight) == (
        3,
        0.1,
        2.0,
        0.5,
    )
