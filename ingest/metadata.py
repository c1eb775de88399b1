"""Document metadata: map document properties to fields, complete a document's title
and date, parse German dates, build ASCII slugs.

(YAML front matter has its own module, ``ingest.frontmatter``.)
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from search.models import METADATA_FIELDS

if TYPE_CHECKING:  # only for annotations: formats import this module's helpers
    from ingest.formats.base import Extracted

#: Metadata keys extraction may fill (``search.models.METADATA_FIELDS`` plus ``id``).
METADATA_KEYS = (*METADATA_FIELDS, "id")

TITLE_MAX_CHARS = 150
FALLBACK_TITLE = "Unbenanntes Dokument"
SLUG_MAX_CHARS = 80

_MONTHS = {
    "januar": 1,
    "jänner": 1,
    "january": 1,
    "jan": 1,
    "februar": 2,
    "february": 2,
    "feb": 2,
    "märz": 3,
    "maerz": 3,
    "march": 3,
    "mär": 3,
    "mrz": 3,
    "mar": 3,
    "april": 4,
    "apr": 4,
    "mai": 5,
    "may": 5,
    "juni": 6,
    "june": 6,
    "jun": 6,
    "juli": 7,
    "july": 7,
    "jul": 7,
    "august": 8,
    "aug": 8,
    "september": 9,
    "sept": 9,
    "sep": 9,
    "oktober": 10,
    "october": 10,
    "okt": 10,
    "oct": 10,
    "november": 11,
    "nov": 11,
    "dezember": 12,
    "december": 12,
    "dez": 12,
    "dec": 12,
}
# Longest names first so "Juni" is not matched as "Jun" + "i".
_MONTH_PATTERN = "|".join(sorted(_MONTHS, key=len, reverse=True))

# Patterns in order of specificity; at the same text position the earlier one wins.
_DATE_PATTERNS = (
    # "30. November 2021", "30. Nov. 2021", "29.–30. November 2021", "29. und 30. Nov 2021"
    re.compile(
        r"(?<![\w.])(?P<day>\d{1,2})\.?\s*"
        r"(?:(?:[-–/]|\s(?:und|bis|u\.)\s)\s*\d{1,2}\.?\s*)?"
        rf"(?P<month>{_MONTH_PATTERN})\.?\s+(?P<year>\d{{4}})(?!\d)",
        re.IGNORECASE,
    ),
    # "30.11.2021", "30. 11. 2021", "30.11.21"
    re.compile(
        r"(?<![\d.])(?P<day>\d{1,2})\.\s?(?P<month>\d{1,2})\.\s?(?P<year>\d{4}|\d{2})(?!\d|\.\d)"
    ),
    # "2021-11-30" (also the date part of ISO timestamps)
    re.compile(r"(?<!\d)(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})(?!\d)"),
    # "November 2021" -> month precision
    re.compile(
        rf"(?<![\w.])(?P<month>{_MONTH_PATTERN})\.?\s+(?P<year>\d{{4}})(?!\d)",
        re.IGNORECASE,
    ),
)
_ISO_PREFIX_RE = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")
_YEAR_RE = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")
_FILENAME_DATE_RE = re.compile(
    r"(?<!\d)((?:19|20)\d{2})[-_.]?(0[1-9]|1[0-2])(?:[-_.]?(0[1-9]|[12]\d|3[01]))?(?!\d)"
)


# --------------------------------------------------------------------------- properties

# Titles that PDF/Office producers fill in automatically carry no information.
_JUNK_TITLE_RE = re.compile(
    r"^(?:untitled|unbenannt|ohne titel|document\d*|dokument\d*|microsoft word\b.*|"
    r".*\.(?:docx?|pdf|odt|rtf|indd|txt))$",
    re.IGNORECASE,
)


def info_to_metadata(info: dict[str, Any]) -> dict[str, Any]:
    """Map document properties (PDF info, DOCX core properties) to metadata fields.

    ``info`` has any of ``title``, ``organiser`` (author), ``event`` (subject),
    ``keywords`` and ``language``. Generated titles ("Microsoft Word - x.docx") are
    dropped, "de-DE" becomes "de", keywords become ``topics``.
    """
    metadata: dict[str, Any] = {}
    for key in ("title", "organiser", "event", "language"):
        value = info.get(key)
        if value is None:
            continue
        text = " ".join(unicodedata.normalize("NFC", str(value)).split())
        if key == "title" and _JUNK_TITLE_RE.match(text):
            continue
        if key == "language":
            text = text.split("-")[0].split("_")[0].lower()  # "de-DE" -> "de"
        if text:
            metadata[key] = text
    keywords = info.get("keywords")
    topics = split_topics(unicodedata.normalize("NFC", str(keywords))) if keywords else []
    if topics:
        metadata["topics"] = topics
    return metadata


def split_topics(value: str | None) -> list[str]:
    """Split a keyword string like ``"Wasserstoff, Energie; Mobilität"`` into topics."""
    if not value:
        return []
    topics: list[str] = []
    for part in re.split(r"[,;\n]", value):
        topic = " ".join(part.split())
        if topic and topic not in topics:
            topics.append(topic)
    return topics


# --------------------------------------------------------------------------- inference


def infer_metadata(extracted: Extracted, filename: str) -> dict[str, Any]:
    """Return the extracted metadata completed with a ``title`` and an ISO ``date``.

    The result always has ``title`` (str) and ``date`` (ISO ``YYYY-MM-DD``,
    ``YYYY-MM``, ``YYYY`` or None); other keys are copied unchanged.
    Title: metadata, else the first heading, else the first line of the text if
    it is short and not a sentence, else the prettified filename.
    Date: metadata (normalised), else the first date in the text, else a date or
    year in the filename. An unparseable metadata date is replaced.
    """
    metadata = dict(extracted.metadata)
    metadata["title"] = _infer_title(extracted, filename)
    metadata["date"] = (
        parse_date(metadata.get("date"))
        or find_first_date(extracted.text)
        or _date_from_filename(filename)
    )
    return metadata


def _infer_title(extracted: Extracted, filename: str) -> str:
    title = extracted.metadata.get("title")
    if isinstance(title, str) and title.strip():
        return " ".join(title.split())
    for heading in extracted.headings:
        if 0 < len(heading) < TITLE_MAX_CHARS:
            return heading
    first_line = extracted.text.strip().split("\n", 1)[0].strip()
    # A line ending like a sentence is body text, not a title.
    if 0 < len(first_line) < TITLE_MAX_CHARS and first_line[-1] not in ".,;":
        return first_line.rstrip(":").strip() or first_line
    return _title_from_filename(filename)


def _title_from_filename(filename: str) -> str:
    stem = PurePath(filename).stem
    words = " ".join(re.sub(r"[_\-.+]+", " ", stem).split())
    if not words:
        return FALLBACK_TITLE
    return words[0].upper() + words[1:]


def parse_date(value: Any) -> str | None:
    """Normalise a date value to ISO (``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY``).

    Accepts ``date``/``datetime`` objects, a year as int, ISO strings (also
    partial), German forms ("30.11.2021", "30. November 2021", "November 2021")
    and text containing a year ("Herbst 2021" -> "2021"). Returns None otherwise.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int):
        return str(value) if 1000 <= value <= 9999 else None
    if not isinstance(value, str):
        return None
    text = value.strip()
    iso = _ISO_PREFIX_RE.match(text)
    if iso:
        year, month, day = (int(part) if part else None for part in iso.groups())
        return _format_date(year, month, day)
    found = find_first_date(text)
    if found:
        return found
    year_match = _YEAR_RE.search(text)
    return year_match.group(1) if year_match else None


