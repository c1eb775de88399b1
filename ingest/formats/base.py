"""What every format module shares: the result record, the limits and text cleanup.

Text convention for all formats: Unicode NFC, ``\\n`` newlines, no trailing
whitespace, paragraphs separated by exactly one blank line.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from search.settings import Settings


@dataclass(frozen=True)
class Limits:
    """Resource limits of one extraction (``KB_MAX_FILE_BYTES``, ``KB_MAX_UNPACKED_BYTES``,
    ``KB_MAX_ARCHIVE_MEMBERS``)."""

    max_file_bytes: int
    #: total bytes a ZIP-based file (DOCX) may unpack to, counted while unpacking
    max_unpacked_bytes: int
    #: entries a ZIP-based file may have
    max_archive_members: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        """The limits the settings configure."""
        return cls(
            max_file_bytes=settings.max_file_bytes,
            max_unpacked_bytes=settings.max_unpacked_bytes,
            max_archive_members=settings.max_archive_members,
        )


@dataclass
class Extracted:
    """Text and metadata extracted from one file."""

    text: str  # full text, paragraphs separated by one blank line
    pages: list[str] | None  # PDFs: one entry per page (may be ""), else None
    metadata: dict[str, Any]  # keys among ingest.metadata.METADATA_KEYS; only those found
    format: str  # "txt", "md", "pdf" or "docx"
    # Headings in document order where the format marks them (Markdown, DOCX styles).
    headings: list[str] = field(default_factory=list)


CHAR_FIXES = str.maketrans(
    {
        "\u00a0": " ",  # no-break space: German text uses it in "z. B.", "30. Nov."
        "\u202f": " ",  # narrow no-break space
        "\u2007": " ",
        "\u200b": None,  # zero-width space
        "\u200c": None,
        "\u200d": None,
        "\u2060": None,
        "\ufeff": None,  # stray BOMs inside concatenated text
        "\u00ad": None,  # soft hyphen: invisible unless a word is broken
        "\f": "\n\n",  # form feed = page break in plain text
        "\v": "\n",
        "\u2028": "\n",
        "\u2029": "\n\n",
        "\ufb00": "ff",  # ligatures as emitted by some PDF producers
        "\ufb01": "fi",
        "\ufb02": "fl",
        "\ufb03": "ffi",
        "\ufb04": "ffl",
        "\ufb05": "st",
        "\ufb06": "st",
    }
)
CONTROL_CHARS_RE = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")
_BLANK_RUN_RE = re.compile(r"\n{3,}")


def format_size(size: int) -> str:
    """A byte count for messages: "3 MB", "1.5 KB", "200 bytes"."""
    if size >= 2**20:
        return f"{size / 2**20:.1f}".removesuffix(".0") + " MB"
    if size >= 2**10:
        return f"{size / 2**10:.1f}".removesuffix(".0") + " KB"
    return f"{size} bytes"


def unify_newlines(text: str) -> str:
    """NFC with ``\\n`` for every kind of line break (``\\r\\n``, ``\\r``)."""
    return unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))


def normalise_text(text: str) -> str:
    """NFC, unified newlines, no control characters or trailing spaces, single blank lines."""
    text = unify_newlines(text).translate(CHAR_FIXES)
    text = CONTROL_CHARS_RE.sub("", text)
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return _BLANK_RUN_RE.sub("\n\n", text).strip()
