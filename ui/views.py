"""View helpers of the pages: marked text segments, links that change one parameter of
the search, page numbers, German dates and messages."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlencode

from search.errors import KBError

#: the search page's parameters that survive a change of another (in this order)
PARAMETERS = ("q", "topic", "event", "organiser", "location", "date_from", "date_to",
              "format", "language", "sort")  # fmt: skip
#: facet of the search response -> search parameter it sets
FACET_PARAMETERS = {
    "topics": "topic",
    "events": "event",
    "organisers": "organiser",
    "formats": "format",
}
FACET_TITLES = {
    "topics": "Themen",
    "years": "Jahr",
    "events": "Veranstaltung",
    "organisers": "Veranstalter",
    "formats": "Format",
}

#: German text for the domain errors a visitor can cause, by their ``code``
MESSAGES = {
    "query_empty": "Bitte geben Sie einen Suchbegriff ein.",
    "query_missing": "Bitte geben Sie einen Suchbegriff ein.",
    "query_too_long": "Die Suchanfrage ist zu lang (höchstens {max_query_chars} Zeichen).",
    "invalid_date": "Bitte geben Sie Jahre oder Daten als JJJJ, JJJJ-MM oder JJJJ-MM-TT an.",
    "too_many_values": "Bitte wählen Sie weniger Themen auf einmal.",
    "k_out_of_range": "Diese Anzahl an Treffern kann nicht angezeigt werden.",
    "offset_out_of_range": "Diese Ergebnisseite gibt es nicht.",
    "document_not_found": "Diesen Bericht gibt es nicht (mehr).",
    "index_busy": "Die Wissensbasis wird gerade aktualisiert. Bitte versuchen Sie es gleich "
    "noch einmal.",
}
FALLBACK = "Die Suche ist gerade nicht möglich. Bitte versuchen Sie es später noch einmal."

#: German texts of the curation pages' refusals and of upload failures without a
#: German reason of their own, by code
CURATION_MESSAGES = {
    "key_invalid": "Dieser Schlüssel ist unbekannt oder wurde widerrufen.",
    "curator_required": "Mit diesem Schlüssel können Sie nur lesen. Für die Verwaltung "
    "brauchen Sie einen Schlüssel der Rolle „curator“.",
    "signed_out": "Bitte melden Sie sich an.",
    "csrf": "Das Formular ist abgelaufen oder kam nicht von dieser Seite. Bitte laden Sie "
    "die Seite neu und versuchen Sie es noch einmal.",
    "index_busy": "Die Wissensbasis wird gerade von einem anderen Vorgang geschrieben. "
    "Bitte versuchen Sie es gleich noch einmal.",
    "too_large": "Eine Datei ist zu groß (höchstens {max_mb} MB je Datei).",
    "body_too_large": "Die Dateien sind zusammen zu groß.",
    "too_many_files": "Zu viele Dateien auf einmal (höchstens {max_files}).",
    "too_many_fields": "Das Formular hat zu viele Felder.",
    "field_too_large": "Ein Feld des Formulars ist zu lang.",
    "unsupported_media_type": "Bitte laden Sie die Dateien über das Formular hoch.",
    "malformed_body": "Die Übertragung war fehlerhaft. Bitte versuchen Sie es noch einmal.",
    "invalid_request": "Bitte wählen Sie mindestens eine Datei aus.",
    "document_not_found": "Diesen Bericht gibt es nicht (mehr).",
    "internal_error": "Unerwarteter Fehler beim Verarbeiten der Datei.",
}

#: metadata fields as the pages name them
FIELD_LABELS = {
    "title": "Titel",
    "date": "Datum",
    "event": "Veranstaltung",
    "location": "Ort",
    "organiser": "Veranstalter",
    "topics": "Themen",
    "language": "Sprache",
    "source_url": "Online-Adresse",
}

#: German reasons of metadata that cannot be stored, by the start of the English message
#: of ``search.models.check_metadata``
FIELD_MESSAGES = {
    "title must not be empty": "Der Titel darf nicht leer sein.",
    "date must be": "Das Datum muss die Form JJJJ-MM-TT, JJJJ-MM oder JJJJ haben und gültig sein.",
    "too many or too long topics": "Zu viele oder zu lange Themen.",
}

#: outcomes of an uploaded file
UPLOAD_LABELS = {
    "added": "neu aufgenommen",
    "updated": "aktualisiert (neue Fassung einer früher hochgeladenen Datei gleichen Namens)",
    "unchanged": "unverändert (genau diese Datei ist schon da)",
    "duplicate": "Duplikat: dieselbe Datei ist schon als Bericht vorhanden",
    "failed": "abgelehnt",
}

#: actions of the change log
CHANGE_LABELS = {
    "added": "hinzugefügt",
    "updated": "neue Fassung",
    "edited": "Angaben korrigiert",
    "replaced": "Datei ersetzt",
    "removed": "gelöscht",
    "alias": "weitere Quelle derselben Datei",
}


def german_message(exc: KBError, **limits: object) -> str:
    """The German message for a domain error (``limits`` fill in numbers it names)."""
    return MESSAGES.get(exc.code, FALLBACK).format(**limits)


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


def search_url(params: dict[str, list[str]], **changes: str | list[str] | None) -> str:
    """The search page's URL with ``params`` changed: a value sets a parameter, a list
    sets a repeatable one, None removes it; the page starts at 1 again."""
    merged = {k: list(v) for k, v in params.items() if k in PARAMETERS}
    for key, value in changes.items():
        if value is None or value == []:
            merged.pop(key, None)
        else:
            merged[key] = value if isinstance(value, list) else [value]
    pairs = [(k, v) for k in PARAMETERS for v in merged.get(k, []) if v != ""]
    return "/?" + urlencode(pairs)


def facet_links(params: dict[str, list[str]], facets: dict) -> list[dict]:
    """Per facet its title and values, each with the link that adds or removes it."""
    out = []
    for name, title in FACET_TITLES.items():
        values = facets.get(name) or []
        if not values:
            continue
        entries = []
        for item in values:
            value = item.value
            if name == "years":
                active = params.get("date_from") == [value] and params.get("date_to") == [value]
                link = (
                    search_url(params, date_from=None, date_to=None)
                    if active
                    else search_url(params, date_from=value, date_to=value)
                )
            elif name == "topics":
                chosen = params.get("topic", [])
                active = value in chosen
                others = [t for t in chosen if t != value]
                link = search_url(params, topic=others if active else [*chosen, value])
            else:
                key = FACET_PARAMETERS[name]
                active = params.get(key) == [value]
                link = search_url(params, **{key: None if active else value})
            entries.append({"value": value, "count": item.count, "active": active, "url": link})
        out.append({"name": name, "title": title, "values": entries})
    return out


def page_numbers(total: int, k: int, current: int, around: int = 3) -> Iterable[int | None]:
    """Page numbers to show: the first, the last and those around ``current``; None
    stands for a gap."""
    last = max(1, -(-total // k))
    shown = sorted({1, last, *range(max(1, current - around), min(last, current + around) + 1)})
    previous = 0
    for number in shown:
        if number > previous + 1:
            yield None
        yield number
        previous = number


def marked(text: str, marks: Iterable[tuple[int, int, str]]) -> list[tuple[str, str | None]]:
    """Split text into (part, kind of mark or None) for the template to escape and mark;
    ``marks`` are (start, end, kind) ranges (one overlapping an earlier one is skipped)."""
    out: list[tuple[str, str | None]] = []
    pos = 0
    for start, end, kind in sorted(marks):
        if start < pos:
            continue
        if start > pos:
            out.append((text[pos:start], None))
        out.append((text[start:end], kind))
        pos = end
    if pos < len(text):
        out.append((text[pos:], None))
    return out


def de_time(value: str | None) -> str:
    """German display of an ISO time stamp (UTC): 2026-12-01T05:42:22+00:00 →
    01.12.2026, 05:42 UTC."""
    if not value or "T" not in value:
        return de_date(value)
    day, clock = value.split("T", 1)
    return f"{de_date(day)}, {clock[:5]} UTC"


def field_message(message: str) -> str:
    """German text for a metadata field the knowledge base refused (its English message
    names the field)."""
    for start, text in FIELD_MESSAGES.items():
        if message.startswith(start):
            return text
    label = FIELD_LABELS.get(message.split(" ", 1)[0])  # "event is too long", ...
    if label:
        return f"Die Angabe „{label}“ ist ungültig oder zu lang (höchstens 500 Zeichen)."
    return "Eine Angabe ist ungültig."


def change_diff(before: dict | None, after: dict | None) -> list[tuple[str, str, str]]:
    """(German field name, before, after) of each metadata field a change altered."""
    if not before or not after:
        return []
    out = []
    for name, label in FIELD_LABELS.items():
        old, new = before.get(name), after.get(name)
        if old != new:
            shown = [", ".join(v) if isinstance(v, list) else (v or "–") for v in (old, new)]
            out.append((label, shown[0], shown[1]))
    return out
