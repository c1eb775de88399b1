"""The service office's pages under ``/verwaltung``: German, server-rendered, no JavaScript.

Sign in with a key (a signed session cookie, ``api.sessions``), then: the list of
reports with filters, uploading files with a metadata form and a result per file,
correcting a report's metadata, deleting it after a confirmation, and the change log.
Every form carries the session's CSRF token; a post without it changes nothing (403).
Changes go through the same knowledge base calls as the API, under the key's name.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from search.errors import DocumentNotFound, IndexBusy, InvalidDocument
from search.kb import KnowledgeBase
from search.models import METADATA_FIELDS
from ui import templates
from ui.views import (
    CHANGE_LABELS,
    CURATION_MESSAGES,
    UPLOAD_LABELS,
    change_diff,
    field_message,
)

from ..auth import signed_in
from ..deps import KBDep
from ..errors import ProblemError
from ..sessions import Session
from ..uploads import (
    UploadLimits,
    ingest_in_thread,
    metadata_overrides,
    read_upload,
    unknown_fields,
)

router = APIRouter(prefix="/verwaltung", tags=["ui"], include_in_schema=False)

PAGE_SIZE = 50
CsrfField = Annotated[str, Form()]


# --------------------------------------------------------------------------- helpers


def _session(request: Request) -> Session | None:
    sessions = getattr(request.app.state, "sessions", None)
    return sessions.load(request) if sessions is not None else None


def _render(
    request: Request,
    template: str,
    context: dict,
    *,
    session: Session | None,
    status: int = 200,
) -> HTMLResponse:
    """A page with the session's CSRF token for its forms; a visitor without a session
    gets a new one (so the sign-in form has a token too)."""
    fresh = session or request.app.state.sessions.new()
    response = templates.TemplateResponse(
        request,
        template,
        {"session": fresh, "csrf_token": fresh.csrf, **context},
        status_code=status,
    )
    if session is None:
        request.app.state.sessions.store(request, response, fresh)
    return response


def _message(
    request: Request,
    session: Session | None,
    status: int,
    heading: str,
    message: str,
    link: str = "/verwaltung",
    link_text: str = "Zur Verwaltung",
) -> HTMLResponse:
    context = {"heading": heading, "message": message, "link": link, "link_text": link_text}
    return _render(request, "verwaltung/meldung.html", context, session=session, status=status)


class Refused(Exception):
    """A curation page cannot be served: answer with this response instead."""

    def __init__(self, response: Response) -> None:
        super().__init__("refused")
        self.response = response


def _curator(request: Request, kb: KnowledgeBase, *, form: bool = False) -> Session:
    """The signed-in curator's session. Pages send a visitor to the sign-in page; a form
    post without a session is refused (401), a reader's session too (403)."""
    session = signed_in(request, kb)
    if session is None:
        if not form:
            raise Refused(RedirectResponse("/verwaltung/anmelden", status_code=303))
        raise Refused(
            _message(
                request,
                _session(request),
                401,
                "Nicht angemeldet",
                CURATION_MESSAGES["signed_out"],
                "/verwaltung/anmelden",
                "Zur Anmeldung",
            )
        )
    if session.role != "curator":
        raise Refused(
            _message(
                request, session, 403, "Keine Berechtigung", CURATION_MESSAGES["curator_required"]
            )
        )
    return session


def _check_csrf(request: Request, session: Session | None, token: str | None) -> None:
    if session is None or not session.check_csrf(token):
        raise Refused(
            _message(request, session, 403, "Sicherheitsprüfung", CURATION_MESSAGES["csrf"])
        )


def refused(request: Request, exc: Refused) -> Response:
    """Exception handler: the prepared answer."""
    return exc.response


def _values(
    title: str,
    date: str,
    event: str,
    location: str,
    organiser: str,
    topics: str,
    language: str,
    source_url: str,
) -> dict:
    """The edit form's fields as metadata values (empty: none; topics comma-separated)."""
    return {
        "title": title,
        "date": date,
        "event": event,
        "location": location,
        "organiser": organiser,
        "topics": [t.strip() for t in topics.split(",") if t.strip()],
        "language": language,
        "source_url": source_url,
    }


def _page_url(path: str, params: dict, offset: int) -> str:
    query = {k: v for k, v in params.items() if v not in (None, "")}
    if offset:
        query["ab"] = offset
    return path + ("?" + urlencode(query) if query else "")


# --------------------------------------------------------------------------- sign in/out


@router.get("/anmelden", response_class=HTMLResponse)
def sign_in_page(request: Request, kb: KBDep) -> Response:
    """The sign-in form (a signed-in curator goes straight to the list)."""
    current = signed_in(request, kb)
    if current is not None and current.role == "curator":
        return RedirectResponse("/verwaltung", status_code=303)
    return _render(request, "verwaltung/anmelden.html", {}, session=_session(request))


