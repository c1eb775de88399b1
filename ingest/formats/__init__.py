"""The format registry: which module turns which file into text, checked against the bytes.

Entry points: :func:`read_file` (bytes of a file on disk, within the size limit) and
:func:`extract_bytes` (text and metadata of those bytes). The registry checks, once
for all formats and in this order:

1. the suffix (case-insensitive) selects a format: ``.txt``, ``.md``/``.markdown``,
   ``.pdf``, ``.docx``;
2. the size limit (``KB_MAX_FILE_BYTES``);
3. emptiness (nothing but whitespace);
4. the bytes against the suffix: a PDF (``%PDF-``), a Word document (ZIP with
   ``word/document.xml``), another ZIP archive or an old binary Office file (OLE2)
   under a name that says otherwise is rejected, naming both;
5. after extraction: emptiness again, then the junk rule (:func:`junk_share`).

Every failure is an :class:`~ingest.errors.ExtractionError` with a stable ``code``.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePath

from ..errors import ExtractionError
from .base import Extracted, Limits, format_size
from .docx import extract_docx
from .markdown import extract_markdown
from .pdf import extract_pdf
from .text import extract_text

__all__ = [
    "FORMATS",
    "SUPPORTED_SUFFIXES",
    "Extracted",
    "ExtractionError",
    "Format",
    "Limits",
    "extract_bytes",
    "format_for",
    "junk_share",
    "read_file",
    "sniff",
]


@dataclass(frozen=True)
class Format:
    """A supported file format: its suffixes, names for messages and its extractor."""

    name: str  # "txt", "md", "pdf", "docx": Extracted.format and the stored format
    suffixes: tuple[str, ...]
    label: str  # in messages: "the name says <label>"
    label_de: str
    extract: Callable[[bytes, Limits], Extracted]


FORMATS = (
    Format("txt", (".txt",), "text", "Text", extract_text),
    Format("md", (".md", ".markdown"), "Markdown", "Markdown", extract_markdown),
    Format("pdf", (".pdf",), "PDF", "PDF", extract_pdf),
    Format("docx", (".docx",), "Word", "Word", extract_docx),
)
_BY_SUFFIX = {suffix: fmt for fmt in FORMATS for suffix in fmt.suffixes}
SUPPORTED_SUFFIXES = tuple(_BY_SUFFIX)


def format_for(filename: str) -> Format:
    """The format for a file name's suffix; raises ``unsupported_type`` otherwise."""
    suffix = PurePath(filename).suffix.lower()
    fmt = _BY_SUFFIX.get(suffix)
    if fmt is None:
        shown = f"'{suffix}'" if suffix else "(file name has no suffix)"
        shown_de = f"'{suffix}'" if suffix else "(Dateiname ohne Endung)"
        hint, hint_de = (
            (" (save it as .docx)", " (als .docx speichern)") if suffix == ".doc" else ("", "")
        )
        supported = ", ".join(SUPPORTED_SUFFIXES)
        raise ExtractionError(
            "unsupported_type",
            f"unsupported file type {shown}{hint}; supported: {supported}",
            f"Dateityp {shown_de} wird nicht unterstützt{hint_de}; unterstützt: {supported}",
        )
    return fmt


def _check_size(size: int, limits: Limits) -> None:
    if size > limits.max_file_bytes:
        shown, limit = format_size(size), format_size(limits.max_file_bytes)
        raise ExtractionError(
            "too_large",
            f"file too large ({shown}, limit {limit})",
            f"Datei zu groß ({shown}, Grenze {limit})",
        )


def _empty() -> ExtractionError:
    return ExtractionError("empty", "file is empty", "Datei ist leer")


# --------------------------------------------------------------------------- bytes vs. suffix

_PDF_START_RE = re.compile(rb"\s*%PDF-")
_ZIP_START = (b"PK\x03\x04", b"PK\x05\x06")  # a first member, or an empty archive
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .doc/.xls/.ppt container

# What the bytes are: (English, German) description and what to do about it.
_CONTENT = {
    "pdf": ("a PDF (binary data, not text)", "ein PDF (Binärdaten, kein Text)", ".pdf"),
    "docx": ("a Word document", "ein Word-Dokument", ".docx"),
    "zip": ("a ZIP archive", "ein ZIP-Archiv", None),
    "ole": (
        "an old binary Office file (.doc, .xls)",
        "eine alte binäre Office-Datei (.doc, .xls)",
        None,
    ),
}


