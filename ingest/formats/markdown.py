"""Markdown (.md, .markdown): YAML front matter plus the body reduced to readable text.

Headings (ATX and setext) become paragraphs of their own and are listed in
``Extracted.headings``; lists, tables, quotes and code keep their lines; inline
markup, images, link targets and HTML comments are dropped.
"""

from __future__ import annotations

import re

from ..errors import ExtractionError
from ..frontmatter import split_front_matter
from .base import Extracted, Limits, normalise_text, unify_newlines
from .text import decode_text


def extract_markdown(data: bytes, limits: Limits) -> Extracted:
    """Front matter as metadata, the body as text (the registry checks emptiness)."""
    # Newlines only: trailing double spaces are Markdown hard breaks and must survive.
    source = unify_newlines(decode_text(data))
    metadata, body = split_front_matter(source)
    text, headings = _markdown_to_text(body)
    text = normalise_text(text)
    if not text and metadata:
        raise ExtractionError(
            "no_text",
            "no text found (Markdown file has front matter but no body)",
            "kein Text gefunden (Markdown-Datei hat einen Vorspann, aber keinen Inhalt)",
        )
    return Extracted(text=text, pages=None, metadata=metadata, format="md", headings=headings)


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
