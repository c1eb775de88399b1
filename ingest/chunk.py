"""Split a document into passages (chunks) that follow its paragraphs.

Rules, in order of priority:

* chunks never span pages (when pages are given);
* a heading (``search.text.is_heading``: a short single line without final
  punctuation, or a short question such as "Warum jetzt?") starts a new chunk and
  stays with the paragraph after it; a paragraph ending in ":" also stays with the
  paragraph after it;
* consecutive paragraphs are packed into one chunk up to ``max_chars``;
* a paragraph longer than ``max_chars`` is split at line breaks, then at
  sentence boundaries (German abbreviations such as "z. B.", "Dr.", "e. V."
  do not end a sentence), then at spaces, and as a last resort inside a word;
  the pieces are balanced in size;
* a chunk shorter than ``min_chars`` is merged into the previous chunk if the
  result stays within 1.5 x ``max_chars`` (the last chunk of a page always
  qualifies; earlier ones only if they do not start with a heading).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from search.models import Chunk
from search.text import Span, is_heading, sentence_spans
from search.text import skip_space as _skip_space
from search.text import trim_span as _trim

MERGE_FACTOR = 1.5

_PARAGRAPH_SPLIT_RE = re.compile(r"\n[ \t]*\n")


@dataclass
class _Unit:
    """An indivisible piece of text for packing."""

    text: str
    separator: str  # joins it to the previous unit in the same chunk
    heading: bool = False  # starts with a heading, so it must open a new chunk


@dataclass
class _Draft:
    text: str
    separator: str  # how it would attach to the previous chunk when merged
    heading: bool


def chunk_document(
    text: str,
    pages: list[str] | None = None,
    *,
    max_chars: int,
    min_chars: int,
) -> list[Chunk]:
    """Split a document into passages for embedding and lexical indexing.

    With ``pages`` (one text per PDF page, "" allowed) the pages are chunked one
    by one, ``text`` is not used, and ``Chunk.page`` is the 1-based page number;
    otherwise ``text`` is chunked and ``page`` is None. ``position`` counts
    0..n-1 over the whole document. Empty input gives an empty list.
    """
    if max_chars < 1:
        raise ValueError("max_chars must be at least 1")
    sections: list[tuple[int | None, str]]
    if pages is None:
        sections = [(None, text)]
    else:
        sections = list(enumerate(pages, start=1))
    chunks: list[Chunk] = []
    for page, section_text in sections:
        for passage in _chunk_section(section_text, max_chars, min_chars):
            chunks.append(Chunk(text=passage, position=len(chunks), page=page))
    return chunks


def _chunk_section(text: str, max_chars: int, min_chars: int) -> list[str]:
    paragraphs = [p.strip() for p in _PARAGRAPH_SPLIT_RE.split(text) if p.strip()]
    if not paragraphs:
        return []
    drafts = _pack(_units(paragraphs, max_chars), max_chars)
    return [draft.text for draft in _merge_small(drafts, max_chars, min_chars)]


def _is_lead_in(paragraph: str) -> bool:
    # Text introducing what follows ("Die Ergebnisse:") belongs with it.
    return is_heading(paragraph) or paragraph.endswith(":")


def _units(paragraphs: list[str], max_chars: int) -> list[_Unit]:
    """Group lead-ins with their paragraph and cut over-long paragraphs into pieces."""
    units: list[_Unit] = []
    index = 0
    while index < len(paragraphs):
        prefix: list[str] = []
        # Collect headings/lead-ins, but never let them eat more than half a chunk.
        while (
            index < len(paragraphs) - 1
            and _is_lead_in(paragraphs[index])
            and len("\n\n".join([*prefix, paragraphs[index]])) <= max_chars // 2 - 2
        ):
            prefix.append(paragraphs[index])
            index += 1
        body = paragraphs[index]
        opens_with_heading = is_heading(prefix[0] if prefix else body)
        head = "\n\n".join(prefix)
        room = max_chars - len(head) - 2 if prefix else max_chars
        if len(body) <= room:
            units.append(_Unit(_join(head, body), "\n\n", opens_with_heading))
        else:
            # The first piece is cut to fit beside the heading; the rest uses full chunks.
            first_end = _split_spans(body, room)[0][1]
            units.append(_Unit(_join(head, body[:first_end]), "\n\n", opens_with_heading))
            rest_start = _skip_space(body, first_end)
            previous_end = first_end
            for start, end in _split_spans(body, max_chars, rest_start):
                gap = body[previous_end:start]
                units.append(_Unit(body[start:end], "\n" if "\n" in gap else " "))
                previous_end = end
        index += 1
    return units


def _join(head: str, body: str) -> str:
    return f"{head}\n\n{body}" if head else body


def _pack(units: list[_Unit], max_chars: int) -> list[_Draft]:
    drafts: list[_Draft] = []
    for unit in units:
        current = drafts[-1] if drafts else None
        if (
            current is None
            or unit.heading
            or len(current.text) + len(unit.separator) + len(unit.text) > max_chars
        ):
            drafts.append(_Draft(unit.text, unit.separator, unit.heading))
        else:
            current.text += unit.separator + unit.text
    return drafts


def _merge_small(drafts: list[_Draft], max_chars: int, min_chars: int) -> list[_Draft]:
    merged: list[_Draft] = []
    for index, draft in enumerate(drafts):
        is_last = index == len(drafts) - 1
        if (
            merged
            and len(draft.text) < min_chars
            and (is_last or not draft.heading)
            and len(merged[-1].text) + len(draft.separator) + len(draft.text)
            <= MERGE_FACTOR * max_chars
        ):
            merged[-1].text += draft.separator + draft.text
        else:
            merged.append(draft)
    return merged


# --------------------------------------------------------------------------- splitting

_LINE_RE = re.compile(r"[^\n]+")
_WORD_RE = re.compile(r"\S+")


def _split_spans(text: str, limit: int, start: int = 0) -> list[Span]:
    """Cut ``text[start:]`` into balanced pieces of at most ``limit`` characters."""
    atoms = _atoms(text, start, len(text), limit, 0)
    return _pack_spans(atoms, limit)


def _atoms(text: str, start: int, end: int, limit: int, level: int) -> list[Span]:
    """Spans no longer than ``limit``, as coarse as possible: lines, sentences, words, chars."""
    if end - start <= limit:
        trimmed = _trim(text, start, end)
        return [trimmed] if trimmed else []
    if level == len(_SPLITTERS):
        return [(s, min(s + limit, end)) for s in range(start, end, limit)]
    atoms: list[Span] = []
    for span_start, span_end in _SPLITTERS[level](text, start, end):
        atoms.extend(_atoms(text, span_start, span_end, limit, level + 1))
    return atoms


def _line_spans(text: str, start: int, end: int) -> Iterator[Span]:
    for match in _LINE_RE.finditer(text, start, end):
        trimmed = _trim(text, match.start(), match.end())
        if trimmed:
            yield trimmed


def _word_spans(text: str, start: int, end: int) -> Iterator[Span]:
    for match in _WORD_RE.finditer(text, start, end):
        yield match.span()


_SPLITTERS: tuple[Callable[[str, int, int], Iterator[Span]], ...] = (
    _line_spans,
    sentence_spans,
    _word_spans,
)


def _pack_spans(atoms: list[Span], limit: int) -> list[Span]:
    """Greedily pack consecutive atoms into pieces of about equal size (≤ limit)."""
    if not atoms:
        return []
    total = atoms[-1][1] - atoms[0][0]
    target = total / math.ceil(total / limit)
    pieces: list[Span] = []
    start, end = atoms[0]
    for atom_start, atom_end in atoms[1:]:
        length = end - start
        extended = atom_end - start
        # Close the piece if the atom does not fit, or if adding it overshoots the
        # target by more than leaving it out would undershoot it.
        if extended > limit or (extended > target and extended - target > target - length):
            pieces.append((start, end))
            start = atom_start
        end = atom_end
    pieces.append((start, end))
    return pieces