@router.post("/anmelden", response_class=HTMLResponse)
def sign_in(
    request: Request,
    kb: KBDep,
    csrf_token: CsrfField = "",
    schluessel: Annotated[str, Form()] = "",
) -> Response:
    """Check the key; a valid one starts a new session (new CSRF token) and leads on to
    the list."""
    session = _session(request)
    _check_csrf(request, session, csrf_token)
    key = kb.verify_key(schluessel.strip())
    if key is None:
        return _render(
            request,
            "verwaltung/anmelden.html",
            {"error": CURATION_MESSAGES["key_invalid"]},
            session=session,
            status=401,
        )
    target = "/verwaltung" if key.role == "curator" else "/"
    response = RedirectResponse(target, status_code=303)
    request.app.state.sessions.store(request, response, request.app.state.sessions.new(key))
    return response


@router.post("/abmelden")
def sign_out(request: Request, csrf_token: CsrfField = "") -> Response:
    """End the session."""
    _check_csrf(request, _session(request), csrf_token)
    response = RedirectResponse("/verwaltung/anmelden", status_code=303)
    request.app.state.sessions.clear(response)
    return response


# --------------------------------------------------------------------------- reports


@router.get("", response_class=HTMLResponse)
def report_list(
    request: Request,
    kb: KBDep,
    q: Annotated[str, Query(max_length=200)] = "",
    jahr: Annotated[str, Query(max_length=4)] = "",
    thema: Annotated[str, Query(max_length=200)] = "",
    ab: Annotated[int, Query(ge=0, le=10**9)] = 0,
    geloescht: Annotated[str, Query(max_length=300)] = "",
) -> Response:
    """The reports, filtered by text, year and topic, newest first."""
    session = _curator(request, kb)
    year = int(jahr) if jahr.isdigit() and 0 < int(jahr) <= 9999 else None
    total, rows = kb.find_documents(ab, PAGE_SIZE, text=q or None, year=year, topic=thema or None)
    filters = {"q": q, "jahr": str(year or ""), "thema": thema}
    context = {
        "documents": rows,
        "total": total,
        "offset": ab,
        "filters": filters,
        "topics": kb.topics(),
        "notice": f"Der Bericht „{geloescht}“ wurde gelöscht." if geloescht else None,
        "prev_url": _page_url("/verwaltung", filters, max(0, ab - PAGE_SIZE)) if ab else None,
        "next_url": _page_url("/verwaltung", filters, ab + PAGE_SIZE)
        if ab + PAGE_SIZE < total
        else None,
    }
    return _render(request, "verwaltung/liste.html", context, session=session)


@router.get("/hochladen", response_class=HTMLResponse)
def upload_page(request: Request, kb: KBDep) -> Response:
    """The upload form: several files and optional metadata for all of them."""
    session = _curator(request, kb)
    return _render(request, "verwaltung/hochladen.html", _upload_limits(kb), session=session)


def _upload_limits(kb: KnowledgeBase) -> dict:
    return {
        "values": {},
        "max_files": kb.settings.max_upload_files,
        "max_mb": round(kb.settings.max_file_bytes / 2**20),
    }


@router.post("/hochladen", response_class=HTMLResponse)
async def upload(request: Request, kb: KBDep) -> Response:
    """Ingest the uploaded files; the result page shows each file's outcome and reason."""
    session = await run_in_threadpool(_curator, request, kb, form=True)
    limits = _upload_limits(kb)
    try:
        form = await read_upload(request, UploadLimits.from_settings(kb.settings))
    except ProblemError as exc:
        text = CURATION_MESSAGES.get(exc.code, CURATION_MESSAGES["malformed_body"])
        page = _message(
            request,
            session,
            exc.status,
            "Hochladen abgelehnt",
            text.format(**limits),
            "/verwaltung/hochladen",
            "Zurück zum Formular",
        )
        if exc.status == 413:
            page.headers["Connection"] = "close"  # the rest of the body was not read
        return page
    try:
        _check_csrf(request, session, form.value("csrf_token"))
        try:
            unknown_fields(form, (*METADATA_FIELDS, "csrf_token"))
            overrides = metadata_overrides(form)
        except (InvalidDocument, ProblemError) as exc:
            text = field_message(str(exc)) if isinstance(exc, InvalidDocument) else str(exc)
            return _render(
                request,
                "verwaltung/hochladen.html",
                {**limits, "error": text},
                session=session,
                status=422,
            )
        if not form.files:
            return _render(
                request,
                "verwaltung/hochladen.html",
                {**limits, "error": CURATION_MESSAGES["invalid_request"]},
                session=session,
                status=422,
            )
        outcomes = [
            await ingest_in_thread(kb, item, actor=session.key, overrides=overrides)
            for item in form.files
        ]
    finally:
        form.close()
    shown = [
        {
            **o.model_dump(),
            "label": UPLOAD_LABELS[o.status],
            "detail": o.reason_de or CURATION_MESSAGES.get(o.code or "", o.reason)
            if o.status == "failed"
            else (o.duplicate_of if o.status == "duplicate" else None),
        }
        for o in outcomes
    ]
    status = 201 if any(o.status == "added" for o in outcomes) else 200
    if all(o.status == "failed" for o in outcomes):
        status = 422
    return _render(
        request, "verwaltung/ergebnis.html", {"outcomes": shown}, session=session, status=status
    )


