"""Turn report files (plain text, Markdown, PDF, DOCX) into clean text plus metadata.

Every problem a bad file can cause surfaces as :class:`ExtractionError` whose
``str()`` is one human-readable reason; exceptions from pypdf, python-docx or
PyYAML never escape (they stay reachable as ``__cause__`` for debugging).

Text convention for all formats: Unicode NFC, ``\\n`` newlines, no trailing
whitespace, paragraphs separated by exactly one blank line.
"""

from __future__ import annotations

import codecs
import datetime as dt
import io
import math
import re
import statistics
import unicodedata
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import docx
import yaml
from docx.table import Table
from pypdf import PasswordType, PdfReader
from pypdf.errors import DependencyError

from search.models import METADATA_FIELDS

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".pdf", ".docx")
DEFAULT_MAX_BYTES = 50 * 2**20

#: Metadata keys extraction may fill (``search.models.METADATA_FIELDS`` plus ``id``).
METADATA_KEYS = (*METADATA_FIELDS, "id")

_FORMAT_BY_SUFFIX = {
    ".txt": "txt",
    ".md": "md",
    ".markdown": "md",
    ".pdf": "pdf",
    ".docx": "docx",
}


class ExtractionError(Exception):
    """A file could not be turned into text; ``str(err)`` is the human-readable reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Extracted:
    """Text and metadata extracted from one file."""

    text: str  # full text, paragraphs separated by one blank line
    pages: list[str] | None  # PDFs: one entry per page (may be ""), else None
    metadata: dict[str, Any]  # keys among METADATA_KEYS; only keys that were found
    format: str  # "txt", "md", "pdf" or "docx"
    # Headings in document order where the format marks them (Markdown, DOCX styles).
    headings: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- entry points


def extract(path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Extracted:
    """Extract text and metadata from the file at ``path``.

    Raises :class:`ExtractionError` for unsupported, unreadable, oversized, empty
    or damaged files.
    """
    path = Path(path)
    _format_for(path.name)  # reject unsupported types before touching the disk
    try:
        if not path.is_file():
            if path.exists():
                raise ExtractionError("not a regular file")
            raise ExtractionError("file not found")
        size = path.stat().st_size
        if size > max_bytes:  # checked before reading so huge files never load into memory
            raise ExtractionError(_too_large_reason(size, max_bytes))
        data = path.read_bytes()
    except PermissionError as exc:
        raise ExtractionError("cannot read file (permission denied)") from exc
    except OSError as exc:
        raise ExtractionError(f"cannot read file ({exc.strerror or exc})") from exc
    return extract_bytes(data, path.name, max_bytes=max_bytes)


def extract_bytes(data: bytes, filename: str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Extracted:
    """Extract text and metadata from raw file bytes; ``filename`` selects the format.

    Only the suffix of ``filename`` is used (case-insensitive). Raises
    :class:`ExtractionError` like :func:`extract`.
    """
    fmt = _format_for(filename)
    if len(data) > max_bytes:
        raise ExtractionError(_too_large_reason(len(data), max_bytes))
    if not data.strip():
        raise ExtractionError("file is empty")
    if fmt == "pdf":
        return _extract_pdf(data)
    if fmt == "docx":
        return _extract_docx(data)
    if fmt == "md":
        return _extract_markdown(data)
    return _extract_plain(data)


def _format_for(filename: str) -> str:
    suffix = Path(filename).suffix.lower()
    fmt = _FORMAT_BY_SUFFIX.get(suffix)
    if fmt is None:
        shown = f"'{suffix}'" if suffix else "(file name has no suffix)"
        hint = " (save it as .docx)" if suffix == ".doc" else ""
        raise ExtractionError(
            f"unsupported file type {shown}{hint}; supported: {', '.join(SUPPORTED_SUFFIXES)}"
        )
    return fmt


def _too_large_reason(size: int, limit: int) -> str:
    return f"file too large ({_format_size(size)}, limit {_format_size(limit)})"


def _format_size(size: int) -> str:
    if size >= 2**20:
        return f"{size / 2**20:.1f}".removesuffix(".0") + " MB"
    if size >= 2**10:
        return f"{size / 2**10:.1f}".removesuffix(".0") + " KB"
    return f"{size} bytes"


# --------------------------------------------------------------------------- shared text helpers

_CHAR_FIXES = str.maketrans(
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
_CONTROL_CHARS_RE = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")
_BLANK_RUN_RE = re.compile(r"\n{3,}")


def _unify_newlines(text: str) -> str:
    return unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))


def _normalise_text(text: str) -> str:
    """NFC, unified newlines, no control characters or trailing spaces, single blank lines."""
    text = _unify_newlines(text).translate(_CHAR_FIXES)
    text = _CONTROL_CHARS_RE.sub("", text)
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return _BLANK_RUN_RE.sub("\n\n", text).strip()


_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 12, 13)) + b"\x7f"


def _decode_text(data: bytes) -> str:
    """Decode text bytes: UTF-16 (with BOM), UTF-8, then cp1252, then latin-1."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise ExtractionError("not valid text (broken UTF-16 encoding)") from exc
    # Check before decoding: latin-1 accepts any byte, so junk would "decode" fine.
    if b"\x00" in data:
        raise ExtractionError("looks like binary data, not text")
    controls = len(data) - len(data.translate(None, _CONTROL_BYTES))
    if controls > len(data) * 0.02:
        raise ExtractionError("looks like binary data, not text")
    for encoding in ("utf-8", "cp1252"):
        try:
            return data.decode(encoding).removeprefix("\ufeff")
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