def find_first_date(text: str) -> str | None:
    """Return the first German (or ISO) date in ``text`` as an ISO string, else None.

    Day-precise forms give ``YYYY-MM-DD``; "November 2021" gives ``YYYY-MM``.
    For ranges like "29.–30. November 2021" the first day is used.
    """
    best: tuple[int, int, str] | None = None  # (position, pattern rank, iso)
    for rank, pattern in enumerate(_DATE_PATTERNS):
        for match in pattern.finditer(text):
            if best is not None and match.start() >= best[0]:
                break  # finditer is ordered; later matches cannot win
            iso = _date_from_match(match)
            if iso is not None:
                best = (match.start(), rank, iso)
                break
    return best[2] if best else None


def _date_from_match(match: re.Match[str]) -> str | None:
    groups = match.groupdict()
    raw_month = groups["month"]
    month = int(raw_month) if raw_month.isdigit() else _MONTHS.get(raw_month.lower())
    year = int(groups["year"])
    if len(groups["year"]) == 2:
        year += 2000  # "30.11.21": reports are from this century
    day = int(groups["day"]) if groups.get("day") else None
    return _format_date(year, month, day)


def _format_date(year: int | None, month: int | None, day: int | None) -> str | None:
    if year is None or not 1900 <= year <= 2100:
        return None
    if month is None:
        return f"{year:04d}"
    if not 1 <= month <= 12:
        return None
    if day is None:
        return f"{year:04d}-{month:02d}"
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:  # e.g. 31.02.
        return None


def _date_from_filename(filename: str) -> str | None:
    stem = PurePath(filename).stem
    full = _FILENAME_DATE_RE.search(stem)
    if full:
        year, month, day = (int(part) if part else None for part in full.groups())
        iso = _format_date(year, month, day)
        if iso:
            return iso
    found = find_first_date(stem)
    if found:
        return found
    year_match = _YEAR_RE.search(stem)
    return year_match.group(1) if year_match else None


_TRANSLITERATION = str.maketrans(
    {"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss", "ẞ": "SS"}
)


def slugify(text: str) -> str:
    """ASCII slug for stable ids: German transliteration, lowercase, hyphens, ≤ 80 chars.

    "Wasserstoff-Tag in Köln: Größe & Maß" -> "wasserstoff-tag-in-koeln-groesse-mass".
    Other accents are dropped ("é" -> "e"). Returns "" when nothing usable remains;
    callers must handle that.
    """
    text = unicodedata.normalize("NFC", text).translate(_TRANSLITERATION)
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if len(slug) > SLUG_MAX_CHARS:
        cut = slug[:SLUG_MAX_CHARS]
        # Prefer ending at a word boundary unless that would throw most of it away.
        if slug[SLUG_MAX_CHARS] != "-" and cut.rfind("-") >= SLUG_MAX_CHARS // 2:
            cut = cut[: cut.rfind("-")]
        slug = cut.strip("-")
    return slug