def _document(request: Request, kb: KnowledgeBase, session: Session, doc_id: str) -> dict:
    try:
        return kb.get_document(doc_id)
    except DocumentNotFound:
        raise Refused(
            _message(
                request, session, 404, "Nicht gefunden", CURATION_MESSAGES["document_not_found"]
            )
        ) from None


@router.get("/berichte/{doc_id}", response_class=HTMLResponse)
def edit_page(
    request: Request,
    doc_id: str,
    kb: KBDep,
    gespeichert: Annotated[bool, Query()] = False,
) -> Response:
    """The edit form of a report's metadata."""
    session = _curator(request, kb)
    doc = _document(request, kb, session, doc_id)
    context = {
        "doc": doc,
        "values": doc,
        "near_duplicates": kb.near_duplicates(doc_id),
        "notice": "Die Angaben wurden gespeichert." if gespeichert else None,
    }
    return _render(request, "verwaltung/bearbeiten.html", context, session=session)


@router.post("/berichte/{doc_id}", response_class=HTMLResponse)
def edit(
    request: Request,
    doc_id: str,
    kb: KBDep,
    csrf_token: CsrfField = "",
    title: Annotated[str, Form(max_length=500)] = "",
    date: Annotated[str, Form(max_length=500)] = "",
    event: Annotated[str, Form(max_length=500)] = "",
    location: Annotated[str, Form(max_length=500)] = "",
    organiser: Annotated[str, Form(max_length=500)] = "",
    topics: Annotated[str, Form(max_length=30_000)] = "",
    language: Annotated[str, Form(max_length=500)] = "",
    source_url: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Save corrected metadata; a refused value shows the form again with the reason."""
    session = _curator(request, kb, form=True)
    _check_csrf(request, session, csrf_token)
    doc = _document(request, kb, session, doc_id)
    values = _values(title, date, event, location, organiser, topics, language, source_url)
    try:
        kb.update_metadata(doc_id, values, actor=session.key or "")
    except InvalidDocument as exc:
        context = {
            "doc": doc,
            "values": {**doc, **values},
            "near_duplicates": kb.near_duplicates(doc_id),
            "error": field_message(str(exc)),
        }
        return _render(request, "verwaltung/bearbeiten.html", context, session=session, status=422)
    except IndexBusy:
        return _message(
            request, session, 503, "Bitte gleich noch einmal", CURATION_MESSAGES["index_busy"]
        )
    return RedirectResponse(f"/verwaltung/berichte/{doc_id}?gespeichert=1", status_code=303)


@router.get("/berichte/{doc_id}/loeschen", response_class=HTMLResponse)
def delete_page(request: Request, doc_id: str, kb: KBDep) -> Response:
    """Asks whether to delete the report."""
    session = _curator(request, kb)
    doc = _document(request, kb, session, doc_id)
    return _render(request, "verwaltung/loeschen.html", {"doc": doc}, session=session)


@router.post("/berichte/{doc_id}/loeschen", response_class=HTMLResponse)
def delete(request: Request, doc_id: str, kb: KBDep, csrf_token: CsrfField = "") -> Response:
    """Delete the report (after the confirmation page's post)."""
    session = _curator(request, kb, form=True)
    _check_csrf(request, session, csrf_token)
    try:
        kb.remove_document(doc_id, actor=session.key or "")
    except DocumentNotFound:
        return _message(
            request, session, 404, "Nicht gefunden", CURATION_MESSAGES["document_not_found"]
        )
    except IndexBusy:
        return _message(
            request, session, 503, "Bitte gleich noch einmal", CURATION_MESSAGES["index_busy"]
        )
    return RedirectResponse("/verwaltung?" + urlencode({"geloescht": doc_id}), status_code=303)


@router.get("/aenderungen", response_class=HTMLResponse)
def change_log(
    request: Request, kb: KBDep, ab: Annotated[int, Query(ge=0, le=10**9)] = 0
) -> Response:
    """The change log, newest first, with the fields each change altered."""
    session = _curator(request, kb)
    total, rows = kb.changes(ab, PAGE_SIZE)
    changes = [
        {
            **row,
            "label": CHANGE_LABELS.get(row["action"], row["action"]),
            "title": (row["after"] or row["before"] or {}).get("title", ""),
            "diff": change_diff(row["before"], row["after"]) if row["action"] == "edited" else [],
        }
        for row in rows
    ]
    context = {
        "changes": changes,
        "total": total,
        "prev_url": _page_url("/verwaltung/aenderungen", {}, max(0, ab - PAGE_SIZE))
        if ab
        else None,
        "next_url": _page_url("/verwaltung/aenderungen", {}, ab + PAGE_SIZE)
        if ab + PAGE_SIZE < total
        else None,
    }
    return _render(request, "verwaltung/aenderungen.html", context, session=session)
