"""View helpers of the pages: marked text segments, German dates and messages."""

from __future__ import annotations

from search.errors import KBError

#: German text for the domain errors a visitor can cause, by their ``code``
MESSAGES = {
    "query_empty": "Bitte geben Sie einen Suchbegriff ein.",
    "query_missing": "Bitte geben Sie einen Suchbegriff ein.",
    "query_too_long": "Die Suchanfrage ist zu lang (höchstens {max_query_chars} Zeichen).",
    "k_out_of_range": "Diese Anzahl an Treffern kann nicht angezeigt werden.",
    "offset_out_of_range": "Diese Ergebnisseite gibt es nicht.",
    "document_not_found": "Diesen Bericht gibt es nicht (mehr).",
    "index_busy": "Die Wissensbasis wird gerade aktualisiert. Bitte versuchen Sie es gleich "
    "noch einmal.",
}
FALLBACK = "Die Suche ist gerade nicht möglich. Bitte versuchen Sie es später noch einmal."


def german_message(exc: KBError, **limits: object) -> str:
    """The German message for a domain error (``limits`` fill in numbers it names)."""
    return MESSAGES.get(exc.code, FALLBACK).format(**limits)


def segments(text: str, highlights: list[tuple[int, int]]) -> list[tuple[str, bool]]:
    """Split text into (part, marked) pairs for the template to escape and mark."""
    out: list[tuple[str, bool]] = []
    pos = 0
    for start, end in sorted(highlights):
        if start < pos:
            continue
        if start > pos:
            out.append((text[pos:start], False))
        out.append((text[start:end], True))
        pos = end
    if pos < len(text):
        out.append((text[pos:], False))
    return out


def de_date(value: str | None) -> str:
    """German date display: 2021-11-30 → 30.11.2021; partial dates as they are."""
    if not value:
        return ""
    parts = value.split("-")
    if len(parts) == 3:
        return f"{parts[2]}.{parts[1]}.{parts[0]}"
    if len(parts) == 2:
        return f"{parts[1]}/{parts[0]}"
    return value
