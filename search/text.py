"""Text rules shared by ingestion and search: one home for sentence ends, bullets and
headings, below both layers.

Sentence splitting is German-aware, shared by chunking, snippets and sentence-level
vectors. A period ends a sentence unless it closes an abbreviation ("z. B.", "Dr.",
"e. V."), an ordinal or a date ("am 30. November"), or the next word starts in
lowercase.

Bullets and headings are recognised by one definition each; callers that need a
different shade (a PDF line's heading limit depends on the document's line lengths)
pass parameters instead of keeping a rule of their own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

Span = tuple[int, int]

#: closing quotes and brackets that may follow a sentence's final punctuation
CLOSERS = "\"'“”‘’»«)]"
#: punctuation that ends a sentence
SENTENCE_END_MARKS = ".!?…"
_END_MARKS = "[" + re.escape(SENTENCE_END_MARKS) + "]"
_CLOSERS_RUN = "[" + re.escape(CLOSERS) + "]*"
#: a sentence end inside running text: final punctuation and closers before whitespace
SENTENCE_END_RE = re.compile(_END_MARKS + "+" + _CLOSERS_RUN + r"(?=\s)")
# The same marks at the end of a line; a colon counts where a line may end a lead-in.
_LINE_END_RE = re.compile(_END_MARKS + _CLOSERS_RUN + "$")
_LINE_END_OR_COLON_RE = re.compile(
    "[" + re.escape(SENTENCE_END_MARKS + ":") + "]" + _CLOSERS_RUN + "$"
)
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
    for match in SENTENCE_END_RE.finditer(text, start, end):
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


def ends_sentence(line: str, *, colon: bool = False) -> bool:
    """Whether ``line`` ends with sentence-final punctuation (closing quotes may follow).

    With ``colon`` a final ":" counts too: a line introducing what follows
    ("Die Teilnehmenden beschlossen:") was also ended on purpose.
    """
    return bool((_LINE_END_OR_COLON_RE if colon else _LINE_END_RE).search(line))


# -- bullets and headings -----------------------------------------------------------

#: characters that mark a bullet point when a space follows them
BULLET_MARKS = "•▪◦●■□➢►✓-–*"
_BULLET_RE = re.compile("^[" + re.escape(BULLET_MARKS) + r"]\s")
# "1. ", "12) ", "a) "; "2021 " or "30. November" have no bracket or are too long
_NUMBERED_RE = re.compile(r"^(?:\d{1,3}[.)]|[a-z]\))\s")

HEADING_MAX_CHARS = 120
QUESTION_HEADING_MAX_CHARS = 80
#: a heading does not end in these (after closing quotes); "-" is a word broken at the end
_NO_HEADING_END = ".,;:…-"


def is_bullet(text: str) -> bool:
    """Whether ``text`` starts with a bullet mark and a space ("• Punkt", "- Punkt")."""
    return bool(_BULLET_RE.match(text))


def is_numbered(text: str) -> bool:
    """Whether ``text`` starts like a numbered list item ("1. ", "12) ", "a) ")."""
    return bool(_NUMBERED_RE.match(text))


def is_list_item(text: str) -> bool:
    """Whether ``text`` starts like an item of a bulleted or numbered list."""
    return is_bullet(text) or is_numbered(text)


def is_heading(
    text: str,
    *,
    max_chars: int = HEADING_MAX_CHARS,
    question_max_chars: int = QUESTION_HEADING_MAX_CHARS,
    numbered: bool = False,
    capital_start: bool = False,
) -> bool:
    """Whether ``text`` looks like a heading: one short line without final punctuation.

    The rule: at most ``max_chars`` characters on one line, containing a letter, not a
    list item, not ending (before closing quotes) in ``. , ; : … -``. A line ending in
    "?" or "!" counts if it has at most ``question_max_chars`` characters ("Warum
    jetzt?" introduces what follows like a heading; pass 0 to exclude questions).
    Numbered lines ("3. Ergebnisse") count only with ``numbered``. The first
    character must not be a lowercase letter; with ``capital_start`` it must be a
    capital letter or a digit (PDF lines: a quote or symbol at a line start is
    usually running text).
    """
    text = text.strip()
    if not text or len(text) > max_chars or "\n" in text:
        return False
    last = text.rstrip(CLOSERS)[-1:]
    if not last or last in _NO_HEADING_END:
        return False
    if last in "?!" and len(text) > question_max_chars:
        return False
    first = text[0]
    if capital_start and not (first.isupper() or first.isdigit()):
        return False
    if first.islower() or is_bullet(text) or (not numbered and is_numbered(text)):
        return False
    return any(char.isalpha() for char in text)