def sniff(data: bytes) -> str | None:
    """What the bytes are by their magic: "pdf", "docx", "zip", "ole" or None (unknown).

    A PDF starts with ``%PDF-`` (after optional whitespace); a Word document is a ZIP
    archive naming ``word/document.xml`` (member names are stored uncompressed).
    """
    if data.startswith(_ZIP_START):
        return "docx" if b"word/document.xml" in data else "zip"
    if data.startswith(_OLE2_MAGIC):
        return "ole"
    if _PDF_START_RE.match(data):
        return "pdf"
    return None


def _check_content(fmt: Format, suffix: str, data: bytes) -> None:
    content = sniff(data)
    # A ZIP without a Word document under .docx is a broken DOCX: the extractor says so.
    if content is None or content == fmt.name or (fmt.name == "docx" and content == "zip"):
        return
    described, described_de, proper_suffix = _CONTENT[content]
    if proper_suffix:
        hint, hint_de = f"rename it to {proper_suffix}", f"in {proper_suffix} umbenennen"
    elif content == "ole":
        hint, hint_de = "save it as .docx", "als .docx speichern"
    else:
        hint, hint_de = "unpack it first", "zuerst entpacken"
    raise ExtractionError(
        "type_mismatch",
        f"file name says {fmt.label} ({suffix}) but the content is {described}; {hint}",
        f"Dateiname sagt {fmt.label_de} ({suffix}), der Inhalt ist aber {described_de}; {hint_de}",
    )


# --------------------------------------------------------------------------- junk rule

#: a whitespace-free run longer than this is no word (German compounds stay far below)
JUNK_RUN_CHARS = 64
#: text is junk when more than this share of its non-space characters sits in such runs
JUNK_MAX_SHARE = 0.5
_SPACE_RE = re.compile(r"\s+")
_LONG_RUN_RE = re.compile(r"\S{" + str(JUNK_RUN_CHARS + 1) + ",}")


def junk_share(text: str) -> float:
    """Share of the non-space characters of ``text`` in runs of more than 64 of them.

    Readable text consists of words between spaces. Bytes that are no text but decode
    as latin-1 (0x80-0xFF) or a file-long line of letters and digits are mostly runs
    of hundreds of characters. The rule: more than 50 % in such runs is junk.
    """
    nonspace = len(_SPACE_RE.sub("", text))
    if not nonspace:
        return 0.0
    return sum(map(len, _LONG_RUN_RE.findall(text))) / nonspace


def _check_junk(text: str) -> None:
    share = junk_share(text)
    if share > JUNK_MAX_SHARE:
        raise ExtractionError(
            "junk_text",
            f"not readable text: {share:.0%} of its characters are in 'words' longer than "
            f"{JUNK_RUN_CHARS} characters (limit {JUNK_MAX_SHARE:.0%})",
            f"kein lesbarer Text: {share:.0%} der Zeichen stehen in „Wörtern“ mit mehr als "
            f"{JUNK_RUN_CHARS} Zeichen (Grenze {JUNK_MAX_SHARE:.0%})",
        )


# --------------------------------------------------------------------------- entry points


def read_file(path: Path, limits: Limits) -> bytes:
    """The bytes of the file at ``path``; unsupported or oversized files are not read.

    Raises ExtractionError: ``unsupported_type``, ``not_found``, ``not_a_file``,
    ``too_large`` (checked before reading, so huge files never load) or ``unreadable``.
    """
    format_for(os.fsdecode(path))
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):  # a folder, a FIFO (would block), a device
            raise ExtractionError("not_a_file", "not a regular file", "keine normale Datei")
        _check_size(info.st_size, limits)
        with open(path, "rb") as file:
            data = file.read(limits.max_file_bytes + 1)  # +1: a file that grew since stat
    except FileNotFoundError as exc:
        raise ExtractionError(
            "not_found",
            "file not found (it does not exist)",
            "Datei nicht gefunden (existiert nicht)",
        ) from exc
    except PermissionError as exc:
        raise ExtractionError(
            "unreadable",
            "cannot read file (permission denied)",
            "Datei nicht lesbar (keine Berechtigung)",
        ) from exc
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ExtractionError(
            "unreadable", f"cannot read file ({reason})", f"Datei nicht lesbar ({reason})"
        ) from exc
    _check_size(len(data), limits)
    return data


def extract_bytes(data: bytes, filename: str, limits: Limits) -> Extracted:
    """Extract text and metadata from raw file bytes; ``filename`` selects the format.

    Only the suffix of ``filename`` is used. Raises :class:`ExtractionError` for
    unsupported, oversized, empty, mismatched, damaged or junk files.
    """
    fmt = format_for(filename)
    _check_size(len(data), limits)
    if not data.strip():
        raise _empty()
    _check_content(fmt, PurePath(filename).suffix, data)
    extracted = fmt.extract(data, limits)
    if not extracted.text:
        raise _empty()
    _check_junk(extracted.text)
    return extracted
