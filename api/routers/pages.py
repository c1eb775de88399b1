"""The web pages: a German search page with filters and the full reports, server-rendered.

Work without JavaScript: filters, sorting and pages are plain links and forms.
Presentation (templates, German texts, marks, links) comes from ``ui``; these routes
parse the request, make one call and pick the template.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from search.errors import DocumentNotFound, InvalidQuery
from search.filters import Filters
from search.settings import Settings
from ui import templates
from ui.views import PARAMETERS, facet_links, german_message, marked, page_numbers, search_url

from ..auth import signed_in
from ..deps import KBDep, SettingsDep


class SignInFirst(Exception):
    """Reads need a key and the browser has no session: send it to the sign-in page."""


def _signed_in_reader(request: Request, kb: KBDep) -> None:
    if signed_in(request, kb) is None:
        raise SignInFirst()


def build_router(settings: Settings) -> APIRouter:
    """The public pages; with ``KB_READ_KEYS_REQUIRED`` they need a signed-in session."""
    dependencies = [Depends(_signed_in_reader)] if settings.read_keys_required else []
    router = APIRouter(tags=["ui"], include_in_schema=False, dependencies=dependencies)
    router.add_api_route("/", search_page, methods=["GET"], response_class=HTMLResponse)
    router.add_api_route(
        "/berichte/{doc_id}", report_page, methods=["GET"], response_class=HTMLResponse
    )
    return router


def sign_in_redirect(request: Request, exc: SignInFirst) -> RedirectResponse:
    """Handler of SignInFirst: to the sign-in page."""
    return RedirectResponse("/verwaltung/anmelden", status_code=303)


#: reports per result page
PAGE_SIZE = 10


def _params(request: Request) -> dict[str, list[str]]:
    """The search parameters of the request, each as the list of its values."""
    return {
        key: [v for v in request.query_params.getlist(key) if v.strip()]
        for key in PARAMETERS
        if request.query_params.getlist(key)
    }


def _one(params: dict[str, list[str]], key: str) -> str | None:
    values = params.get(key)
    return values[0] if values else None


def search_page(request: Request, kb: KBDep, settings: SettingsDep) -> HTMLResponse:
    """Search form; with ``q`` also the matching reports, facets to narrow them, and pages."""
    params = _params(request)
    q = _one(params, "q") or ""
    try:
        page = max(1, int(request.query_params.get("seite", "1")))
    except ValueError:
        page = 1
    context: dict = {"q": q, "params": params, "results": None, "error": None, "url": search_url}
    status = 200
    if q.strip():
        try:
            filters = Filters(
                topics=tuple(params.get("topic", [])[:20]),
                **{
                    key: _one(params, key)
                    for key in ("event", "organiser", "location", "format", "language")
                },
                date_from=_one(params, "date_from"),
                date_to=_one(params, "date_to"),
            )
            sort = _one(params, "sort") or "relevance"
            offset = min((page - 1) * PAGE_SIZE, settings.max_offset)
            response = kb.search(q, PAGE_SIZE, offset, filters=filters, sort=sort)
            context.update(
                results=[
                    {
                        "hit": hit,
                        "parts": marked(hit.snippet, [(m.start, m.end, m.kind) for m in hit.marks]),
                        "url": f"/berichte/{hit.id}?"
                        + search_url({"q": [q]}).removeprefix("/?")
                        + f"#abschnitt-{hit.passage + 1}",
                    }
                    for hit in response.results
                ],
                total=response.total,
                took_ms=response.took_ms,
                facets=facet_links(params, response.facets),
                page=page,
                pages=list(page_numbers(response.total, PAGE_SIZE, page)),
                last_page=max(1, -(-response.total // PAGE_SIZE)),
                sort=response.sort,
                semantic=any(m.kind == "semantic" for h in response.results for m in h.marks),
            )
        except InvalidQuery as exc:
            context["error"] = german_message(exc, max_query_chars=settings.max_query_chars)
            status = 400
    context["stats"] = kb.stats()
    return templates.TemplateResponse(request, "search.html", context, status_code=status)


def report_page(request: Request, doc_id: str, kb: KBDep) -> HTMLResponse:
    """A report: metadata, its passages (query words marked; the passage a search hit
    showed is the link's target) and similar reports."""
    try:
        doc = kb.get_document(doc_id)
        passages = kb.passages(doc_id)
        similar = kb.similar(doc_id, 5)
    except DocumentNotFound:
        return templates.TemplateResponse(
            request, "not_found.html", {"doc_id": doc_id}, status_code=404
        )
    q = request.query_params.get("q", "")[:500]
    sections = [
        {
            "number": p.position + 1,
            "page": p.page,
            "parts": marked(
                p.text, [(a, b, "term") for a, b in (kb.term_spans(p.text, q) if q else [])]
            ),
        }
        for p in passages
    ]
    return templates.TemplateResponse(
        request,
        "report.html",
        {"doc": doc, "sections": sections, "similar": similar, "q": q, "url": search_url},
    )
