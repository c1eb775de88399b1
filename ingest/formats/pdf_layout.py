"""Layout analysis of PDF text: lines to paragraphs, without pypdf.

Input is one list of :class:`PdfLine` per page (text, baseline, font size, as
``ingest.formats.pdf`` reads them). The analysis removes page numbers and running
headers/footers at the page edges, finds paragraph breaks from vertical gaps, type
size changes, bullets and sentence ends measured against the document's line
statistics, and joins wrapped lines, repairing words hyphenated at line ends.
"""

from __future__ import annotations

import math
import re
import statistics
import unicodedata
from collections import Counter
from dataclasses import dataclass
from itertools import pairwise

from search.text import ends_sentence, is_bullet, is_heading, is_numbered

from .base import CHAR_FIXES, CONTROL_CHARS_RE, normalise_text


@dataclass
class PdfLine:
    """One text line of a page as pypdf reads it."""

    text: str
    y: float | None = None  # baseline in PDF user space (grows upwards); None if unknown
    size: float | None = None  # effective font size of the first fragment


_SPACES_RE = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u3000]+")


def _clean_pdf_line(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    # Keep a trailing soft hyphen: it marks a word broken at the line end.
    soft_break = text.rstrip().endswith("\u00ad")
    text = CONTROL_CHARS_RE.sub("", text.replace("\u00ad", "").translate(CHAR_FIXES))
    text = _SPACES_RE.sub(" ", text).strip()
    return text + "\u00ad" if soft_break and text else text


_PAGE_NUMBER_RE = re.compile(
    r"^(?:(?:seite|page|s\.)\s*\d{1,4}(?:\s*(?:von|of|/)\s*\d{1,4})?"
    r"|[-–—]\s*\d{1,4}\s*[-–—]"
    r"|\d{1,4}\s*(?:/|von|of)\s*\d{1,4}"
    r"|\d{1,3})$",
    re.IGNORECASE,
)
# "Seite 2 von 7" glued to a footer label on the same baseline ("IHK MusterstadtSeite 2 von 7").
_PAGE_NUMBER_AFFIX_RE = re.compile(
    r"(?:^(?:seite|page)\s*\d{1,4}\s*(?:von|of|/)\s*\d{1,4}\b\s*"
    r"|\s*\b(?:seite|page)\s*\d{1,4}\s*(?:von|of|/)\s*\d{1,4}$)",
    re.IGNORECASE,
)
_EDGE_LINES = 2  # how many lines at the top and bottom of a page may be header/footer


def clean_pdf_pages(raw_pages: list[list[PdfLine]]) -> list[str]:
    """The text of each page: paragraphs separated by one blank line, furniture removed."""
    pages = [
        [PdfLine(_clean_pdf_line(line.text), line.y, line.size) for line in page]
        for page in raw_pages
    ]
    _drop_page_furniture(pages)
    stats = _LineStats.measure(pages)
    cleaned: list[str] = []
    for page in pages:
        paragraphs = [_join_pdf_lines(group) for group in _pdf_paragraphs(page, stats)]
        cleaned.append(normalise_text("\n\n".join(p for p in paragraphs if p)))
    return cleaned


def _edge_indices(page: list[PdfLine]) -> list[int]:
    filled = [index for index, line in enumerate(page) if line.text]
    return sorted(set(filled[:_EDGE_LINES] + filled[-_EDGE_LINES:]))


def _drop_page_furniture(pages: list[list[PdfLine]]) -> None:
    """Blank out page numbers and running headers/footers at the page edges (in place)."""
    for page in pages:
        for index in _edge_indices(page):
            line = page[index]
            if _PAGE_NUMBER_RE.match(line.text):
                line.text = ""
            else:
                line.text = _PAGE_NUMBER_AFFIX_RE.sub("", line.text)

    # Running headers/footers: the same edge line (digits ignored) on (nearly) every page.
    pages_with_text = [page for page in pages if any(line.text for line in page)]
    if len(pages_with_text) < 2:
        return

    def key(text: str) -> str:
        return re.sub(r"\d+", "#", text.lower())

    counts: Counter[str] = Counter()
    for page in pages_with_text:
        counts.update({key(page[index].text) for index in _edge_indices(page)})
    threshold = max(2, math.ceil(0.6 * len(pages_with_text)))
    repeated = {text for text, count in counts.items() if count >= threshold and len(text) <= 200}
    for page in pages_with_text:
        for index in _edge_indices(page):
            if key(page[index].text) in repeated:
                page[index].text = ""


@dataclass
class _LineStats:
    """Document-wide line measurements that drive paragraph detection."""

    full_length: float  # characters in a full-width line (95th percentile)
    line_drop: float | None  # usual baseline distance between lines of one paragraph
    drop_per_size: float | None  # the same, relative to the font size
    body_size: float | None  # the most common font size: body text

    @classmethod
    def measure(cls, pages: list[list[PdfLine]]) -> _LineStats:
        lengths = sorted(len(line.text) for page in pages for line in page if line.text)
        full_length = float(lengths[int(0.95 * (len(lengths) - 1))]) if lengths else 0.0
        sizes = Counter(line.size for page in pages for line in page if line.text and line.size)
        body_size = sizes.most_common(1)[0][0] if sizes else None
        drops: list[float] = []
        relative: list[float] = []
        for page in pages:
            filled = [line for line in page if line.text and line.y is not None]
            for upper, lower in pairwise(filled):
                drop = upper.y - lower.y
                if drop <= 0.5:
                    continue
                drops.append(drop)
                if upper.size and upper.size == lower.size:
                    relative.append(drop / upper.size)
        line_drop = statistics.median(drops) if len(drops) >= 3 else None
        drop_per_size = statistics.median(relative) if len(relative) >= 3 else None
        return cls(full_length, line_drop, drop_per_size, body_size)

    def expected_drop(self, upper: PdfLine, lower: PdfLine) -> float | None:
        """Baseline distance expected between two lines of the same paragraph."""
        if self.line_drop is None:
            return None
        if self.drop_per_size and upper.size and upper.size == lower.size:
            # Larger type (titles) has proportionally larger line spacing.
            return max(self.line_drop, self.drop_per_size * upper.size)
        return self.line_drop

    def capacity(self, line: PdfLine) -> float:
        """Characters that fit on a full line in the type size of ``line``."""
        if self.body_size and line.size:
            return self.full_length * self.body_size / line.size
        return self.full_length

    def is_display_type(self, line: PdfLine) -> bool:
        """Whether ``line`` is set clearly larger than body text (title, heading)."""
        return bool(self.body_size and line.size and line.size > 1.1 * self.body_size)


def _looks_like_heading(text: str, stats: _LineStats) -> bool:
    """The shared heading rule, for a PDF line: shorter than 60 % of a full line (80
    characters when unknown), no questions, numbered headings allowed ("3. Ergebnisse"),
    starting with a capital or a digit."""
    limit = 0.6 * stats.full_length if stats.full_length else 80
    return is_heading(
        text,
        max_chars=math.ceil(limit) - 1,  # the limit itself is excluded
        question_max_chars=0,
        numbered=True,
        capital_start=True,
    )


def _starts_upper(text: str) -> bool:
    return text[0].isupper() or text[0].isdigit() or text[0] in "„\"'»«(“"


def _is_paragraph_break(upper: PdfLine, lower: PdfLine, stats: _LineStats) -> bool:
    """Decide whether ``lower`` starts a new paragraph after ``upper``."""
    expected = stats.expected_drop(upper, lower)
    if expected and upper.y is not None and lower.y is not None:
        drop = upper.y - lower.y
        # Extra vertical space, or a jump upwards (next column / text box).
        if drop > 1.3 * expected or drop < -expected:
            return True
    if (
        upper.size
        and lower.size
        and max(upper.size, lower.size) > 1.15 * min(upper.size, lower.size)
    ):
        return True  # a change of type size: heading <-> body text
    if is_bullet(lower.text):
        return True
    if upper.size == lower.size and stats.is_display_type(upper):
        return False  # a title or heading wrapped over lines; the gap rule above splits others
    if not stats.full_length:
        return False
    if ends_sentence(upper.text, colon=True):
        if is_numbered(lower.text):
            return True
        # A line ending a sentence although the next word would still have fitted
        # was broken on purpose: that is the last line of a paragraph.
        next_word = lower.text.split(" ", 1)[0]
        if len(upper.text) + 1 + len(next_word) < 0.9 * stats.capacity(upper):
            return True
        if _looks_like_heading(lower.text, stats):
            return True
    # A short line without punctuation is a heading, unless short lines follow:
    # then it is a heading or title wrapped over several lines.
    return (
        _looks_like_heading(upper.text, stats)
        and _starts_upper(lower.text)
        and not _looks_like_heading(lower.text, stats)
    )


def _pdf_paragraphs(page: list[PdfLine], stats: _LineStats) -> list[list[str]]:
    paragraphs: list[list[str]] = []
    current: list[str] = []
    previous: PdfLine | None = None
    for line in page:
        if not line.text:
            # Blank output lines, removed page numbers: a paragraph boundary either way.
            if current:
                paragraphs.append(current)
            current, previous = [], None
            continue
        if previous is not None and _is_paragraph_break(previous, line, stats):
            paragraphs.append(current)
            current = []
        current.append(line.text)
        previous = line
    if current:
        paragraphs.append(current)
    return paragraphs


# Words after "Klima-" that show a truncated compound ("Klima- und Energiepolitik").
_CONJUNCTIONS = frozenset({"und", "oder", "bzw", "bzw.", "sowie", "bis", "als", "noch", "wie"})
_LETTER_HYPHEN_RE = re.compile(r"[^\W\d_]-$")


def _join_pdf_lines(lines: list[str]) -> str:
    """Join the wrapped lines of one paragraph, repairing words hyphenated at line ends."""
    joined = lines[0]
    for line in lines[1:]:
        if joined.endswith("\u00ad"):
            joined = joined[:-1] + line
        elif _LETTER_HYPHEN_RE.search(joined):
            next_word = line.split(" ", 1)[0].rstrip(",;:.!?").lower()
            if line[0].islower() and next_word not in _CONJUNCTIONS:
                joined = joined[:-1] + line  # "Wasser-" + "stoff" -> "Wasserstoff"
            elif line[0].islower():
                joined = f"{joined} {line}"  # "Klima-" + "und ..." keeps the hyphen
            else:
                joined += line  # "Industrie-" + "Unternehmen" -> "Industrie-Unternehmen"
        elif joined.endswith("-") and joined[-2:-1].isdigit() and line[0].isdigit():
            joined += line  # "2020-" + "2022"
        else:
            joined = f"{joined} {line}"
    return joined.replace("\u00ad", "")
