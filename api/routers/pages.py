"""The web pages: a German search form and the full reports, server-rendered.

Work without JavaScript. Presentation (templates, German texts, marks) comes from
``ui``; these routes parse the request, make one call and pick the template.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from search.errors import DocumentNotFound, InvalidQuery
from search.settings import Settings
from ui import templates
from ui.views import german_message, segments

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


def search_page(
    request: Request,
    kb: KBDep,
    settings: SettingsDep,
    q: Annotated[str, Query()] = "",
    k: Annotated[int | None, Query()] = None,
) -> HTMLResponse:
    """Search form; with ``q`` also the results."""
    context: dict = {"q": q, "results": None, "error": None, "took_ms": None}
    status = 200
    if q.strip():
        try:
            response = kb.search(q, None if k is None else max(1, min(k, settings.max_k)))
            context["results"] = [
                {"hit": hit, "parts": segments(hit.snippet, hit.highlights)}
                for hit in response.results
            ]
            context["total"] = response.total
            context["took_ms"] = response.took_ms
        except InvalidQuery as exc:
            context["error"] = german_message(exc, max_query_chars=settings.max_query_chars)
            status = 400
    context["stats"] = kb.stats()
    return templates.TemplateResponse(request, "search.html", context, status_code=status)


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
