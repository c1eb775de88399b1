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