# --------------------------------------------------------------------------- plain text


def _extract_plain(data: bytes) -> Extracted:
    text = _normalise_text(_decode_text(data))
    if not text:
        raise ExtractionError("file is empty")
    return Extracted(text=text, pages=None, metadata={}, format="txt")


# --------------------------------------------------------------------------- Markdown

_METADATA_ALIASES = {
    "organizer": "organiser",
    "tags": "topics",
    "keywords": "topics",
    "url": "source_url",
    "lang": "language",
}
_YAML_KEY_RE = re.compile(r"^[A-Za-z_][\w-]*\s*:")


def _extract_markdown(data: bytes) -> Extracted:
    # Newlines only: trailing double spaces are Markdown hard breaks and must survive.
    source = _unify_newlines(_decode_text(data))
    metadata, body = _split_front_matter(source)
    text, headings = _markdown_to_text(body)
    text = _normalise_text(text)
    if not text:
        if metadata:
            raise ExtractionError("no text found (Markdown file has front matter but no body)")
        raise ExtractionError("file is empty")
    return Extracted(text=text, pages=None, metadata=metadata, format="md", headings=headings)


def _split_front_matter(source: str) -> tuple[dict[str, Any], str]:
    """Separate YAML front matter (``---`` block at the very top) from the body."""
    lines = source.split("\n")
    if lines[0].strip() != "---":
        return {}, source
    for index in range(1, len(lines)):
        if lines[index].strip() in ("---", "..."):
            raw_yaml = "\n".join(lines[1:index])
            body = "\n".join(lines[index + 1 :])
            break
    else:
        # A leading "---" may be a horizontal rule; only YAML-looking content means
        # the author forgot the closing delimiter.
        first = next((line for line in lines[1:] if line.strip()), "")
        if _YAML_KEY_RE.match(first):
            raise ExtractionError("front matter is not closed (missing '---' line after it)")
        return {}, source
    try:
        loaded = yaml.safe_load(raw_yaml)
    except yaml.YAMLError as exc:
        raise ExtractionError(f"invalid YAML front matter: {_describe_yaml_error(exc)}") from exc
    except RecursionError as exc:  # PyYAML recurses once per nesting level
        raise ExtractionError("invalid YAML front matter: nested too deeply") from exc
    if loaded is None:
        return {}, body
    if not isinstance(loaded, dict):
        raise ExtractionError(
            f"front matter is not a 'key: value' mapping (got {_type_name(loaded)})"
        )
    return _clean_front_matter(loaded), body


def _describe_yaml_error(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.MarkedYAMLError):
        problem = exc.problem or exc.context or "syntax error"
        mark = exc.problem_mark or exc.context_mark
        if mark is not None:
            # +2: the opening '---' is file line 1 and YAML marks are 0-based.
            return f"{problem} (line {mark.line + 2})"
        return problem
    return str(exc).split("\n", 1)[0]


def _type_name(value: object) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, str):
        return "text"
    return type(value).__name__


