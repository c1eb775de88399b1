"""The web page: a German search form and the full reports, server-rendered.

Works without JavaScript. Jinja2 autoescaping escapes every text that comes from a
document; marks are built from escaped segments, never from raw HTML.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from api.deps import KBDep, SettingsDep
from search.errors import DocumentNotFound, InvalidQuery

_HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(_HERE / "templates"))
static_files = StaticFiles(directory=str(_HERE / "static"))

router = APIRouter(tags=["ui"], include_in_schema=False)


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


def _format_date(value: str | None) -> str:
    """German date display: 2021-11-30 → 30.11.2021; partial dates as they are."""
    if not value:
        return ""
    parts = value.split("-")
    if len(parts) == 3:
        return f"{parts[2]}.{parts[1]}.{parts[0]}"
    if len(parts) == 2:
        return f"{parts[1]}/{parts[0]}"
    return value


templates.env.filters["de_date"] = _format_date


@router.get("/", response_class=HTMLResponse)
def search_page(
    request: Request,
    kb: KBDep,
    settings: SettingsDep,
    q: Annotated[str, Query()] = "",
    k: Annotated[int, Query()] = 10,
) -> HTMLResponse:
    """Search form; with ``q`` also the results."""
    context: dict = {"q": q, "results": None, "error": None, "took_ms": None}
    status = 200
    if q.strip():
        try:
            response = kb.search(q, max(1, min(k, settings.max_k)))
            context["results"] = [
                {"hit": hit, "parts": segments(hit.snippet, hit.highlights)}
                for hit in response.results
            ]
            context["total"] = response.total
            context["took_ms"] = response.took_ms
        except InvalidQuery as exc:
            context["error"] = _german_error(str(exc), settings.max_query_chars)
            status = 400
    context["stats"] = kb.stats()
    return templates.TemplateResponse(request, "search.html", context, status_code=status)


def _german_error(message: str, limit: int) -> str:
    if "too long" in message:
        return f"Die Suchanfrage ist zu lang (höchstens {limit} Zeichen)."
    return "Bitte geben Sie einen Suchbegriff ein."


@router.get("/berichte/{doc_id}", response_class=HTMLResponse)
def report_page(request: Request, doc_id: str, kb: KBDep) -> HTMLResponse:
    """The full text of a report with its metadata."""
    try:
        doc = kb.get_document(doc_id)
    except DocumentNotFound:
        return templates.TemplateResponse(
            request, "not_found.html", {"doc_id": doc_id}, status_code=404
        )
    paragraphs = [p.strip() for p in doc["text"].split("\n\n") if p.strip()]
    return templates.TemplateResponse(
        request, "report.html", {"doc": doc, "paragraphs": paragraphs}
    )
