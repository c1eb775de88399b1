"""Snippets: windows around matches, marks that point at the right characters."""

from search.snippet import make_snippet


def test_short_text_is_kept_whole_with_its_marks():
    snip = make_snippet("Wasserstoff für die Region.", [(0, 11)], max_chars=100)
    assert snip.text == "Wasserstoff für die Region."
    assert [snip.text[a:b] for a, b in snip.highlights] == ["Wasserstoff"]


def test_window_moves_to_the_matches_and_marks_stay_exact():
    text = (
        ("Einleitung ohne Treffer. " * 20)
        + "Hier geht es um Fachkräfte und Ausbildung. "
        + ("Schluss ohne Treffer. " * 20)
    )
    start = text.index("Fachkräfte")
    snip = make_snippet(text, [(start, start + len("Fachkräfte"))], max_chars=120)
    assert snip.text.startswith("… ") and snip.text.endswith(" …")
    assert len(snip.text) <= 120 + 4
    assert [snip.text[a:b] for a, b in snip.highlights] == ["Fachkräfte"]
    assert "Hier geht es um" in snip.text  # starts at the sentence of the match


def test_without_matches_the_passage_start_is_shown_and_newlines_flattened():
    snip = make_snippet("Erster Absatz.\n\nZweiter Absatz " + "x " * 200, [], max_chars=60)
    assert snip.text.startswith("Erster Absatz.")
    assert "\n" not in snip.text
    assert snip.highlights == []
    assert snip.text.endswith(" …")


def test_window_starts_after_a_sentence_ending_in_a_closing_quote():
    text = "x" * 300 + " Er sagte „Genug.“ Dann kam Wasserstoff zur Sprache."
    start = text.index("Wasserstoff")
    snip = make_snippet(text, [(start, start + len("Wasserstoff"))], max_chars=120)
    assert snip.text.startswith("… Dann kam Wasserstoff")
    assert [snip.text[a:b] for a, b in snip.highlights] == ["Wasserstoff"]