def _clean_front_matter(raw: dict[Any, Any]) -> dict[str, Any]:
    """Keep known keys (plus a few common aliases) with normalised values."""
    canonical: dict[str, Any] = {}
    aliased: dict[str, Any] = {}
    for raw_key, value in raw.items():
        key = str(raw_key).strip().lower()
        if key in METADATA_KEYS:
            canonical[key] = value
        elif key in _METADATA_ALIASES:
            aliased.setdefault(_METADATA_ALIASES[key], value)
    merged = {**aliased, **canonical}  # the canonical spelling wins over an alias
    cleaned: dict[str, Any] = {}
    for key in METADATA_KEYS:
        if key not in merged:
            continue
        value = _clean_topics(merged[key]) if key == "topics" else _clean_scalar(key, merged[key])
        if value:
            cleaned[key] = value
    return cleaned


def _clean_scalar(key: str, value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return " ".join(value.split()) or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise ExtractionError(f"front matter field '{key}' must be text, not {_type_name(value)}")


def _clean_topics(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        return split_topics(_clean_scalar("topics", value))
    topics: list[str] = []
    for item in value:
        topic = _clean_scalar("topics", item)
        if topic and topic not in topics:
            topics.append(topic)
    return topics


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


_FENCE_RE = re.compile(r"^ {0,3}(```+|~~~+)")
_ATX_HEADING_RE = re.compile(r"^ {0,3}#{1,6}(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT_UNDERLINE_RE = re.compile(r"^ {0,3}(?:=+|-+)[ \t]*$")
_THEMATIC_BREAK_RE = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_LINK_DEFINITION_RE = re.compile(r"^ {0,3}\[[^\]]+\]:\s*\S+")
_TABLE_DELIMITER_RE = re.compile(r"^\s*\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)+\|?\s*$")
_BLOCKQUOTE_RE = re.compile(r"^ {0,3}>[ ]?")
_LIST_ITEM_RE = re.compile(r"^\s*([-*+]|\d{1,3}[.)])[ \t]+(.*)$")
_HTML_COMMENT_RE = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)


def _markdown_to_text(body: str) -> tuple[str, list[str]]:
    """Reduce Markdown to readable paragraphs; return the text and the headings."""
    body = _HTML_COMMENT_RE.sub("", body)
    paragraphs: list[str] = []
    headings: list[str] = []
    # Lines of the paragraph being built; True marks a line that must start a new line
    # (list items, table rows, hard breaks) rather than being joined with a space.
    current: list[tuple[str, bool]] = []
    hard_break_pending = False
    in_fence = False

    def flush() -> None:
        nonlocal hard_break_pending
        hard_break_pending = False
        if current:
            paragraph = _join_markdown_lines(current)
            if paragraph:
                paragraphs.append(paragraph)
            current.clear()

    def add_heading(raw: str) -> None:
        flush()
        heading = _markdown_inline(raw).strip()
        if heading:
            paragraphs.append(heading)
            headings.append(heading)

    for line in body.split("\n"):
        if _FENCE_RE.match(line):
            flush()
            in_fence = not in_fence
            continue
        if in_fence:  # code: keep verbatim, line by line
            if line.strip():
                current.append((line.rstrip(), True))
            continue
        while _BLOCKQUOTE_RE.match(line):
            line = _BLOCKQUOTE_RE.sub("", line, count=1)
        stripped = line.strip()
        if not stripped:
            flush()
            continue
        heading = _ATX_HEADING_RE.match(line)
        if heading:
            add_heading(heading.group(1) or "")
            continue
        if _SETEXT_UNDERLINE_RE.match(line) and current and not current[-1][1]:
            # "Title\n=====" / "Title\n-----": the pending paragraph was a heading.
            raw_heading = " ".join(text for text, _ in current)
            current.clear()
            add_heading(raw_heading)
            continue
        if _THEMATIC_BREAK_RE.match(line) or _SETEXT_UNDERLINE_RE.match(line):
            flush()
            continue
        if _LINK_DEFINITION_RE.match(line) or _TABLE_DELIMITER_RE.match(line):
            continue
        item = _LIST_ITEM_RE.match(line)
        if item:
            marker = item.group(1)
            bullet = "-" if marker in "-*+" else marker
            current.append((f"{bullet} {_markdown_inline(item.group(2))}", True))
        elif stripped.startswith("|"):
            cells = [cell.strip() for cell in stripped.strip("|").split("|")]
            current.append((" | ".join(_markdown_inline(cell) for cell in cells), True))
        else:
            current.append((_markdown_inline(stripped.removesuffix("\\")), hard_break_pending))
        # Two trailing spaces or a backslash end a line explicitly in Markdown.
        hard_break_pending = line.endswith("  ") or stripped.endswith("\\")
    flush()
    return "\n\n".join(paragraphs), headings


def _join_markdown_lines(lines: list[tuple[str, bool]]) -> str:
    out: list[str] = []
    for text, starts_line in lines:
        text = text.strip()
        if not text:
            continue
        if out and not starts_line:
            out[-1] = f"{out[-1]} {text}"
        else:
            out.append(text)
    return "\n".join(out)


_ESCAPABLE = "\\`*_{}[]()#+-.!|>~<"
_ESCAPE_RE = re.compile(r"\\([" + re.escape(_ESCAPABLE) + r"])")
_PLACEHOLDER_BASE = 0xE000  # private-use code points stand in for escaped characters
_INLINE_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"!\[[^\]]*\]\([^)]*\)"), ""),  # images carry no readable text
    (re.compile(r"!\[[^\]]*\]\[[^\]]*\]"), ""),
    (re.compile(r"\[([^\]]*)\]\(\s*<?[^)\s>]*>?(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)"), r"\1"),
    (re.compile(r"\[([^\]]+)\]\[[^\]]*\]"), r"\1"),
    (re.compile(r"<((?:https?|ftp|mailto):[^>\s]+)>"), r"\1"),
    (re.compile(r"<([^>\s@]+@[^>\s]+)>"), r"\1"),
    (re.compile(r"<br\s*/?>", re.IGNORECASE), " "),
    (re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>"), ""),
    (re.compile(r"(`+)(.+?)\1"), r"\2"),
    (re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*"), r"\1"),
    (re.compile(r"(?<!\w)__(?=\S)(.+?)(?<=\S)__(?!\w)"), r"\1"),
    (re.compile(r"\*(?=[^\s*])([^*]+?)(?<=[^\s*])\*"), r"\1"),
    (re.compile(r"(?<!\w)_(?=[^\s_])([^_]+?)(?<=[^\s_])_(?!\w)"), r"\1"),
    (re.compile(r"~~(?=\S)(.+?)(?<=\S)~~"), r"\1"),
)


def _markdown_inline(text: str) -> str:
    """Strip inline Markdown markup (emphasis, links, images, code, HTML tags)."""
    text = _ESCAPE_RE.sub(lambda m: chr(_PLACEHOLDER_BASE + ord(m.group(1))), text)
    for pattern, replacement in _INLINE_RULES:
        text = pattern.sub(replacement, text)
    text = re.sub("[\ue000-\ue0ff]", lambda m: chr(ord(m.group(0)) - _PLACEHOLDER_BASE), text)
    return " ".join(text.split())


# --------------------------------------------------------------------------- DOCX

_DOCX_HEADING_STYLES = ("heading", "überschrift", "title", "titel")


def _extract_docx(data: bytes) -> Extracted:
    if data.startswith(b"\xd0\xcf\x11\xe0"):  # OLE2 container: legacy Word .doc
        raise ExtractionError("not a valid DOCX file (old binary .doc format; save it as .docx)")
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise ExtractionError("not a valid DOCX file (file is damaged or truncated)")
    try:
        document = docx.Document(io.BytesIO(data))
        paragraphs, headings = _docx_paragraphs(document)
    except Exception as exc:  # python-docx/lxml raise many types on broken packages
        raise ExtractionError("not a valid DOCX file (damaged, or not a Word document)") from exc
    text = _normalise_text("\n\n".join(paragraphs))
    if not text:
        raise ExtractionError("no text found (the document has no text paragraphs)")
    return Extracted(
        text=text,
        pages=None,
        metadata=_docx_metadata(document),
        format="docx",
        headings=headings,
    )


def _docx_paragraphs(document: Any) -> tuple[list[str], list[str]]:
    paragraphs: list[str] = []
    headings: list[str] = []
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            rows = [_docx_row_text(row) for row in block.rows]
            table_text = "\n".join(row for row in rows if row)
            if table_text:
                paragraphs.append(table_text)
            continue
        text = "\n".join(" ".join(line.split()) for line in block.text.split("\n")).strip()
        if not text:
            continue
        paragraphs.append(text)
        style_name = (block.style.name if block.style is not None else "") or ""
        if style_name.lower().startswith(_DOCX_HEADING_STYLES):
            headings.append(" ".join(text.split()))
    return paragraphs, headings


def _docx_row_text(row: Any) -> str:
    cells: list[str] = []
    seen: set[int] = set()
    for cell in row.cells:
        # Merged cells are reported once per grid column; keep each one once.
        if id(cell._tc) in seen:
            continue
        seen.add(id(cell._tc))
        text = " ".join(cell.text.split())
        if text:
            cells.append(text)
    return " | ".join(cells)


def _docx_metadata(document: Any) -> dict[str, Any]:
    try:
        props = document.core_properties
        info = {
            "title": props.title,
            "organiser": props.author,
            "event": props.subject,
            "keywords": props.keywords,
            "language": props.language,
        }
    except Exception:  # malformed core.xml: the text is still usable
        return {}
    return _info_to_metadata(info)


# --------------------------------------------------------------------------- PDF


def _extract_pdf(data: bytes) -> Extracted:
    if b"%PDF-" not in data[:1024]:
        raise ExtractionError("not a valid PDF (no PDF header; is it really a PDF?)")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            _decrypt(reader)
        page_count = len(reader.pages)
    except ExtractionError:
        raise
    except Exception as exc:  # pypdf raises many exception types on corrupt files
        raise ExtractionError("not a valid PDF (file is damaged or truncated)") from exc
    if page_count == 0:
        raise ExtractionError("no text found (PDF has no pages)")

    raw_pages: list[list[_PdfLine]] = []
    failed = 0
    for index in range(page_count):
        try:
            raw_pages.append(_pdf_page_lines(reader.pages[index]))
        except Exception:  # one broken page should not cost the rest of the report
            failed += 1
            raw_pages.append([])
    if failed == page_count:
        raise ExtractionError("not a valid PDF (page content could not be read)")

    pages = _clean_pdf_pages(raw_pages)
    text = "\n\n".join(page for page in pages if page)
    if not text:
        raise ExtractionError("no text found (scanned PDF without text layer?)")
    return Extracted(text=text, pages=pages, metadata=_pdf_metadata(reader), format="pdf")


def _decrypt(reader: PdfReader) -> None:
    try:
        result = reader.decrypt("")
    except DependencyError as exc:
        raise ExtractionError(
            "PDF is encrypted (AES) and the 'cryptography' package is not installed"
        ) from exc
    except Exception as exc:
        raise ExtractionError("PDF is encrypted and could not be decrypted") from exc
    if result == PasswordType.NOT_DECRYPTED:
        raise ExtractionError("PDF is password-protected (cannot be opened without password)")


def _pdf_metadata(reader: PdfReader) -> dict[str, Any]:
    info: dict[str, Any] = {}
    try:
        meta = reader.metadata
        if meta is not None:
            info = {
                "title": meta.title,
                "organiser": meta.author,
                "event": meta.subject,
                "keywords": _resolve(meta.get("/Keywords")),
            }
        info["language"] = _resolve(reader.root_object.get("/Lang"))
    except Exception:  # a broken info dictionary must not block the text
        pass
    return _info_to_metadata(info)


def _resolve(value: Any) -> Any:
    # Raw dictionary entries may be indirect references to the actual string.
    return value.get_object() if hasattr(value, "get_object") else value


# Titles that PDF/Office producers fill in automatically carry no information.
_JUNK_TITLE_RE = re.compile(
    r"^(?:untitled|unbenannt|ohne titel|document\d*|dokument\d*|microsoft word\b.*|"
    r".*\.(?:docx?|pdf|odt|rtf|indd|txt))$",
    re.IGNORECASE,
)


def _info_to_metadata(info: dict[str, Any]) -> dict[str, Any]:
    """Map document-info fields (title/author/subject/keywords/language) to metadata."""
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


@dataclass
class _PdfLine:
    text: str
    y: float | None = None  # baseline in PDF user space (grows upwards); None if unknown
    size: float | None = None  # effective font size of the first fragment


def _pdf_page_lines(page: Any) -> list[_PdfLine]:
    """Text lines of a page in pypdf's reading order, with position and font size."""
    fragments: list[tuple[str, float, float]] = []

    def visit(text: str, cm: list[float], tm: list[float], _font: Any, font_size: float) -> None:
        # Baseline y: the text matrix applied to the current transformation matrix.
        y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
        scale = math.hypot(tm[2], tm[3]) * math.hypot(cm[2], cm[3])
        fragments.append((text, y, abs(font_size * scale) or abs(font_size)))

    raw = page.extract_text(visitor_text=visit)
    if "".join(text for text, _, _ in fragments) != raw:
        # Positions cannot be matched to output lines; fall back to text-only heuristics.
        return [_PdfLine(line) for line in raw.split("\n")]
    lines = [_PdfLine("")]
    for text, y, size in fragments:
        for index, part in enumerate(text.split("\n")):
            if index:
                lines.append(_PdfLine(""))
            if part:
                line = lines[-1]
                line.text += part
                if line.y is None and part.strip():
                    line.y, line.size = y, size
    return lines


_SPACES_RE = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u3000]+")


