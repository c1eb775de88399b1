"""Text rules shared by ingestion and search: one home for sentence ends, bullets and
headings, below both layers.

Sentence splitting is German-aware, shared by chunking and sentence-level vectors.

A period ends a sentence unless it closes an abbreviation ("z. B.", "Dr.", "e. V."),
an ordinal or a date ("am 30. November"), or the next word starts in lowercase.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

Span = tuple[int, int]

#: closing quotes and brackets that may follow a sentence's final punctuation
CLOSERS = "\"'“”‘’»«)]"
_SENTENCE_END_RE = re.compile(r"[.!?…]+[" + re.escape(CLOSERS) + r"]*(?=\s)")
_SENTENCE_START_CHARS = "\"'„“‚‘»«(["

# Lowercase, without the final period. Single letters ("z. B.", "e. V.", initials)
# and tokens with inner periods ("z.B.", "u.a.") are recognised separately.
_ABBREVIATIONS = frozenset(
    """
    abb abs abt allg anm art aufl bd bsp bspw bzgl bzw ca co dipl dr ebd eg entspr etc evtl
    exkl fa ff fr frl gem gegr geb ggf ggü gr hg hrsg hr hl inkl insb ing jh jhd jr kap kath
    kfm lt max mio min mind mrd nachf nr o od orig pkt pl prof rd rel s sen sog sr st std str
    stv tel tsd ua usw uvm verf vgl vs vol vorm wg zb ziff zt zzgl
    jan feb mär apr jun jul aug sep sept okt nov dez
    mo di mi do sa so
    """.split()
)


def skip_space(text: str, position: int) -> int:
    """The first position at or after ``position`` that is not whitespace."""
    while position < len(text) and text[position].isspace():
        position += 1
    return position


def trim_span(text: str, start: int, end: int) -> Span | None:
    """``(start, end)`` without surrounding whitespace; None if nothing is left."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


def sentence_spans(text: str, start: int, end: int) -> Iterator[Span]:
    """Spans of the sentences in ``text[start:end]``, trimmed of surrounding space."""
    sentence_start = start
    for match in _SENTENCE_END_RE.finditer(text, start, end):
        next_start = skip_space(text, match.end())
        if next_start >= end or not _ends_sentence(text, match, next_start):
            continue
        trimmed = trim_span(text, sentence_start, match.end())
        if trimmed:
            yield trimmed
        sentence_start = next_start
    trimmed = trim_span(text, sentence_start, end)
    if trimmed:
        yield trimmed


def _ends_sentence(text: str, match: re.Match[str], next_start: int) -> bool:
    following = text[next_start]
    if not (following.isupper() or following.isdigit() or following in _SENTENCE_START_CHARS):
        return False
    if not match.group().startswith(".") or match.group().startswith(".."):
        return True  # "!", "?" and ellipses have no abbreviation ambiguity
    word_start = match.start()
    while word_start > 0 and not text[word_start - 1].isspace():
        word_start -= 1
    word = text[word_start : match.start()].lstrip(_SENTENCE_START_CHARS)
    if not word:
        return True
    if len(word) == 1 and word.isalpha():
        return False  # "z. B.", "e. V.", "u. a.", initials like "A. Müller"
    if "." in word:
        return False  # "z.B.", "e.V.", "Dipl.-Ing."
    if word.isdigit() and len(word) <= 2:
        return False  # ordinals and dates: "am 30. November", "im 3. Quartal"
    return word.lower() not in _ABBREVIATIONS


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text``, in order."""
    return [text[a:b] for a, b in sentence_spans(text, 0, len(text))]
