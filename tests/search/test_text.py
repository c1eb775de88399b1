"""Sentence splitting that knows German abbreviations and dates."""

from search.text import split_sentences


def test_abbreviations_dates_and_ordinals_do_not_end_sentences():
    text = (
        "Dr. Anna Weber vom Netzwerk e. V. sprach am 30. November über z. B. Wasserstoff. "
        "Danach folgte die Diskussion! War das genug? Ja."
    )
    assert split_sentences(text) == [
        "Dr. Anna Weber vom Netzwerk e. V. sprach am 30. November über z. B. Wasserstoff.",
        "Danach folgte die Diskussion!",
        "War das genug?",
        "Ja.",
    ]


def test_text_without_final_period_and_empty_text():
    assert split_sentences("  Ein Satz ohne Punkt  ") == ["Ein Satz ohne Punkt"]
    assert split_sentences("   ") == []