def _clean_pdf_line(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    # Keep a trailing soft hyphen: it marks a word broken at the line end.
    soft_break = text.rstrip().endswith("\u00ad")
    text = _CONTROL_CHARS_RE.sub("", text.replace("\u00ad", "").translate(_CHAR_FIXES))
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


def _clean_pdf_pages(raw_pages: list[list[_PdfLine]]) -> list[str]:
    pages = [
        [_PdfLine(_clean_pdf_line(line.text), line.y, line.size) for line in page]
        for page in raw_pages
    ]
    _drop_page_furniture(pages)
    stats = _LineStats.measure(pages)
    cleaned: list[str] = []
    for page in pages:
        paragraphs = [_join_pdf_lines(group) for group in _pdf_paragraphs(page, stats)]
        cleaned.append(_normalise_text("\n\n".join(p for p in paragraphs if p)))
    return cleaned


def _edge_indices(page: list[_PdfLine]) -> list[int]:
    filled = [index for index, line in enumerate(page) if line.text]
    return sorted(set(filled[:_EDGE_LINES] + filled[-_EDGE_LINES:]))


def _drop_page_furniture(pages: list[list[_PdfLine]]) -> None:
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
    def measure(cls, pages: list[list[_PdfLine]]) -> _LineStats:
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

    def expected_drop(self, upper: _PdfLine, lower: _PdfLine) -> float | None:
        """Baseline distance expected between two lines of the same paragraph."""
        if self.line_drop is None:
            return None
        if self.drop_per_size and upper.size and upper.size == lower.size:
            # Larger type (titles) has proportionally larger line spacing.
            return max(self.line_drop, self.drop_per_size * upper.size)
        return self.line_drop

    def capacity(self, line: _PdfLine) -> float:
        """Characters that fit on a full line in the type size of ``line``."""
        if self.body_size and line.size:
            return self.full_length * self.body_size / line.size
        return self.full_length

    def is_display_type(self, line: _PdfLine) -> bool:
        """Whether ``line`` is set clearly larger than body text (title, heading)."""
        return bool(self.body_size and line.size and line.size > 1.1 * self.body_size)


_SENTENCE_END_RE = re.compile(r"[.!?:…][\"'“”‘’»«)\]]*$")
_BULLET_RE = re.compile(r"^(?:[•▪◦●■□➢►✓\-–*]\s)")
_NUMBERED_RE = re.compile(r"^(?:\d{1,2}[.)]|[a-z]\))\s")
_NO_HEADING_END = ".,;:!?-…"


def _looks_like_heading(text: str, stats: _LineStats) -> bool:
    limit = 0.6 * stats.full_length if stats.full_length else 80
    return (
        len(text) < limit
        and text[-1] not in _NO_HEADING_END
        and (text[0].isupper() or text[0].isdigit())
        and not _BULLET_RE.match(text)
        and any(char.isalpha() for char in text)
    )


def _starts_upper(text: str) -> bool:
    return text[0].isupper() or text[0].isdigit() or text[0] in "„\"'»«(“"


def _is_paragraph_break(upper: _PdfLine, lower: _PdfLine, stats: _LineStats) -> bool:
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
    if _BULLET_RE.match(lower.text):
        return True
    if upper.size == lower.size and stats.is_display_type(upper):
        return False  # a title or heading wrapped over lines; the gap rule above splits others
    if not stats.full_length:
        return False
    if _SENTENCE_END_RE.search(upper.text):
        if _NUMBERED_RE.match(lower.text):
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


def _pdf_paragraphs(page: list[_PdfLine], stats: _LineStats) -> list[list[str]]:
    paragraphs: list[list[str]] = []
    current: list[str] = []
    previous: _PdfLine | None = None
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
