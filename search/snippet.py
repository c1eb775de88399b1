"""Snippets: a short window of a passage around the query's matches, with marks."""

from __future__ import annotations

from dataclasses import dataclass, field

from .text import SENTENCE_END_RE, skip_space


@dataclass
class Snippet:
    """Plain snippet text and the character spans in it to mark.

    ``start``/``end`` is the window of the passage shown, ``shift`` what maps a passage
    position into the snippet (the ellipsis in front counts).
    """

    text: str
    highlights: list[tuple[int, int]] = field(default_factory=list)
    start: int = 0
    end: int = 0
    shift: int = 0

    def clip(self, span: tuple[int, int]) -> tuple[int, int] | None:
        """A passage span in snippet positions, cut to the window; None if outside it."""
        a, b = max(span[0], self.start), min(span[1], self.end)
        return (a + self.shift, b + self.shift) if a < b else None


def make_snippet(
    text: str,
    spans: list[tuple[int, int]],
    max_chars: int,
    focus: tuple[int, int] | None = None,
) -> Snippet:
    """Cut ``text`` to about ``max_chars`` around the densest group of ``spans``.

    Without spans the window starts at ``focus`` (a sentence to show) or else at the
    passage's beginning. Cuts fall on word boundaries and are shown with an ellipsis.
    """
    # same-length replacements keep the spans valid
    text = text.replace("\r", " ").replace("\n", " ")
    if len(text) <= max_chars:
        return Snippet(text, [s for s in spans if s[1] <= len(text)], 0, len(text), 0)
    if not spans and focus is not None:
        spans_for_window = [focus]
    else:
        spans_for_window = spans
    start = 0
    if spans_for_window:
        # choose the window start (at a span) that covers the most spans
        windows = spans_for_window
        best_count, best_start = -1, windows[0][0]
        for i, (s0, _) in enumerate(windows):
            count = sum(1 for a, b in windows[i:] if b - s0 <= max_chars)
            if count > best_count:
                best_count, best_start = count, s0
        # show some context before the first match, preferably from a sentence start
        start = max(0, best_start - max_chars // 4)
        window = text[start:best_start]
        ends = list(SENTENCE_END_RE.finditer(window))
        if ends:
            start = start + skip_space(window, ends[-1].end())
        elif start > 0:
            space = text.find(" ", start)
            start = space + 1 if 0 <= space < best_start else start
    end = min(len(text), start + max_chars)
    if end < len(text):
        space = text.rfind(" ", start, end)
        if space > start + max_chars // 2:
            end = space
    prefix = "… " if start > 0 else ""
    suffix = " …" if end < len(text) else ""
    shift = len(prefix) - start
    marks = [(a + shift, b + shift) for a, b in spans if a >= start and b <= end]
    return Snippet(prefix + text[start:end] + suffix, marks, start, end, shift)
