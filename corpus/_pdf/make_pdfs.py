#!/usr/bin/env python3
"""Render the PDF reports of the test corpus from Markdown sources.

For every ``corpus/_pdf/src/<slug>.md`` this script writes ``corpus/<slug>.pdf``.

Source format
-------------
Each source starts with YAML front matter (``title``, ``date``, ``event``,
``location``, ``organiser``, ``topics``, ``language``, ``source_url``),
followed by a small Markdown subset:

* ``# Heading`` / ``## Heading`` / ``### Heading`` -- bold headings
  (a leading ``# Heading`` identical to the front-matter title is skipped,
  because the title is already printed as the large heading on page 1),
* paragraphs separated by blank lines (consecutive lines are joined),
* ``- item`` / ``* item`` -- bullet list items,
* ``**bold**`` inside a paragraph,
* a line containing only ``<!-- pagebreak -->`` -- forced page break.

Output
------
A4 pages, a Unicode TrueType font (DejaVu Sans if available) so that umlauts,
ß, „German quotes“ and dashes render and extract correctly, page numbers in
the footer and PDF metadata taken from the front matter:

* Title        = title
* Author       = organiser
* Subject      = event
* Keywords     = topics joined by ", "
* CreationDate = report date

The output is deterministic: the creation date is the report date (never the
current time) and fpdf2 derives the file /ID from the document content, so
re-running the script reproduces byte-identical files. Files are only
rewritten when their content actually changes.

If no TrueType font is found, the script falls back to the core font
Helvetica and replaces characters outside Latin-1 („ “ – … € etc.) with
Latin-1 equivalents.

Usage::

    python corpus/_pdf/make_pdfs.py          # render all sources
    python corpus/_pdf/make_pdfs.py SLUG...  # render selected sources only

Requires fpdf2 and PyYAML.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from fpdf import FPDF

HERE = Path(__file__).resolve().parent
SRC_DIR = HERE / "src"
OUT_DIR = HERE.parent  # corpus/

PAGEBREAK = "<!-- pagebreak -->"

# Candidate locations of a Unicode TTF font (regular, bold).
FONT_CANDIDATES = [
    (
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    ),
    (
        "/usr/share/fonts/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf",
    ),
    (
        "/usr/share/fonts/TTF/DejaVuSans.ttf",
        "/usr/share/fonts/TTF/DejaVuSans-Bold.ttf",
    ),
    (
        "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
    ),
    (
        "/Library/Fonts/Arial Unicode.ttf",
        "/Library/Fonts/Arial Unicode.ttf",
    ),
    (
        "C:/Windows/Fonts/arial.ttf",
        "C:/Windows/Fonts/arialbd.ttf",
    ),
]

# Replacements used only with the Latin-1 core-font fallback.
LATIN1_REPLACEMENTS = {
    "\u201e": '"',  # „
    "\u201c": '"',  # “
    "\u201d": '"',  # ”
    "\u201a": "'",  # ‚
    "\u2018": "'",  # ‘
    "\u2019": "'",  # ’
    "\u2013": "-",  # –
    "\u2014": "-",  # —
    "\u2011": "-",  # non-breaking hyphen
    "\u2026": "...",  # …
    "\u2022": "-",  # •
    "\u20ac": "EUR",  # €
    "\u2009": " ",  # thin space
    "\u202f": " ",  # narrow no-break space
    "\u2082": "2",  # subscript two (CO₂)
}


# --------------------------------------------------------------------------
# Font discovery
# --------------------------------------------------------------------------


def _fc_match(pattern: str) -> str | None:
    """Ask fontconfig for a font file matching *pattern* (None if unavailable)."""
    if not shutil.which("fc-match"):
        return None
    try:
        out = subprocess.run(
            ["fc-match", "-f", "%{file}", pattern],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    if out.lower().endswith(".ttf") and Path(out).is_file():
        return out
    return None


def find_ttf_fonts() -> tuple[str, str] | None:
    """Return paths (regular, bold) of a Unicode TTF font, or None."""
    for regular, bold in FONT_CANDIDATES:
        if Path(regular).is_file():
            return regular, bold if Path(bold).is_file() else regular
    regular = _fc_match("DejaVu Sans")
    if regular:
        bold = _fc_match("DejaVu Sans:style=Bold") or regular
        return regular, bold
    return None


# --------------------------------------------------------------------------
# Source parsing
# --------------------------------------------------------------------------


@dataclass
class Block:
    """One block of the document body."""

    kind: str  # "h1", "h2", "h3", "para", "bullet", "pagebreak"
    text: str = ""


@dataclass
class Report:
    slug: str
    meta: dict
    blocks: list[Block] = field(default_factory=list)

    @property
    def title(self) -> str:
        return str(self.meta.get("title", self.slug))

    @property
    def date(self) -> dt.date | None:
        value = self.meta.get("date")
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            return dt.date.fromisoformat(value)
        return None


def split_front_matter(text: str) -> tuple[dict, str]:
    """Split a Markdown document into (front-matter dict, body)."""
    text = text.lstrip("\ufeff")
    match = re.match(r"^---\s*\n(.*?)\n---\s*\n", text, flags=re.S)
    if not match:
        return {}, text
    meta = yaml.safe_load(match.group(1)) or {}
    return meta, text[match.end() :]


def parse_body(body: str) -> list[Block]:
    """Turn the Markdown body into a flat list of blocks."""
    blocks: list[Block] = []
    para: list[str] = []

    def flush() -> None:
        if para:
            blocks.append(Block("para", " ".join(s.strip() for s in para)))
            para.clear()

    for raw in body.splitlines():
        line = raw.rstrip()
        stripped = line.strip()
        if not stripped:
            flush()
        elif stripped == PAGEBREAK:
            flush()
            blocks.append(Block("pagebreak"))
        elif m := re.match(r"^(#{1,3})\s+(.*)$", stripped):
            flush()
            blocks.append(Block(f"h{len(m.group(1))}", m.group(2).strip()))
        elif m := re.match(r"^[-*]\s+(.*)$", stripped):
            flush()
            blocks.append(Block("bullet", m.group(1).strip()))
        elif blocks and blocks[-1].kind == "bullet" and not para and raw[:1].isspace():
            # indented continuation line of a bullet item
            blocks[-1].text += " " + stripped
        else:
            para.append(stripped)
    flush()
    return blocks


def load_report(path: Path) -> Report:
    meta, body = split_front_matter(path.read_text(encoding="utf-8"))
    report = Report(slug=path.stem, meta=meta, blocks=parse_body(body))
    # The title is printed as the large heading on page 1; drop a duplicate H1.
    first = next((b for b in report.blocks if b.kind != "pagebreak"), None)
    if first and first.kind == "h1" and first.text.strip() == report.title.strip():
        report.blocks.remove(first)
    return report


# --------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------

GERMAN_MONTHS = [
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
]


def german_date(date: dt.date) -> str:
    return f"{date.day}. {GERMAN_MONTHS[date.month - 1]} {date.year}"


class ReportPDF(FPDF):
    """FPDF with a page-number footer and a configurable text filter."""

    def __init__(self, family: str, unicode_font: bool) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.family = family
        self.unicode_font = unicode_font
        self.footer_label = ""

    def clean(self, text: str) -> str:
        """Make *text* printable with the active font."""
        if self.unicode_font:
            return text
        for src, dst in LATIN1_REPLACEMENTS.items():
            text = text.replace(src, dst)
        return text.encode("latin-1", errors="replace").decode("latin-1")

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font(self.family, "", 8)
        self.set_text_color(110, 110, 110)
        if self.footer_label:
            self.cell(0, 10, self.clean(self.footer_label), align="L")
            self.set_x(self.l_margin)
        self.cell(0, 10, f"Seite {self.page_no()} von {{nb}}", align="R")
        self.set_text_color(0, 0, 0)


def render(report: Report, fonts: tuple[str, str] | None) -> bytes:
    """Render *report* and return the PDF bytes."""
    if fonts:
        pdf = ReportPDF("ReportSans", unicode_font=True)
        pdf.add_font("ReportSans", "", fonts[0])
        pdf.add_font("ReportSans", "B", fonts[1])
    else:
        pdf = ReportPDF("helvetica", unicode_font=False)
    fam = pdf.family

    meta = report.meta
    topics = meta.get("topics") or []
    if isinstance(topics, str):
        topics = [topics]

    # --- metadata --------------------------------------------------------
    pdf.set_title(pdf.clean(report.title))
    if meta.get("organiser"):
        pdf.set_author(pdf.clean(str(meta["organiser"])))
    if meta.get("event"):
        pdf.set_subject(pdf.clean(str(meta["event"])))
    if topics:
        pdf.set_keywords(pdf.clean(", ".join(str(t) for t in topics)))
    pdf.set_creator("corpus/_pdf/make_pdfs.py")
    if meta.get("language"):
        pdf.set_lang(str(meta["language"]))
    date = report.date
    if date:
        # Fixed creation date (noon UTC of the report date) -> reproducible output.
        pdf.set_creation_date(dt.datetime(date.year, date.month, date.day, 12, 0, 0, tzinfo=dt.UTC))
    else:
        pdf.set_creation_date(dt.datetime(2000, 1, 1, tzinfo=dt.UTC))

    pdf.footer_label = str(meta.get("organiser", ""))
    pdf.set_margins(left=22, top=20, right=22)
    pdf.set_auto_page_break(auto=True, margin=22)
    pdf.add_page()

    # --- title block on page 1 --------------------------------------------
    pdf.set_font(fam, "B", 20)
    pdf.multi_cell(0, 9, pdf.clean(report.title), align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    info = []
    if meta.get("event"):
        info.append(str(meta["event"]))
    place_date = ", ".join(
        x for x in [str(meta.get("location") or ""), german_date(date) if date else ""] if x
    )
    if place_date:
        info.append(place_date)
    if info:
        pdf.set_font(fam, "", 10)
        pdf.set_text_color(80, 80, 80)
        for line in info:
            pdf.multi_cell(0, 5.5, pdf.clean(line), align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0, 0, 0)
    pdf.ln(2)
    pdf.set_draw_color(150, 150, 150)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
    pdf.ln(6)

    # --- body --------------------------------------------------------------
    heading_sizes = {"h1": 16, "h2": 13, "h3": 11.5}
    for block in report.blocks:
        if block.kind == "pagebreak":
            pdf.add_page()
            continue
        if block.kind in heading_sizes:
            # Avoid a heading stranded at the bottom of a page.
            if pdf.get_y() > pdf.h - pdf.b_margin - 25:
                pdf.add_page()
            elif pdf.get_y() > pdf.t_margin + 1:
                pdf.ln(3)
            pdf.set_font(fam, "B", heading_sizes[block.kind])
            pdf.multi_cell(0, 7, pdf.clean(block.text), align="L", new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1.5)
            continue

        pdf.set_font(fam, "", 10.5)
        text = pdf.clean(block.text)
        markdown = "**" in text
        if block.kind == "bullet":
            bullet = "\u2022" if pdf.unicode_font else "-"
            pdf.set_x(pdf.l_margin + 3)
            pdf.cell(5, 5.6, bullet)
            pdf.multi_cell(
                0, 5.6, text, align="L", markdown=markdown, new_x="LMARGIN", new_y="NEXT"
            )
            pdf.ln(1)
        else:
            pdf.multi_cell(
                0, 5.6, text, align="L", markdown=markdown, new_x="LMARGIN", new_y="NEXT"
            )
            pdf.ln(3)

    return bytes(pdf.output())


def main(argv: list[str]) -> int:
    sources = sorted(SRC_DIR.glob("*.md"))
    if argv:
        wanted = {Path(a).stem for a in argv}
        sources = [s for s in sources if s.stem in wanted]
    if not sources:
        print(f"no sources found in {SRC_DIR}", file=sys.stderr)
        return 1

    fonts = find_ttf_fonts()
    if fonts:
        print(f"font: {fonts[0]} / {fonts[1]}")
    else:
        print("no TTF font found - falling back to core Helvetica (Latin-1)")

    for src in sources:
        report = load_report(src)
        data = render(report, fonts)
        out = OUT_DIR / f"{report.slug}.pdf"
        if out.exists() and out.read_bytes() == data:
            status = "unchanged"
        else:
            out.write_bytes(data)
            status = "written"
        print(f"{status:9} {out.relative_to(OUT_DIR.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
